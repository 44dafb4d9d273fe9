"""What a PBX plugin drives for each call: a session fed with the caller's audio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from warmline.calls.events import CallJournal
from warmline.speech.audio import AudioChunk
from warmline.speech.prompts import CallVoice, NoVoice


@dataclass(frozen=True, slots=True)
class CallInfo:
    call_id: str
    caller_number: str
    caller_name: str
    dialed: str


@dataclass(frozen=True, slots=True)
class Route:
    """Where a session wants its caller next: hung up (target None) or handed to `target`
    (a queue or the payment line), with the channel variables the people there will read."""

    outcome: str  # "contained" | "escalated"
    target: str | None = None
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SessionResult:
    frames: int
    audio_seconds: float
    summary: str
    route: Route | None = None  # None: nobody routed the caller, the PBX plugin sends them to the fallback


class CallSession:
    """Consumes one call's caller audio until it ends.

    This base session listens and measures; the conversation engine subclasses it. The plugin
    guarantees `run` is called once, that the audio iterator ends when the call's media ends,
    and that the task is cancelled (never abandoned) if the call goes away first.
    """

    def __init__(self, info: CallInfo, journal: CallJournal, voice: CallVoice | None = None) -> None:
        self.info = info
        self.journal = journal
        self.voice: CallVoice = voice or NoVoice()
        self.frames = 0
        self.audio_seconds = 0.0

    async def run(self, audio: AsyncIterator[AudioChunk]) -> SessionResult:
        async for chunk in audio:
            await self.on_audio(chunk)
        return SessionResult(self.frames, self.audio_seconds, f"heard {self.audio_seconds:.2f} s of caller audio")

    def on_dtmf(self, digit: str) -> None:
        """A key the caller pressed (this session ignores keys)."""

    async def on_audio(self, chunk: AudioChunk) -> None:
        self.frames += 1
        self.audio_seconds += chunk.seconds


SessionFactory = Callable[[CallInfo, CallJournal, CallVoice], CallSession]
