"""One call's event stream folded into the facts every number is computed from (sans-IO).

`CallFold.feed(event)` takes the call's events in order and returns what just became known as
`Observation`s (what the live Prometheus exporter counts); `fold.facts` is what the weekly numbers
and the review are computed from. Both come from the one fold, so a dashboard and the report can
never disagree on what a call was.

Clocks: every event carries `at` (wall clock). A turn's response latency starts at the end of the
caller's voiced speech, which the stream holds in call-audio time (`CallerUtterance.end_ms`); the
audio clock is placed on the wall clock by the call's speech starts (`CallerSpeechStarted`: `at`
minus `at_ms`, the earliest, since detection only ever comes late), else by MediaConnected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warmline.calls.events import (
    CallEnded,
    CallerSpeechStarted,
    CallerUtterance,
    CallEvent,
    CallStarted,
    EndReason,
    MediaConnected,
    PromptStarted,
)
from warmline.dialog.events import (
    CallerTurn,
    ConversationEnded,
    EscalationDecided,
    IdentityChecked,
    TurnAction,
)
from warmline.dialog.survey import SurveyAnswered
from warmline.handoff.events import MISROUTES, DispositionRecorded, HandoffPrepared, TalkEnded, TransferBridged

DEMO_PBX = "demo"  # CallStarted.pbx of the seeded demo history (warmline numbers seed-demo)
NO_INTENT = "none"  # label of a call that raised no intent (e.g. 0 pressed over the greeting)

# Call types: what the agency measures containment on (the 50% target is for billing and policy service).
CALL_TYPES: dict[str, tuple[str, ...]] = {
    "billing": ("billing_inquiry", "make_payment", "billing_dispute"),
    "policy_service": ("policy_details", "id_card", "update_contact", "policy_change", "cancel_policy"),
    "claims": ("claim_status", "file_claim", "claim_dispute"),
    "sales_advice": ("coverage_advice", "new_quote"),
    "general": ("agency_info", "schedule_appointment", "human_request", "complaint", "out_of_scope"),
}
CALL_TYPE_OF = {intent: kind for kind, intents in CALL_TYPES.items() for intent in intents}
# Events of the desk side (the queue path) known by name: the fold needs only that they happened.
QUEUE_ANSWERED = "QueueAgentAnswered"


def call_type(intent: str | None) -> str:
    return CALL_TYPE_OF.get(intent or "", "general")


@dataclass(frozen=True, slots=True)
class Observation:
    """Something that just became known about a call: a count (value 1) or a measured value."""

    metric: str
    value: float = 1.0
    labels: tuple[tuple[str, str], ...] = ()


@dataclass
class CallFacts:
    call_id: str
    started: float | None = None
    demo: bool = False
    intents: tuple[str, ...] = ()  # every intent the caller raised, in order
    request: str = ""  # the caller's first request, as stored (scrubbed)
    reading: str | None = None  # the intent the AI acted on (escalated: the escalation's intent)
    reading_words: str = ""  # the caller's words the AI read as `reading` (a later turn's when that one escalated)
    confidence: float | None = None  # the AI's confidence in that reading
    outcome: str | None = None  # contained | escalated | abandoned; None: no conversation (failed, listen-only)
    reason: str | None = None  # escalation reason code
    queue: str | None = None  # the queue escalated to
    escalated_at: float | None = None  # the caller starts waiting for a person (conversation over)
    person_at: float | None = None  # a person took the caller (bridged, or a queue member answered)
    bridged_at: float | None = None
    talk_ended_at: float | None = None  # the caller's talk with a person ended (after CallEnded)
    ended_at: float | None = None
    end: str | None = None  # CallEnded.code
    lost_on_hold: bool = False  # escalated, and hung up before anyone took them
    identity: bool | None = None  # None: never checked; True: verified; False: checked, never verified
    disposition: DispositionRecorded | None = None  # the producer's last word on the transfer
    surveys: list[SurveyAnswered] = field(default_factory=list)
    turn_latencies: list[float] = field(default_factory=list)
    decode_seconds: list[float] = field(default_factory=list)

    @property
    def intent(self) -> str:
        """The call's intent for the numbers: the first raised, else the escalation's, else none."""
        return self.intents[0] if self.intents else self.reading or NO_INTENT

    @property
    def call_type(self) -> str:
        return call_type(self.intent)

    @property
    def hold_seconds(self) -> float | None:
        if self.escalated_at is None or self.person_at is None:
            return None
        return max(0.0, self.person_at - self.escalated_at)

    @property
    def handle_seconds(self) -> float | None:
        """The person's time with the caller: picked up → their talk ended (TalkEnded)."""
        if self.person_at is None or self.talk_ended_at is None:
            return None
        return max(0.0, self.talk_ended_at - self.person_at)


