"""Escalation triggers: the rules that decide, turn by turn, that a caller must now reach a person,
and which one fixed reason code says why. The conversation engine reports what it observes (an
understood turn, a key press, a timeout, a failed resolution, a CRM gap, a verification result)
and gets back an `Escalation` or None. It is sans-IO: no clock, no IO, no asyncio, only counters
fed by those observations, so the same sequence always gives the same answer and the rules are
tested as tables of scripted calls. One `Triggers` per call; once it has escalated it stays
escalated and answers None (the engine is already handing the call off).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from warmline.nlu.taxonomy import ESCALATE, INTENTS, OUT_OF_SCOPE

HUMAN_REQUEST = "human_request"


class Reason(StrEnum):
    CALLER_REQUESTED_HUMAN = "caller_requested_human"
    CALLER_PRESSED_ZERO = "caller_pressed_zero"
    REGULATED_INTENT = "regulated_intent"
    OUT_OF_SCOPE = "out_of_scope"
    LOW_CONFIDENCE = "low_confidence"
    RESOLUTION_FAILED = "resolution_failed"
    CRM_DATA_MISSING = "crm_data_missing"
    ACTION_FAILED = "action_failed"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    NEGATIVE_SENTIMENT = "negative_sentiment"
    NO_INPUT = "no_input"
    NO_MATCH = "no_match"
    OPT_OUT = "opt_out"
    SYSTEM_ERROR = "system_error"
    SUPERVISOR_TAKEOVER = "supervisor_takeover"  # a supervisor took the call from the AI on the console


FINAL = frozenset({Reason.CALLER_REQUESTED_HUMAN, Reason.CALLER_PRESSED_ZERO})
CALLER_REASONS = FINAL | {Reason.OPT_OUT}  # the caller's own request: honoured whatever the intent
FROM_OUTSIDE = frozenset({Reason.SUPERVISOR_TAKEOVER})  # decided by a person, never by these triggers
SWITCHABLE = frozenset(Reason) - {Reason.SYSTEM_ERROR} - FROM_OUTSIDE  # a broken engine always hands off
PER_INTENT = SWITCHABLE - CALLER_REASONS

DEFAULT_OPT_OUT = (
    "stop calling me", "quit calling me", "stop calling this number", "stop contacting me",
    "do not call me again", "do not call me anymore", "never call me again", "do not contact me again",
    "take me off your list", "take me off your calling list", "take me off your call list",
    "take me off your mailing list", "remove me from your list", "remove me from your calling list",
    "remove my number from your list", "do not call list", "unsubscribe me",
)  # whole phrases: a bare "unsubscribe" or "remove my number" is also paperless billing or a contact update


# --- settings -----------------------------------------------------------------------------------


def _reasons(values: Any, allowed: frozenset[Reason], what: str) -> Any:
    """Reason names checked against `allowed`, with a one-line message naming the valid ones."""
    if not isinstance(values, (list, tuple, set, frozenset)):
        return values  # pydantic reports the wrong type
    bad = sorted({str(v) for v in values} - {r.value for r in allowed})
    if bad:
        raise ValueError(f"{what} cannot include {', '.join(bad)}; choose from: {', '.join(sorted(allowed))}")
    return frozenset(Reason(str(v)) for v in values)


class IntentTriggers(BaseModel):
    """Per-intent overrides; an empty field falls back to the global setting or the taxonomy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int | None = Field(None, ge=1, le=10, description="failed resolutions before escalating; empty = resolution_attempts", examples=[2])
    escalate: bool | None = Field(None, description="true: escalate-class (regulated) for this agency; false: not; empty = the taxonomy", examples=[True])
    enabled: frozenset[Reason] | None = Field(
        None, description="the reasons that may fire while this intent is in play; empty = all (caller requests always apply)",
        examples=[["resolution_failed", "action_failed"]])

    @field_validator("enabled", mode="before")
    @classmethod
    def _known_reasons(cls, value: Any) -> Any:
        return None if value is None else _reasons(value, PER_INTENT, "a per-intent enabled list")


class TriggerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    disabled: frozenset[Reason] = Field(frozenset(), description="reasons switched off on this install", examples=[[]])
    dtmf_zero: bool = Field(True, description="pressing 0 reaches a person", examples=[True])
    opt_out_phrases: tuple[str, ...] = Field(
        DEFAULT_OPT_OUT, description="whole phrases that mean 'do not call me', matched on normalised words; [] = off",
        examples=[list(DEFAULT_OPT_OUT)])
    out_of_scope_limit: int = Field(2, ge=1, le=10, description="out-of-scope turns since the caller was last understood", examples=[2])
    low_confidence_limit: int = Field(2, ge=1, le=10, description="unsure turns since the caller was last understood", examples=[2])
    resolution_attempts: int = Field(2, ge=1, le=10, description="failed resolutions of one intent before escalating", examples=[2])
    verification_attempts: int = Field(3, ge=1, le=10, description="failed identity checks in a row before escalating", examples=[3])
    sentiment_threshold: float = Field(-0.5, gt=-1, lt=1, description="caller turns below this VADER compound count as negative", examples=[-0.5])
    sentiment_turns: int = Field(2, ge=1, le=10, description="consecutive negative caller turns before escalating", examples=[2])
    no_input_limit: int = Field(3, ge=1, le=10, description="no-input timeouts in a row before escalating", examples=[3])
    no_match_limit: int = Field(3, ge=1, le=10, description="answers not understood in a row before escalating", examples=[3])
    intents: dict[str, IntentTriggers] = Field(
        default_factory=lambda: {"billing_dispute": IntentTriggers(attempts=1)},
        description="per-intent overrides: attempts, escalate, enabled", examples=[{"billing_dispute": {"attempts": 1}}])

    @field_validator("disabled", mode="before")
    @classmethod
    def _known_reasons(cls, value: Any) -> Any:
        return _reasons(value, SWITCHABLE, "disabled")

    @field_validator("opt_out_phrases")
    @classmethod
    def _phrases_have_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        empty = [p for p in value if not normalize(p)]
        if empty:
            raise ValueError(f"opt-out phrase {empty[0]!r} has no words; write whole phrases like 'stop calling me'")
        return value

    @model_validator(mode="after")
    def _known_intents(self) -> TriggerSettings:
        unknown = sorted(set(self.intents) - set(INTENTS))
        if unknown:
            raise ValueError(f"unknown intent(s) {', '.join(unknown)}; the intents are: {', '.join(INTENTS)}")
        fixed = sorted(i for i in (HUMAN_REQUEST, OUT_OF_SCOPE) if i in self.intents and self.intents[i].escalate is not None)
        if fixed:
            raise ValueError(f"intents.{fixed[0]}.escalate cannot be set: {HUMAN_REQUEST} and {OUT_OF_SCOPE} have their own triggers")
        return self


# --- observations and results ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Escalation:
    reason: Reason
    intent: str | None  # the intent in play, if any
    detail: str  # short, never personal data: "2 out-of-scope turns", "sentiment -0.71,-0.64"
    final: bool = False  # True: never back to the AI (a person asked for, 0 pressed)


@dataclass(frozen=True, slots=True)
class Turn:
    """One understood caller turn, as the NLU and the intent policy saw it."""

    text: str
    intent: str
    confidence: float
    action: str  # "contain" | "escalate" | "clarify" (the intent policy's verdict)
    sentiment: float  # VADER compound, -1..1


def understood(turn: Turn) -> bool:
    """A turn the policy decided on: neither out of scope nor an unsure guess."""
    return turn.action != "clarify" and turn.intent != OUT_OF_SCOPE


# --- opt-out phrase matching ------------------------------------------------------------------------

_IRREGULAR = {"won't": "will not", "can't": "cannot", "shan't": "shall not", "ain't": "is not",
              "dont": "do not", "doesnt": "does not", "didnt": "did not"}
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'m", " am"), ("'ll", " will"), ("'ve", " have"))
_WORD = re.compile(r"[a-z0-9']+")


def _expand(word: str) -> str:
    word = word.strip("'")
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    for suffix, full in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)] + full
    return word.replace("'", "")


