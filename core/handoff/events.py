"""What the hand-off adds to a call's event stream: the stored payload and every transfer step."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warmline.calls.events import CallEvent, Personal, personal


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffPrepared(CallEvent):
    """The full payload, stored (the event store persists every event) before any phone rings."""

    payload_id: str
    queue: str
    payload: str = personal(Personal.SEALED)  # HandoffPayload JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferPlanned(CallEvent):
    queue: str
    ring: tuple[str, ...]  # producer names, in the order they will be tried
    skipped: tuple[tuple[str, str], ...]  # (producer, why): routing.why_not, open-ended ("busy:<device state>")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerDialled(CallEvent):
    producer: str
    endpoint: str
    attempt: int
    channel_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerRinging(CallEvent):
    producer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerAnswered(CallEvent):
    producer: str


class LostWhy(StrEnum):
    """Why a producer who was tried did not take the caller."""

    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    UNREACHABLE = "unreachable"
    DECLINED = "declined"  # answered, then turned the caller down
    HUNG_UP = "hung_up"
    NO_DECISION = "no_decision"  # answered but neither accepted nor declined in time
    CALLER_GONE = "caller_gone"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProducerLost(CallEvent):
    producer: str
    why: LostWhy


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferBridged(CallEvent):
    producer: str
    bridge_id: str


class Party(StrEnum):
    """Who ended a caller's talk with a person."""

    CALLER = "caller"
    PRODUCER = "producer"  # the producer, or the queue agent
    PBX = "pbx"  # Asterisk ended it (shutdown, or Warmline's own cleanup)


@dataclass(frozen=True, slots=True, kw_only=True)
class TalkEnded(CallEvent):
    """The caller and the person who took them are no longer talking: their wrap-up starts now.

    Warmline's own part of the call (CallEnded) is over as soon as the caller is bridged; this
    comes later, when the bridge (or the PBX's queue call) ends."""

    producer: str  # routing's name for them; "" for a queue member who is no configured producer
    ended_by: Party
    talk_seconds: float  # bridged → ended, as the PBX saw it


class Disposition(StrEnum):
    """The producer's verdict on a transfer: one fixed taxonomy, required before wrap-up ends."""

    RESOLVED = "resolved"  # escalated correctly, and the producer resolved it
    REROUTED = "rerouted"  # belonged to another queue (DispositionRecorded.queue says which)
    MISIDENTIFIED = "misidentified"  # the AI read the wrong intent (DispositionRecorded.intent is the right one)
    LACKED_KNOWLEDGE = "lacked_knowledge"  # the AI understood but did not know the answer
    INTEGRATION_FAILURE = "integration_failure"  # a CRM or system failure forced the transfer
    OVER_ESCALATED = "over_escalated"  # the AI could have served it
    CONFIRMATION_ONLY = "confirmation_only"  # the caller only wanted what the AI said confirmed


MISROUTES = frozenset({Disposition.REROUTED, Disposition.MISIDENTIFIED, Disposition.OVER_ESCALATED})


@dataclass(frozen=True, slots=True, kw_only=True)
class DispositionRecorded(CallEvent):
    """A producer's wrap-up of a transfer, stored before their screen says it is saved."""

    producer: str  # the producer's name as routing knows it
    by: str  # the console account that tagged it
    disposition: Disposition
    caller_repeated: bool  # the caller had to repeat what the AI already had
    queue: str = ""  # REROUTED: the queue it belonged to
    intent: str = ""  # MISIDENTIFIED: the intent it really was
    notes: str = personal(Personal.SPEECH, default="")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueAgentAnswered(CallEvent):
    """The call went on to the PBX's own queue and a member answered it (after Warmline's own tries)."""

    producer: str  # the producer whose queue_member answered; "" when the member is no configured producer
    queue: str  # the PBX's queue, as it names it (Asterisk: warmline-licensed)
    member: str  # the member's interface (Asterisk: Local/s@agents/n, PJSIP/1001)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackRequested(CallEvent):
    """Nobody took the call: it ended in the call-back list (Asterisk: the voicemail box) for someone to claim."""

    queue: str  # the Warmline queue it was escalated to
    number: str = personal(Personal.SEALED)  # the number to call back


class SuperviseMode(StrEnum):
    """How a supervisor joins a live call (warmline.pbx.DeskActions.supervise)."""

    LISTEN = "listen"  # the supervisor hears both sides; nobody hears them
    WHISPER = "whisper"  # the producer hears the supervisor; the caller does not
    BARGE = "barge"  # all three talk


@dataclass(frozen=True, slots=True, kw_only=True)
class SupervisorJoined(CallEvent):
    """A supervisor's own phone joined the call's live audio (listen, whisper to the producer, or barge)."""

    supervisor: str  # the console account
    mode: SuperviseMode


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTakenOver(CallEvent):
    """A supervisor took a call still with the AI: it is escalated (supervisor_takeover) and rung to them."""

    supervisor: str  # the console account


# The kinds this module defines, for the event store's registry (warmline.catalog).
KINDS: tuple[type[CallEvent], ...] = (
    HandoffPrepared, TransferPlanned, ProducerDialled, ProducerRinging, ProducerAnswered,
    ProducerLost, TransferBridged, TalkEnded, DispositionRecorded, QueueAgentAnswered, CallbackRequested,
    SupervisorJoined, CallTakenOver,
)
