"""From caller audio to utterances: resample at the edge, VAD, segment, cut the audio out.

`UtteranceCutter` is synchronous and clock-free (time is the audio it has been fed); decoding
happens elsewhere (the STT pool), so a long decode never stalls the audio path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from warmline.speech.audio import SLIN16, AudioChunk, AudioFormat
from warmline.speech.convert import Resampler
from warmline.speech.vad import (
    NoInput,
    Segmenter,
    SegmentEvent,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    VadStream,
)

RATE = SLIN16.rate
SAMPLES_PER_MS = RATE // 1000


@dataclass(frozen=True, slots=True)
class SpeechAudio:
    """Audio of the utterance in progress, for streaming engines (16 kHz int16, pre-roll first)."""

    samples: np.ndarray


@dataclass(frozen=True, slots=True)
class Utterance:
    start_ms: int
    end_ms: int
    reason: str
    audio: np.ndarray  # float32, 16 kHz mono, pre-roll included

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


@dataclass(frozen=True, slots=True)
class PauseAudio:
    """What the caller said up to a pause, for a decode that may end the turn early."""

    pause: SpeechPaused
    audio: np.ndarray  # float32, 16 kHz mono, pre-roll included: the utterance, if the turn is over


class UtteranceCutter:
    def __init__(self, vad: VadStream, segmenter: Segmenter, source: AudioFormat = SLIN16,
                 preroll_ms: int = 200, live: bool = False) -> None:
        self.vad = vad
        self.live = live  # also emit SpeechAudio while the caller speaks
        self.segmenter = segmenter
        self.resample = Resampler(source, RATE)
        self.preroll_ms = preroll_ms
        # Recent audio as the chunks it came in: appending is O(1); it is joined once per utterance.
        self._parts: list[np.ndarray] = []
        self._buffer_start = 0  # stream position, in samples, of the first kept sample
        self._unsent: np.ndarray | None = None  # this push's audio, not yet emitted as SpeechAudio

    def push(self, chunk: AudioChunk) -> list[SegmentEvent | Utterance | SpeechAudio]:
        audio = self.resample(chunk)
        self._parts.append(audio.samples)
        self._unsent = audio.samples if self.live and self.segmenter.in_speech else None
        out: list[SegmentEvent | Utterance | SpeechAudio] = []
        for decision in self.vad.process(audio):
            out += self._handle(self.segmenter.push(decision.ms, decision.speech))
        if self._unsent is not None and self.segmenter.in_speech:
            out.append(SpeechAudio(self._unsent))
        self._unsent = None
        if not self.segmenter.in_speech:
            self._trim(self.segmenter.now_ms - self.preroll_ms - self.segmenter.config.start_ms)
        return out

    def flush(self) -> list[SegmentEvent | Utterance]:
        return self._handle(self.segmenter.flush())

    def end_at_pause(self, pause: SpeechPaused) -> list[SegmentEvent | Utterance]:
        """The turn is over at `pause` (if the caller has not spoken since): the utterance, cut there."""
        return self._handle(self.segmenter.end_at_pause(pause))

    def _handle(self, events: list[SegmentEvent]) -> list[SegmentEvent | Utterance | SpeechAudio]:
        out: list[SegmentEvent | Utterance | SpeechAudio] = []
        for event in events:
            if isinstance(event, SpeechEnded) and self._unsent is not None:
                out.append(SpeechAudio(self._unsent))  # the tail belongs to the closing utterance
                self._unsent = None
            out.append(event)
            if isinstance(event, SpeechStarted) and self.live:
                out.append(SpeechAudio(self._audio_from(event.at_ms - self.preroll_ms)))
                self._unsent = None  # already inside what was just sent
            if isinstance(event, SpeechEnded):
                out.append(self._cut(event))
            if isinstance(event, SpeechPaused):
                cut = self._cut(SpeechEnded(event.start_ms, event.end_ms, "early"))
                out.append(PauseAudio(event, cut.audio))
        return out

    def _audio_from(self, start_ms: int) -> np.ndarray:
        start = max(0, start_ms * SAMPLES_PER_MS - self._buffer_start)
        return np.concatenate(self._parts)[start:] if self._parts else np.zeros(0, dtype=np.int16)

    def _cut(self, ended: SpeechEnded) -> Utterance:
        start = max(0, (ended.start_ms - self.preroll_ms) * SAMPLES_PER_MS - self._buffer_start)
        end = max(start, ended.end_ms * SAMPLES_PER_MS - self._buffer_start)
        samples = np.concatenate(self._parts)[start:end] if self._parts else np.zeros(0, dtype=np.int16)
        return Utterance(ended.start_ms, ended.end_ms, ended.reason, samples.astype(np.float32) / 32768.0)

    def _trim(self, keep_from_ms: int) -> None:
        """Drop whole chunks that end before keep_from_ms (no copying)."""
        keep_from = keep_from_ms * SAMPLES_PER_MS
        while self._parts and self._buffer_start + len(self._parts[0]) <= keep_from:
            self._buffer_start += len(self._parts.pop(0))


__all__ = ["NoInput", "PauseAudio", "SpeechAudio", "SpeechEnded", "SpeechPaused", "SpeechStarted", "Utterance",
           "UtteranceCutter"]
