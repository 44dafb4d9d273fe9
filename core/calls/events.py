"""The typed, frozen event stream of one call.

Every stage reports what happened as an event; metrics, audit and (later) the hand-off payload
are built from this stream, never from ad-hoc state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    call_id: str
    at: float = field(default_factory=time.time)  # wall clock, seconds since the epoch


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(CallEvent):
    pbx: str
    channel_id: str
    caller_number: str
    caller_name: str
    dialed: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaConnected(CallEvent):
    """Caller audio is flowing into the engine."""

    transport: str  # "websocket" | "rtp"
    audio_format: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaEnded(CallEvent):
    frames: int
    audio_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed(CallEvent):
    """A stage failed; the caller is handed to a person."""

    stage: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(CallEvent):
    reason: str  # "caller_hangup" | "contained" | "handed_to_<queue>" | "handed_to_fallback" | "pbx_lost" | "shutdown"


Listener = Callable[[CallEvent], None]


class CallJournal:
    """The ordered events of one call, fanned out to listeners as they happen."""

    def __init__(self, call_id: str, listeners: list[Listener] | None = None) -> None:
        self.call_id = call_id
        self.events: list[CallEvent] = []
        self._listeners = list(listeners or [])

    def emit(self, event: CallEvent) -> None:
        if event.call_id != self.call_id:
            raise ValueError(f"event for call {event.call_id} sent to journal of {self.call_id}")
        self.events.append(event)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not break the call
                log.exception("event listener failed on %s", type(event).__name__)

    def of_type(self, kind: type[CallEvent]) -> list[CallEvent]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerSpeechStarted(CallEvent):
    at_ms: int  # call-audio time


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerUtterance(CallEvent):
    start_ms: int
    end_ms: int
    text: str
    engine: str
    decode_seconds: float
    cut: str  # why it ended: "silence" | "max_length" | "flush"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechFailed(CallEvent):
    """Decoding one utterance failed; the call goes on."""

    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoInputTimeout(CallEvent):
    at_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptStarted(CallEvent):
    prompt: str  # what is being said, as media names ("your_balance_is number:240 dollars")


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptEnded(CallEvent):
    prompt: str
    outcome: str  # prompts.Outcome: "finished" | "interrupted" | "failed" | "gone"