def normalize(text: str) -> str:
    """Lower-case words without punctuation, contractions spelled out: "Don't!" -> "do not"."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u2018", "'"))
    text = text.encode("ascii", "ignore").decode().lower()
    return " ".join(w for w in (_expand(w) for w in _WORD.findall(text)) if w)


def find_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first normalised phrase that occurs in the text as whole words."""
    padded = f" {normalize(text)} "
    return next((p for p in phrases if f" {p} " in padded), None)


# --- the state machine ----------------------------------------------------------------------------


class Triggers:
    """One per call: observations in, at most one Escalation out."""

    def __init__(self, settings: TriggerSettings) -> None:
        self.settings = settings
        self.escalation: Escalation | None = None  # the one that fired, if any
        self.intent: str | None = None  # the intent in play: the last understood or worked on
        self._phrases = tuple(normalize(p) for p in settings.opt_out_phrases)
        self._regulated_intents = _escalate_class(settings)
        self._negative: list[float] = []
        self._out_of_scope = self._unsure = self._no_input = self._no_match = self._unverified = 0
        self._failed: dict[str, int] = {}

    # observations ---------------------------------------------------------------------------------

    def on_turn(self, turn: Turn) -> Escalation | None:
        """Checked in order: opt-out, person asked for, escalate-class intent, sentiment,
        out-of-scope / unsure counting. The first that fires (and is enabled) wins."""
        if self.escalation is not None:
            return None
        self._no_input = 0
        if understood(turn):
            self.intent = turn.intent
        for check in (self._opt_out, self._human, self._regulated, self._sentiment, self._clarifications):
            if (found := self._fire(check(turn))) is not None:
                return found
        return None

    def on_answer(self, turn: Turn) -> Escalation | None:
        """A turn spoken in answer to a specific question (a date, yes/no...): its intent is noise,
        so only opt-out, a person asked for and sentiment are checked; nothing is counted as
        out of scope or unsure, and the intent in play does not change."""
        if self.escalation is not None:
            return None
        self._no_input = 0
        for check in (self._opt_out, self._human, self._sentiment):
            if (found := self._fire(check(turn))) is not None:
                return found
        return None

    def on_dtmf(self, digit: str) -> Escalation | None:
        """One key press (not a keyed-in answer). Any key is caller input."""
        self._no_input = 0
        if digit == "0" and self.settings.dtmf_zero:
            return self._fire(Escalation(Reason.CALLER_PRESSED_ZERO, self.intent, "caller pressed 0", final=True))
        return None

    def on_no_input(self) -> Escalation | None:
        self._no_input += 1
        return self._fire(self._limit(Reason.NO_INPUT, self._no_input, self.settings.no_input_limit,
                                      "no-input timeouts in a row"))

    def on_no_match(self) -> Escalation | None:
        """The caller answered, but not as asked (a yes/no, a date...)."""
        self._no_input = 0
        self._no_match += 1
        return self._fire(self._limit(Reason.NO_MATCH, self._no_match, self.settings.no_match_limit,
                                      "answers not understood in a row"))

    def on_matched(self) -> None:
        self._no_input = self._no_match = 0

    def on_resolution(self, intent: str, resolved: bool) -> Escalation | None:
        """resolved=False: the flow could not resolve it, or the caller said it did not help."""
        self.intent = intent
        if resolved:
            self._failed.pop(intent, None)
            return None
        self._failed[intent] = count = self._failed.get(intent, 0) + 1
        return self._fire(self._limit(Reason.RESOLUTION_FAILED, count, self._attempts(intent), "failed attempts"))

    def on_crm_missing(self, intent: str | None, what: str) -> Escalation | None:
        """`what` names the missing field ("balance"), never a value. No intent: the one in play."""
        self.intent = intent or self.intent
        return self._fire(Escalation(Reason.CRM_DATA_MISSING, self.intent, f"CRM has no {what}"))

    def on_action_failed(self, intent: str | None, action: str) -> Escalation | None:
        """A CRM write, a message queue... failed, or the CRM did not answer. No intent: the one in play."""
        self.intent = intent or self.intent
        return self._fire(Escalation(Reason.ACTION_FAILED, self.intent, f"{action} failed"))

    def on_verification(self, ok: bool) -> Escalation | None:
        """A verified identity resets the count of failed checks."""
        self._unverified = 0 if ok else self._unverified + 1
        return self._fire(self._limit(Reason.IDENTITY_NOT_VERIFIED, self._unverified,
                                      self.settings.verification_attempts, "failed identity checks"))

    def on_system_error(self, detail: str) -> Escalation | None:
        """For the engine when something internal broke: never switched off, never per intent."""
        return self._fire(Escalation(Reason.SYSTEM_ERROR, self.intent, detail))

    # turn checks ------------------------------------------------------------------------------------

    def _opt_out(self, turn: Turn) -> Escalation | None:
        phrase = find_phrase(turn.text, self._phrases)
        return Escalation(Reason.OPT_OUT, self.intent, f'opt-out phrase "{phrase}"') if phrase else None

    def _human(self, turn: Turn) -> Escalation | None:
        if turn.intent != HUMAN_REQUEST or not understood(turn):
            return None
        return Escalation(Reason.CALLER_REQUESTED_HUMAN, HUMAN_REQUEST, "caller asked for a person", final=True)

    def _regulated(self, turn: Turn) -> Escalation | None:
        if not understood(turn) or turn.intent == HUMAN_REQUEST:
            return None
        if turn.intent in self._regulated_intents:
            return Escalation(Reason.REGULATED_INTENT, turn.intent, f"{turn.intent} is escalate-class")
        if turn.action == "escalate" and self._override(turn.intent).escalate is not False:
            # the policy's guard: a routine guess with a regulated reading close behind
            return Escalation(Reason.REGULATED_INTENT, turn.intent, f"intent policy escalated {turn.intent}")
        return None

    def _sentiment(self, turn: Turn) -> Escalation | None:
        if turn.sentiment >= self.settings.sentiment_threshold:
            self._negative.clear()
            return None
        self._negative.append(turn.sentiment)
        recent = self._negative[-self.settings.sentiment_turns:]
        if len(recent) < self.settings.sentiment_turns:
            return None
        return Escalation(Reason.NEGATIVE_SENTIMENT, self.intent, "sentiment " + ",".join(f"{s:.2f}" for s in recent))

    def _clarifications(self, turn: Turn) -> Escalation | None:
        """Out-of-scope and unsure turns, each counted since the caller was last understood."""
        if understood(turn):
            self._out_of_scope = self._unsure = 0
            return None
        if turn.intent == OUT_OF_SCOPE:
            self._out_of_scope += 1
            return self._limit(Reason.OUT_OF_SCOPE, self._out_of_scope, self.settings.out_of_scope_limit,
                               "out-of-scope turns", OUT_OF_SCOPE)
        self._unsure += 1
        return self._limit(Reason.LOW_CONFIDENCE, self._unsure, self.settings.low_confidence_limit, "unsure turns")

    # helpers ------------------------------------------------------------------------------------------

    def _limit(self, reason: Reason, count: int, limit: int, what: str, intent: str | None = None) -> Escalation | None:
        return Escalation(reason, intent or self.intent, f"{count} {what}") if count >= limit else None

    def _override(self, intent: str | None) -> IntentTriggers:
        return self.settings.intents.get(intent or "", _NO_OVERRIDE)

    def _attempts(self, intent: str) -> int:
        return self._override(intent).attempts or self.settings.resolution_attempts

    def _enabled(self, found: Escalation) -> bool:
        if found.reason == Reason.SYSTEM_ERROR:
            return True
        if found.reason in self.settings.disabled:
            return False
        enabled = self._override(found.intent).enabled
        return found.reason in CALLER_REASONS or enabled is None or found.reason in enabled

    def _fire(self, found: Escalation | None) -> Escalation | None:
        if found is None or self.escalation is not None or not self._enabled(found):
            return None
        self.escalation = found
        return found


_NO_OVERRIDE = IntentTriggers()


def _escalate_class(settings: TriggerSettings) -> frozenset[str]:
    """The taxonomy's escalate-class intents (a person asked for is its own reason), plus overrides."""
    regulated = {i for i in ESCALATE if i != HUMAN_REQUEST}
    regulated |= {i for i, o in settings.intents.items() if o.escalate}
    return frozenset(regulated - {i for i, o in settings.intents.items() if o.escalate is False})
