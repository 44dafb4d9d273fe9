"""A call's event stream from a short description: the real event types, in the order a live call
emits them. The demo history (demo.py) and the metric tables in the tests are written with it."""

from __future__ import annotations

from dataclasses import dataclass

from warmline.calls.events import (
    CallEnded,
    CallerSpeechStarted,
    CallerUtterance,
    CallEvent,
    CallStarted,
    EndReason,
    MediaConnected,
    MediaEnded,
    MediaTransport,
    PromptEnded,
    PromptOutcome,
    PromptStarted,
    UtteranceCut,
)
from warmline.dialog.events import (
    ActionTaken,
    CallerTurn,
    ConversationEnded,
    ConversationOutcome,
    EscalationDecided,
    IdentityChecked,
    IntentResolved,
    TurnAction,
    VerifyFailure,
    VerifyMethod,
)
from warmline.dialog.survey import SurveyAfter, SurveyAnswered
from warmline.handoff.events import (
    Disposition,
    DispositionRecorded,
    HandoffPrepared,
    ProducerAnswered,
    ProducerDialled,
    ProducerRinging,
    Party,
    TalkEnded,
    TransferBridged,
    TransferPlanned,
)
from warmline.nlu.taxonomy import CONTAIN


@dataclass(frozen=True)
class Turn:
    """One request turn: when the caller's voiced speech ended (s after the call started), how long
    the reply took to start, and how long its decode took."""

    speech_end: float
    latency: float = 1.2
    decode: float = 0.4
    length: float = 1.8  # seconds of speech


@dataclass(frozen=True)
class SyntheticCall:
    call_id: str
    start: float  # wall clock
    intent: str | None  # the AI's reading of the request (None: nothing understood)
    outcome: str  # contained | escalated | abandoned
    text: str = "I have a question"
    confidence: float = 0.92
    reason: str | None = None  # escalated: the reason code
    queue: str = "service"
    verified: bool | None = None  # None: no identity check
    failed_checks: int = 0  # failed identity attempts before the result
    turns: tuple[Turn, ...] = (Turn(6.0),)
    hold: float | None = None  # escalated: seconds until a producer takes the caller (None: nobody)
    lost: bool = False  # escalated: the caller hung up on hold
    handle: float | None = None  # seconds with the producer
    producer: str = "Dana Reyes"
    disposition: Disposition | None = None
    corrected: str = ""  # MISIDENTIFIED: the intent it was
    rerouted_to: str = ""  # REROUTED: the queue it belonged to
    repeated: bool = False
    survey: int | None = None
    pbx: str = "asterisk"
    duration: float = 40.0  # contained calls: start → hang-up


