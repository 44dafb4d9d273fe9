"""Voice activity: two engines behind one interface, and a sans-IO segmenter.

Engines turn 16 kHz audio into timed speech/non-speech decisions; the segmenter turns those
decisions into utterance boundaries. The segmenter never reads a clock: time is the sum of the
decision durations it is fed, so it is tested with tables.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from warmline.errors import AudioFormatError, WarmlineError
from warmline.speech.audio import SLIN16, AudioChunk


class VadError(WarmlineError):
    """The VAD model is missing or failed."""


@dataclass(frozen=True, slots=True)
class VadDecision:
    ms: int  # how much audio this decision covers
    speech: bool
    probability: float


class VadStream(Protocol):
    """Per-call VAD state; decisions come out in order, covering all audio fed in."""

    def process(self, chunk: AudioChunk) -> list[VadDecision]: ...


class _Framer:
    """Cuts a 16 kHz stream into fixed windows, carrying the remainder between chunks."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._pending = np.zeros(0, dtype=np.int16)

    def windows(self, chunk: AudioChunk) -> list[np.ndarray]:
        if chunk.format != SLIN16:
            raise AudioFormatError(f"VAD takes {SLIN16}, got {chunk.format}: resample at the edge")
        data = np.concatenate([self._pending, chunk.samples])
        count = len(data) // self.window
        self._pending = data[count * self.window:]
        return [data[i * self.window:(i + 1) * self.window] for i in range(count)]


# --- WebRTC VAD ---------------------------------------------------------------------------------


class WebRtcVad:
    """Google's WebRTC GMM VAD: microseconds per frame, but hears much noise as speech."""

    name = "webrtc"

    def __init__(self, aggressiveness: int = 3) -> None:
        import webrtcvad

        self._vad_cls = webrtcvad.Vad
        self.aggressiveness = aggressiveness

    def stream(self) -> "WebRtcVadStream":
        return WebRtcVadStream(self._vad_cls(self.aggressiveness))


class WebRtcVadStream:
    FRAME = 320  # 20 ms at 16 kHz

    def __init__(self, vad) -> None:
        self._vad = vad
        self._framer = _Framer(self.FRAME)

    def process(self, chunk: AudioChunk) -> list[VadDecision]:
        out = []
        for frame in self._framer.windows(chunk):
            speech = self._vad.is_speech(frame.astype("<i2").tobytes(), 16000)
            out.append(VadDecision(20, speech, 1.0 if speech else 0.0))
        return out


# --- Silero VAD (ONNX, no torch) -----------------------------------------------------------------