class CallFold:
    """Feed one call's events in order; read `facts`, and the observations each event gave."""

    def __init__(self, call_id: str) -> None:
        self.facts = CallFacts(call_id)
        self._audio_zero: float | None = None  # wall clock of call-audio time 0
        self._media_at: float | None = None
        self._pending: CallerUtterance | None = None  # the last utterance not yet answered by a prompt
        self._verified_once = False
        self._confidence: dict[str, float] = {}  # intent -> the confidence it was first read with
        self._words: dict[str, str] = {}  # intent -> the words it was first read from

    def feed(self, event: CallEvent) -> tuple[Observation, ...]:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            return tuple(handler(self, event))
        if type(event).__name__ == QUEUE_ANSWERED:
            return tuple(self._person(event.at))
        return ()

    # --- per kind -------------------------------------------------------------------------------

    def _started(self, e: CallStarted):
        self.facts.started = e.at
        self.facts.demo = e.pbx == DEMO_PBX
        yield Observation("call_started")

    def _media(self, e: MediaConnected):
        self._media_at = e.at
        return ()

    def _speech(self, e: CallerSpeechStarted):
        zero = e.at - e.at_ms / 1000
        self._audio_zero = zero if self._audio_zero is None else min(self._audio_zero, zero)
        return ()

    def _utterance(self, e: CallerUtterance):
        self._pending = e
        self.facts.decode_seconds.append(e.decode_seconds)
        yield Observation("stt_decode_seconds", e.decode_seconds)

    def _prompt(self, e: PromptStarted):
        pending, self._pending = self._pending, None
        zero = self._audio_zero if self._audio_zero is not None else self._media_at
        if pending is None or zero is None:
            return
        latency = e.at - (zero + pending.end_ms / 1000)
        if latency >= 0:
            self.facts.turn_latencies.append(latency)
            yield Observation("turn_latency_seconds", latency)

    def _turn(self, e: CallerTurn):
        f = self.facts
        if e.answer:
            return ()
        if e.action != TurnAction.CLARIFY:
            self._confidence.setdefault(e.intent, e.confidence)
            self._words.setdefault(e.intent, e.text)
            if f.reading is None:
                f.request, f.reading, f.confidence, f.reading_words = e.text, e.intent, e.confidence, e.text
        elif not f.request:
            f.request = e.text  # not understood yet: still what the caller first asked
        return ()

    def _identity(self, e: IdentityChecked):
        first = self.facts.identity is None
        if e.verified:
            self.facts.identity = True
        elif first:
            self.facts.identity = False
        if e.verified and not self._verified_once:
            self._verified_once = True
            yield Observation("identity_check", labels=(("result", "verified"),))
        elif not e.verified:
            yield Observation("identity_check", labels=(("result", "failed"),))

    def _escalation(self, e: EscalationDecided):
        f = self.facts
        f.reason, f.queue = str(e.reason), e.queue
        if e.intent and e.intent != f.reading:  # a later request went to a person: that is the reading to judge
            f.reading, f.confidence = e.intent, self._confidence.get(e.intent)
            f.reading_words = self._words.get(e.intent, "")
        yield Observation("escalation", labels=(("reason", f.reason), ("intent", e.intent or NO_INTENT),
                                                ("queue", e.queue)))

    def _conversation(self, e: ConversationEnded):
        f = self.facts
        f.outcome, f.intents = str(e.outcome), tuple(e.intents)
        if f.outcome == "escalated":
            f.escalated_at = e.at
        yield Observation("conversation", labels=(("outcome", f.outcome), ("intent", f.intent),
                                                  ("call_type", f.call_type)))

    def _handoff(self, e: HandoffPrepared):
        if self.facts.escalated_at is None:
            self.facts.escalated_at = e.at
        return ()

    def _bridged(self, e: TransferBridged):
        self.facts.bridged_at = e.at
        return self._person(e.at)

    def _person(self, at: float):
        f = self.facts
        if f.person_at is not None:
            return
        f.person_at = at
        if f.hold_seconds is not None:
            yield Observation("hold_seconds", f.hold_seconds, (("queue", f.queue or ""),))

    def _ended(self, e: CallEnded):
        f = self.facts
        f.ended_at, f.end = e.at, e.code
        yield Observation("call_ended", labels=(("reason", e.reason.value),))
        if f.outcome == "escalated" and f.person_at is None and e.reason == EndReason.ABANDONED:
            f.lost_on_hold = True
            yield Observation("lost_on_hold", labels=(("queue", f.queue or ""),))

    def _talk_ended(self, e: TalkEnded):
        f = self.facts
        if f.talk_ended_at is not None:
            return
        f.talk_ended_at = e.at
        if f.handle_seconds is not None:
            yield Observation("handle_seconds", f.handle_seconds, (("queue", f.queue or ""),))

    def _disposition(self, e: DispositionRecorded):
        self.facts.disposition = e
        yield Observation("disposition", labels=(("disposition", e.disposition.value),
                                                 ("intent", self.facts.reading or NO_INTENT)))
        if e.caller_repeated:
            yield Observation("caller_repeated", labels=(("intent", self.facts.reading or NO_INTENT),))

    def _survey(self, e: SurveyAnswered):
        self.facts.surveys.append(e)
        yield Observation("survey_score", float(e.score), (("after", e.after.value),))


_HANDLERS = {
    CallStarted: CallFold._started, MediaConnected: CallFold._media, CallerSpeechStarted: CallFold._speech,
    CallerUtterance: CallFold._utterance, PromptStarted: CallFold._prompt, CallerTurn: CallFold._turn,
    IdentityChecked: CallFold._identity, EscalationDecided: CallFold._escalation,
    ConversationEnded: CallFold._conversation, HandoffPrepared: CallFold._handoff,
    TransferBridged: CallFold._bridged, TalkEnded: CallFold._talk_ended, CallEnded: CallFold._ended,
    DispositionRecorded: CallFold._disposition, SurveyAnswered: CallFold._survey,
}


def call_facts(call_id: str, events: list[CallEvent]) -> CallFacts:
    fold = CallFold(call_id)
    for event in events:
        fold.feed(event)
    return fold.facts


def is_misroute(facts: CallFacts) -> bool:
    return facts.disposition is not None and facts.disposition.disposition in MISROUTES
