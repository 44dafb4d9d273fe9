"""A call session that listens: utterances are cut by the VAD and decoded off the loop.

Each utterance becomes a CallerUtterance event in the call's journal. A decode that fails is
recorded as SpeechFailed and the call goes on (the conversation policy decides whether a
person takes over). While a prompt plays the session keeps listening: a caller who starts
talking stops it (barge-in) and what they say is decoded like any other utterance.

A turn need not wait for the full hang-over: at a short pause the words so far are decoded
while a worker is free, and if they make a whole turn (speech/turn_end.py) and the caller is
still silent, the utterance ends there. Otherwise the guess (done or still running) is the text
when the hang-over closes the same audio; a caller who goes on talking makes it moot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from warmline.calls.events import (
    CallerSpeechStarted,
    CallerUtterance,
    CallJournal,
    NoInputTimeout,
    PromptEnded,
    PromptStarted,
    SpeechFailed,
)
from warmline.calls.session import CallInfo, CallSession, SessionFactory, SessionResult
from warmline.speech.audio import AudioChunk
from warmline.speech.cutter import PauseAudio, SpeechAudio, Utterance, UtteranceCutter
from warmline.speech.prompts import CallVoice, Outcome, Prompt
from warmline.speech.services import SpeechServices
from warmline.speech.stt import SttError, Transcript
from warmline.speech.stt.pool import LiveDecode
from warmline.speech.turn_end import sounds_finished
from warmline.speech.vad import NoInput, Segmenter, SpeechStarted
from warmline.tasks import OwnedTasks

log = logging.getLogger(__name__)

TAIL_WORDS = 3  # an afterthought this short, right after a turn that ended at a pause, is that turn's tail


class Hearing(Protocol):
    """Whoever converses with the caller: told what the listening session heard."""

    def heard(self, utterance: CallerUtterance) -> None:
        """A decoded utterance."""

    def no_input(self) -> None:
        """The caller said nothing after a question."""

    def speech_failed(self, error: str) -> None:
        """The caller said something that could not be decoded."""


class ListeningSession(CallSession):
    def __init__(self, info: CallInfo, journal: CallJournal, services: SpeechServices,
                 voice: CallVoice | None = None, *, opening: Prompt | None = None, barge_in: bool = True,
                 hearing: Hearing | None = None) -> None:
        super().__init__(info, journal, voice)
        self.services = services
        self.opening = opening
        self.barge_in = barge_in
        self.hearing = hearing  # None: the session only records what it hears
        self.speaking: Prompt | None = None
        self._tasks = OwnedTasks()  # prompts and barge-in stops this session owns
        self._segmenter = Segmenter(services.segmenter)  # before the first audio: prompts pause its timer
        self._cutter: UtteranceCutter | None = None
        self._decodes = OwnedTasks()
        self._guesses = OwnedTasks()  # decodes at a pause, which may end the turn early
        self._guessing: dict[int, asyncio.Task] = {}  # end_ms of the audio a guess decodes -> its task
        self._early_end_ms: int | None = None  # where the last turn that ended at a pause ended
        self._decoding: dict[int, float] = {}  # start_ms of an utterance being decoded -> loop time it began
        self._live: LiveDecode | None = None  # the utterance being streamed to the engine
        self.utterances: list[CallerUtterance] = []
        self.deaf = False  # set while the caller keys private digits: nothing is cut or decoded

    async def run(self, audio: AsyncIterator[AudioChunk]) -> SessionResult:
        if self.opening is not None:
            self._tasks.start(self.say(self.opening), f"prompt-{self.info.call_id}-opening")
        try:
            async for chunk in audio:
                await self.on_audio(chunk)
            if self._cutter is not None:
                self._handle(self._cutter.flush())
            await self._decodes.wait()
        finally:
            await self._guesses.cancel()
            await self._decodes.cancel()
            await self._tasks.cancel()
            if self._live is not None:
                self._live.cancel()
        heard = " | ".join(self.transcript())
        return SessionResult(self.frames, self.audio_seconds, heard or "(no speech)")

    async def say(self, prompt: Prompt) -> str:
        """Play a prompt and wait for its outcome, listening all the while."""
        self.journal.emit(PromptStarted(call_id=self.info.call_id, prompt=prompt.describe()))
        self.speaking = prompt
        self._segmenter.disarm_no_input()  # the caller is listening, not failing to answer
        try:
            outcome = await self.voice.play(prompt)
        finally:
            self.speaking = None
        self.journal.emit(PromptEnded(call_id=self.info.call_id, prompt=prompt.describe(), outcome=outcome))
        if outcome != Outcome.INTERRUPTED:  # interrupted: the caller is talking; their utterance re-arms it
            self._segmenter.arm_no_input()  # silence counts from the end of the question
        return outcome

    def hearing_now(self) -> bool:
        """The caller is speaking, or what they said is being decoded."""
        return self._segmenter.in_speech or bool(self._decodes)

    def decoding_for(self) -> float:
        """Seconds the oldest decode still running has taken (0: none running)."""
        if not self._decoding:
            return 0.0
        return asyncio.get_running_loop().time() - min(self._decoding.values())

    def _continues_early_turn(self, at_ms: int) -> bool:
        """Speech that starts within the hang-over of a turn that ended at a pause is its tail
        ("...a real person" — "please"): it must not cut off the answer to that turn."""
        end = self._early_end_ms
        return end is not None and 0 <= at_ms - end < self.services.segmenter.hangover_ms

    def keyed(self) -> None:
        """A key pressed: the caller is answering, so the silence timer starts over."""
        self._segmenter.reset_no_input()

    def transcript(self) -> list[str]:
        """Non-empty utterance texts in the order spoken (decodes may finish out of order)."""
        return [u.text for u in sorted(self.utterances, key=lambda u: u.start_ms) if u.text]

    async def on_audio(self, chunk: AudioChunk) -> None:
        await super().on_audio(chunk)
        if self.deaf:
            return
        if self._cutter is None:  # the first chunk tells the format
            self._cutter = UtteranceCutter(self.services.vad_stream(), self._segmenter, chunk.format,
                                           live=self.services.stt.engine.streaming)
        self._handle(self._cutter.push(chunk))

    def _handle(self, events) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                self.journal.emit(CallerSpeechStarted(call_id=self.info.call_id, at_ms=event.at_ms))
                if self.speaking is not None and self.speaking.barge_in and self.barge_in \
                        and not self._continues_early_turn(event.at_ms):
                    self._tasks.start(self.voice.stop(), f"barge-in-{self.info.call_id}-{event.at_ms}")
                if self._cutter is not None and self._cutter.live:
                    self._live = self.services.stt.open_stream()
            elif isinstance(event, SpeechAudio) and self._live is not None:
                self._live.feed(event.samples)
            elif isinstance(event, NoInput) and self._decodes:
                self._segmenter.arm_no_input()  # the caller did answer: it is still being decoded
            elif isinstance(event, NoInput):
                self.journal.emit(NoInputTimeout(call_id=self.info.call_id, at_ms=event.at_ms))
                if self.hearing is not None:
                    self.hearing.no_input()
            elif isinstance(event, PauseAudio) and self._live is None and self.services.stt.has_idle_worker:
                self._guessing[event.pause.end_ms] = self._guesses.start(
                    self._guess(event), f"stt-guess-{self.info.call_id}-{event.pause.end_ms}")
            elif isinstance(event, Utterance):
                tail = self._continues_early_turn(event.start_ms)  # of the turn before this one
                if event.reason == "early":
                    self._early_end_ms = event.end_ms
                live, self._live = self._live, None
                guess = self._guessing.pop(event.end_ms, None)  # the same audio: its decode is (being) done
                self._guessing.clear()
                self._decoding[event.start_ms] = asyncio.get_running_loop().time()
                self._decodes.start(self._decode(event, live, guess, tail=tail), f"stt-{self.info.call_id}-{event.start_ms}")

    async def _guess(self, paused: PauseAudio) -> Transcript | None:
        try:
            guess = await self.services.stt.transcribe(paused.audio)
        except SttError:
            return None  # only a guess: the utterance's own decode reports a failure
        if self._cutter is not None and sounds_finished(guess.text):
            self._handle(self._cutter.end_at_pause(paused.pause))  # nothing if the caller went on
        return guess

    async def _decode(self, utterance: Utterance, live: LiveDecode | None, guess: asyncio.Task | None = None,
                      *, tail: bool = False) -> None:
        try:
            result = (await guess if guess else None) or await self._text_of(utterance, live)
        except SttError as exc:
            log.warning("speech decode failed: %s", exc)
            self.journal.emit(SpeechFailed(call_id=self.info.call_id, error=str(exc)))
            if self.hearing is not None:
                self.hearing.speech_failed(str(exc))
            return
        finally:  # decoded, failed or cancelled with the call: no longer waiting
            self._decoding.pop(utterance.start_ms, None)
        event = CallerUtterance(
            call_id=self.info.call_id, start_ms=utterance.start_ms, end_ms=utterance.end_ms, text=result.text,
            engine=result.engine, decode_seconds=result.decode_seconds, cut=utterance.reason,
        )
        self.utterances.append(event)
        self.journal.emit(event)
        if tail and len(event.text.split()) <= TAIL_WORDS:
            return  # "...a real person?" — "please": part of a turn already answered, not the next answer
        if self.hearing is not None:
            self.hearing.heard(event)
        log.info("utterance decoded", extra={"audio_s": round(result.audio_seconds, 2),
                                             "decode_s": round(result.decode_seconds, 3)})

    async def _text_of(self, utterance: Utterance, live: LiveDecode | None) -> Transcript:
        if live is not None:  # a streaming engine heard it as it was spoken: only the final result is left
            return await live.finish()
        return await self.services.stt.transcribe(utterance.audio)


def listening_sessions(services: SpeechServices, *, barge_in: bool = True) -> SessionFactory:
    """The session factory `serve` and the demo hand to the PBX plugin."""
    return lambda info, journal, voice: ListeningSession(info, journal, services, voice, barge_in=barge_in)
