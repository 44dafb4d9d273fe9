"""What the conversation adds to a call's event stream.

Each turn, identity check, action and decision is one frozen event in the call's journal, next
to the PBX and speech events. The hand-off payload, metrics and audit are all read from here, so
every field a producer or an auditor needs is in an event, and nothing else carries state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warmline.calls.events import CallEvent, Personal, personal
from warmline.dialog.triggers import Reason


class TurnAction(StrEnum):
    """The intent policy's verdict on one turn (nlu.policy.Action)."""

    CONTAIN = "contain"
    ESCALATE = "escalate"  # a routine reading with a regulated one close behind
    CLARIFY = "clarify"  # not understood well enough to act on


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerTurn(CallEvent):
    """One understood caller turn: what was said (or keyed) and what the model made of it."""

    turn: int
    text: str = personal(Personal.SPEECH)
    answer: bool  # True: the answer to a specific question (a date, yes/no), not a request
    intent: str
    confidence: float
    action: TurnAction
    entities: tuple[tuple[str, str], ...] = personal(Personal.PAIRS)  # (kind, value)
    sentiment: float


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysPressed(CallEvent):
    """DTMF the caller keyed in answer to a question ("****" when the digits are private)."""

    digits: str = personal(Personal.KEYS)


class VerifyMethod(StrEnum):
    NONE = ""  # not verified
    POLICY_AND_DATE_OF_BIRTH = "policy_number+date_of_birth"
    POLICY_AND_ZIP = "policy_number+zip"


class VerifyFailure(StrEnum):
    NONE = ""  # verified
    NO_SUCH_POLICY = "no_such_policy"
    SECOND_FACTOR_MISMATCH = "second_factor_mismatch"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityChecked(CallEvent):
    verified: bool
    method: VerifyMethod  # NONE when not verified
    attempt: int
    contact_id: str | None  # set only when verified
    policy_id: str | None
    name: str = personal(Personal.SEALED)  # the verified caller's name as the CRM has it ("" when not verified)
    why: VerifyFailure  # NONE when verified
    state: str = ""  # the verified caller's state (licensing), "" when not verified
    line: str = ""  # the policy's line of business (routing skill), "" when not verified


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionTaken(CallEvent):
    """A flow step that did something for the caller, and what came of it."""

    intent: str
    action: str  # the flow step, e.g. "read_balance", "send_id_card"
    ok: bool
    result: str  # one line a producer can read: "balance $128.40 due 2026-12-01"


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentResolved(CallEvent):
    intent: str
    resolved: bool  # False: the flow could not help, or the caller said it did not


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationDecided(CallEvent):
    reason: Reason
    intent: str | None
    detail: str
    final: bool
    queue: str


class ConversationOutcome(StrEnum):
    CONTAINED = "contained"  # served (the caller hung up happy, or went on to the payment line)
    ESCALATED = "escalated"  # handed to a person, with a reason code and a queue
    ABANDONED = "abandoned"  # the caller hung up before the conversation ended


@dataclass(frozen=True, slots=True, kw_only=True)
class ConversationEnded(CallEvent):
    outcome: ConversationOutcome
    intents: tuple[str, ...]  # every intent the caller raised, in order


# The kinds this module defines, for the event store's registry (warmline.catalog).
KINDS: tuple[type[CallEvent], ...] = (
    CallerTurn, KeysPressed, IdentityChecked, ActionTaken, IntentResolved, EscalationDecided,
    ConversationEnded,
)