def events_of(c: SyntheticCall) -> list[CallEvent]:
    out: list[CallEvent] = []
    t = c.start

    def add(kind, offset: float, **fields) -> None:
        out.append(kind(call_id=c.call_id, at=t + offset, **fields))

    add(CallStarted, 0.0, pbx=c.pbx, channel_id=f"ch-{c.call_id}", caller_number="+15555550100",
        caller_name="", dialed="7000")
    add(MediaConnected, 0.3, transport=MediaTransport.WEBSOCKET, audio_format="slin16")
    add(PromptStarted, 0.4, prompt="greeting")
    add(PromptEnded, 4.0, prompt="greeting", outcome=PromptOutcome.FINISHED)
    audio0 = 0.3  # call-audio time 0 is when media connected
    clock = 0.0
    for i, turn in enumerate(c.turns, start=1):
        start_ms = int((turn.speech_end - turn.length - audio0) * 1000)
        end_ms = int((turn.speech_end - audio0) * 1000)
        add(CallerSpeechStarted, turn.speech_end - turn.length + 0.06, at_ms=start_ms + 60)
        decoded = turn.speech_end + 0.7 + turn.decode
        add(CallerUtterance, decoded, start_ms=start_ms, end_ms=end_ms, text=c.text if i == 1 else "yes",
            engine="whisper", decode_seconds=turn.decode, cut=UtteranceCut.SILENCE)
        if i == 1:
            action = (TurnAction.CLARIFY if c.intent is None else TurnAction.ESCALATE
                      if c.intent not in CONTAIN or c.reason == "regulated_intent" else TurnAction.CONTAIN)
            add(CallerTurn, decoded + 0.01, turn=1, text=c.text, answer=False, intent=c.intent or "out_of_scope",
                confidence=c.confidence, action=action, entities=(), sentiment=0.0)
        else:
            add(CallerTurn, decoded + 0.01, turn=i, text="yes", answer=True, intent="out_of_scope",
                confidence=0.5, action=TurnAction.CLARIFY, entities=(), sentiment=0.2)
        add(PromptStarted, turn.speech_end + turn.latency, prompt="reply")
        clock = turn.speech_end + turn.latency + 2.0
    if c.verified is not None:
        for attempt in range(1, c.failed_checks + 1):
            add(IdentityChecked, clock, verified=False, method=VerifyMethod.NONE, attempt=attempt, contact_id=None,
                policy_id=None, name="", why=VerifyFailure.SECOND_FACTOR_MISMATCH)
            clock += 6.0
        if c.verified:
            add(IdentityChecked, clock, verified=True, method=VerifyMethod.POLICY_AND_DATE_OF_BIRTH,
                attempt=c.failed_checks + 1, contact_id="c-1", policy_id="p-1", name="Demo Caller",
                why=VerifyFailure.NONE, state="OR", line="auto")
        clock += 8.0
    intents = (c.intent,) if c.intent and c.intent != "out_of_scope" else ()
    if c.outcome == "contained":
        add(ActionTaken, clock, intent=c.intent, action="read_balance", ok=True, result="done")
        add(IntentResolved, clock + 4, intent=c.intent, resolved=True)
        end = max(c.duration, clock + 10)
        add(ConversationEnded, end - 2, outcome=ConversationOutcome.CONTAINED, intents=intents)
        if c.survey is not None:
            add(SurveyAnswered, end - 1, score=c.survey, after=SurveyAfter.AI)
        add(MediaEnded, end, frames=int(end * 50), audio_seconds=end)
        add(CallEnded, end, reason=EndReason.CONTAINED)
        return out
    if c.outcome == "abandoned":
        add(ConversationEnded, clock, outcome=ConversationOutcome.ABANDONED, intents=intents)
        add(MediaEnded, clock, frames=int(clock * 50), audio_seconds=clock)
        add(CallEnded, clock, reason=EndReason.CALLER_HANGUP)
        return out
    add(EscalationDecided, clock, reason=c.reason or "regulated_intent", intent=c.intent, detail="", final=False,
        queue=c.queue)
    add(PromptStarted, clock + 0.1, prompt="warm_transfer")
    add(ConversationEnded, clock + 3, outcome=ConversationOutcome.ESCALATED, intents=intents)
    waiting = clock + 3
    add(HandoffPrepared, waiting + 0.05, payload_id=f"hp-{c.call_id}", queue=c.queue, payload="{}")
    add(TransferPlanned, waiting + 0.1, queue=c.queue, ring=(c.producer,), skipped=())
    if c.hold is None:
        gone = waiting + (40.0 if c.lost else 30.0)
        add(MediaEnded, gone, frames=int(gone * 50), audio_seconds=gone)
        if c.lost:
            add(CallEnded, gone, reason=EndReason.ABANDONED)
        else:
            add(CallEnded, gone, reason=EndReason.HANDED_TO_QUEUE, queue=c.queue)
        return out
    add(ProducerDialled, waiting + 0.15, producer=c.producer, endpoint="PJSIP/101", attempt=1, channel_id="p-1")
    add(ProducerRinging, waiting + 0.3, producer=c.producer)
    add(ProducerAnswered, waiting + c.hold - 3, producer=c.producer)
    bridged = waiting + c.hold
    add(TransferBridged, bridged, producer=c.producer, bridge_id=f"b-{c.call_id}")
    # Warmline's part ends once the caller is bridged; the talk goes on till the producer's TalkEnded
    add(MediaEnded, bridged + 0.2, frames=int(bridged * 50), audio_seconds=bridged)
    add(CallEnded, bridged + 0.2, reason=EndReason.HANDED_TO_QUEUE, queue=c.queue or "service")
    end = bridged + (c.handle or 180.0)
    add(TalkEnded, end, producer=c.producer, ended_by=Party.CALLER, talk_seconds=end - bridged)
    if c.survey is not None:
        add(SurveyAnswered, end + 8, score=c.survey, after=SurveyAfter.ESCALATED)
    if c.disposition is not None:
        add(DispositionRecorded, end + 25, producer=c.producer, by=c.producer.split()[0].lower(),
            disposition=c.disposition, caller_repeated=c.repeated, queue=c.rerouted_to, intent=c.corrected)
    return out
