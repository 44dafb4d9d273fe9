"""The typed, frozen event stream of one call.

Every stage reports what happened as an event; metrics, audit and (later) the hand-off payload
are built from this stream, never from ad-hoc state.

Closed sets of values are StrEnums whose values are the strings the store and the channel
variables have always held. A field typed with one is coerced on construction, so a producer
that passes the plain string (or a row read back from the store) gets the member, and a value
outside the set fails where it is made instead of deep in a report.
"""

from __future__ import annotations

import logging
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from functools import cache

log = logging.getLogger(__name__)


@cache
def _enum_fields(kind: type) -> tuple[tuple[str, type[StrEnum]], ...]:
    """(field, enum) for every field of `kind` typed as a StrEnum (or an optional one)."""
    hints = typing.get_type_hints(kind)
    found = []
    for f in fields(kind):
        hint = hints[f.name]
        for candidate in (hint, *typing.get_args(hint)):
            if isinstance(candidate, type) and issubclass(candidate, StrEnum):
                found.append((f.name, candidate))
                break
    return tuple(found)


def coerce_enums(obj: object) -> None:
    """Turn plain strings in StrEnum-typed fields into members; ValueError names the field."""
    for name, enum in _enum_fields(type(obj)):
        value = getattr(obj, name)
        if value is None or isinstance(value, enum):
            continue
        try:
            member = enum(value)
        except ValueError:
            raise ValueError(f"{type(obj).__name__}.{name}: {value!r} is not one of "
                             f"{', '.join(repr(m.value) for m in enum)}") from None
        object.__setattr__(obj, name, member)  # frozen: only construction may set it


class Personal(StrEnum):
    """How a field that may hold personal data rests in the event store (see calls/store.py)."""

    SPEECH = "speech"  # the caller's words: dates, long numbers and e-mail addresses scrubbed out for good
    KEYS = "keys"  # keyed digits: one key is a menu choice and kept; longer entries are masked
    PAIRS = "pairs"  # (kind, value) pairs, e.g. entities: values scrubbed like speech
    SEALED = "sealed"  # needed later by a person (the number to call back, the hand-off): encrypted


def personal(kind: Personal, **options) -> typing.Any:
    """A dataclass field that holds personal data of this kind."""
    return field(metadata={"personal": kind}, **options)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent:
    call_id: str
    at: float = field(default_factory=time.time)  # wall clock, seconds since the epoch

    def __post_init__(self) -> None:
        coerce_enums(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(CallEvent):
    pbx: str  # the plugin's name ("asterisk"): plugins are open-ended
    channel_id: str
    caller_number: str = personal(Personal.SEALED)
    caller_name: str = personal(Personal.SEALED)
    dialed: str


class MediaTransport(StrEnum):
    WEBSOCKET = "websocket"
    RTP = "rtp"


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaConnected(CallEvent):
    """Caller audio is flowing into the engine."""

    transport: MediaTransport
    audio_format: str  # a codec name as the PBX spells it ("slin16")


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaEnded(CallEvent):
    frames: int
    audio_seconds: float


class CallStage(StrEnum):
    """Where in the PBX plugin's handling of a call something failed."""

    ANSWER = "answer"
    BRIDGE = "bridge"
    MEDIA = "media"
    SESSION = "session"
    HANDOFF = "handoff"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallFailed(CallEvent):
    """A stage failed; the caller is handed to a person."""

    stage: CallStage
    error: str


class EndReason(StrEnum):
    CALLER_HANGUP = "caller_hangup"
    CONTAINED = "contained"
    HANDED_TO_QUEUE = "handed_to"  # CallEnded.queue says which queue (or "payment")
    HANDED_TO_FALLBACK = "handed_to_fallback"
    ABANDONED = "abandoned"  # hung up while waiting for a person: on hold, or during the transfer message
    PBX_LOST = "pbx_lost"
    SHUTDOWN = "shutdown"


HANDED_TO_PREFIX = "handed_to_"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(CallEvent):
    reason: EndReason
    queue: str | None = None  # set exactly when reason is HANDED_TO_QUEUE

    def __post_init__(self) -> None:
        reason = self.reason
        if (isinstance(reason, str) and not isinstance(reason, EndReason) and self.queue is None
                and reason.startswith(HANDED_TO_PREFIX) and reason != EndReason.HANDED_TO_FALLBACK):
            # the one-string form "handed_to_<queue>": older stored rows, and producers that still build it
            object.__setattr__(self, "reason", EndReason.HANDED_TO_QUEUE)
            object.__setattr__(self, "queue", reason.removeprefix(HANDED_TO_PREFIX))
        coerce_enums(self)
        if (self.reason == EndReason.HANDED_TO_QUEUE) != bool(self.queue):
            raise ValueError(f"CallEnded: a queue goes with reason {EndReason.HANDED_TO_QUEUE.value!r} "
                             f"and only with it (got reason {self.reason.value!r}, queue {self.queue!r})")

    @property
    def code(self) -> str:
        """The one-string form logs and dashboards show: "handed_to_<queue>" or the reason."""
        return f"{HANDED_TO_PREFIX}{self.queue}" if self.reason == EndReason.HANDED_TO_QUEUE else self.reason.value


Listener = Callable[[CallEvent], None]
E = typing.TypeVar("E", bound=CallEvent)


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

    def of_type(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerSpeechStarted(CallEvent):
    at_ms: int  # call-audio time


class UtteranceCut(StrEnum):
    """Why the segmenter ended an utterance."""

    SILENCE = "silence"
    MAX_LENGTH = "max_length"
    FLUSH = "flush"  # the audio ended mid-utterance
    EARLY = "early"  # a short pause, and the words so far made a whole turn


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerUtterance(CallEvent):
    start_ms: int
    end_ms: int
    text: str = personal(Personal.SPEECH)
    engine: str
    decode_seconds: float
    cut: UtteranceCut


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


class PromptOutcome(StrEnum):
    """How a prompt ended; the same strings as speech.prompts.Outcome, which voices return."""

    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # barge-in: the caller talked over it
    FAILED = "failed"  # the PBX could not play it
    GONE = "gone"  # the caller hung up


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptEnded(CallEvent):
    prompt: str
    outcome: PromptOutcome


# The kinds this module defines, for the event store's registry (warmline.catalog).
KINDS: tuple[type[CallEvent], ...] = (
    CallStarted, MediaConnected, MediaEnded, CallFailed, CallEnded, CallerSpeechStarted,
    CallerUtterance, SpeechFailed, NoInputTimeout, PromptStarted, PromptEnded,
)