def silero_model_path() -> Path:
    """The ONNX model inside the silero-vad wheel, found without importing it (that would need torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VadError("the silero-vad package is not installed: run `pip install --no-deps silero-vad`")
    path = Path(spec.submodule_search_locations[0]) / "data" / "silero_vad.onnx"
    if not path.exists():
        raise VadError(f"silero-vad is installed but {path} is missing: reinstall it (pip install --no-deps --force-reinstall silero-vad)")
    return path


class SileroVad:
    """Silero VAD v5+ run by onnxruntime: one session per process, state per call."""

    name = "silero"
    WINDOW = 512  # 32 ms at 16 kHz, as the model was trained
    CONTEXT = 64

    def __init__(self, threshold: float = 0.5, model_path: Path | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # many small calls: threads cost more than they save
        options.inter_op_num_threads = 1
        path = model_path or silero_model_path()
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise VadError(f"cannot load the Silero VAD model {path}: {exc}") from None
        self.threshold = threshold

    def stream(self) -> "SileroVadStream":
        return SileroVadStream(self)


class SileroVadStream:
    def __init__(self, model: SileroVad) -> None:
        self.model = model
        self._framer = _Framer(SileroVad.WINDOW)
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, SileroVad.CONTEXT), dtype=np.float32)
        self._sr = np.array(16000, dtype=np.int64)

    def process(self, chunk: AudioChunk) -> list[VadDecision]:
        out = []
        for window in self._framer.windows(chunk):
            x = np.concatenate([self._context, window.astype(np.float32)[None, :] / 32768.0], axis=1)
            prob, self._state = self.model.session.run(None, {"input": x, "state": self._state, "sr": self._sr})
            self._context = x[:, -SileroVad.CONTEXT:]
            p = float(prob[0][0])
            out.append(VadDecision(32, p >= self.model.threshold, p))
        return out


# --- segmenter ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmenterConfig:
    start_ms: int = 60  # continuous speech that opens an utterance
    hangover_ms: int = 700  # continuous silence that closes it
    max_utterance_ms: int = 20000  # a monologue is cut here and decoded
    no_input_ms: int = 8000  # silence after arming before NoInput fires
    pause_ms: int = 300  # silence after which what was said may already be a whole turn (0: never)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_ms: int


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    start_ms: int
    end_ms: int
    reason: str  # "silence" | "max_length" | "flush"


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """The caller has been silent for pause_ms: the turn may be over (see Segmenter.end_at_pause)."""

    start_ms: int
    end_ms: int  # where the speech stopped


@dataclass(frozen=True, slots=True)
class NoInput:
    at_ms: int


SegmentEvent = SpeechStarted | SpeechEnded | SpeechPaused | NoInput


class Segmenter:
    def __init__(self, config: SegmenterConfig = SegmenterConfig()) -> None:
        self.config = config
        self.now_ms = 0
        self.in_speech = False
        self._run_ms = 0  # speech run while idle, silence run while in speech
        self._start_ms = 0
        self._armed_at: int | None = 0

    def arm_no_input(self) -> None:
        """Start the no-input timer (e.g. when a prompt finishes)."""
        self._armed_at = self.now_ms

    def disarm_no_input(self) -> None:
        """Stop the no-input timer (while Warmline speaks: silence then is the caller listening)."""
        self._armed_at = None

    def reset_no_input(self) -> None:
        """The caller did something (a key): a running timer starts its period again."""
        if self._armed_at is not None:
            self._armed_at = self.now_ms

    def push(self, ms: int, speech: bool) -> list[SegmentEvent]:
        self.now_ms += ms
        if self.in_speech:
            return self._in_speech(speech, ms)
        return self._idle(speech, ms)

    def end_at_pause(self, pause: SpeechPaused) -> list[SegmentEvent]:
        """Close the utterance where `pause` says the speech stopped, if the caller is still
        silent since then (the words so far made a whole turn); otherwise nothing."""
        if not self.in_speech or self.now_ms - self._run_ms != pause.end_ms or self._run_ms < self.config.pause_ms:
            return []
        return self._close(pause.end_ms, "early")

    def flush(self) -> list[SegmentEvent]:
        """End of audio: close an open utterance."""
        if not self.in_speech:
            return []
        self.in_speech = False
        return [SpeechEnded(self._start_ms, self.now_ms, "flush")]

    def _idle(self, speech: bool, ms: int) -> list[SegmentEvent]:
        if speech:
            self._run_ms += ms
            if self._run_ms >= self.config.start_ms:
                self.in_speech = True
                self._start_ms = self.now_ms - self._run_ms
                self._run_ms = 0
                self._armed_at = None
                return [SpeechStarted(self._start_ms)]
            return []
        self._run_ms = 0
        if self._armed_at is not None and self.now_ms - self._armed_at >= self.config.no_input_ms:
            self._armed_at = self.now_ms  # fires again after another full period
            return [NoInput(self.now_ms)]
        return []

    def _in_speech(self, speech: bool, ms: int) -> list[SegmentEvent]:
        self._run_ms = 0 if speech else self._run_ms + ms
        if self._run_ms >= self.config.hangover_ms:
            return self._close(self.now_ms - self._run_ms, "silence")
        if self.config.pause_ms and self._run_ms - ms < self.config.pause_ms <= self._run_ms:
            return [SpeechPaused(self._start_ms, self.now_ms - self._run_ms)]
        if self.now_ms - self._start_ms >= self.config.max_utterance_ms:
            return self._close(self.now_ms, "max_length")
        return []

    def _close(self, end_ms: int, reason: str) -> list[SegmentEvent]:
        self.in_speech = False
        self._run_ms = 0
        self._armed_at = self.now_ms
        return [SpeechEnded(self._start_ms, end_ms, reason)]
