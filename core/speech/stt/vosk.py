"""Vosk (Kaldi) streaming recognition over a model folder the admin configures.

No English Vosk model ships in a Python package: admins download one from
https://alphacephei.com/vosk/models (for telephone audio pick an 8 kHz-capable model such as
vosk-model-small-en-us or a "-tel" variant; a 16 kHz model hears 8 kHz calls upsampled and loses
accuracy). The model's own `conf/mfcc.conf` says which rate it takes; Warmline resamples to it.
Audio is fed while the caller speaks, so the text is ready as soon as the utterance ends.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from warmline.speech.stt import SttError

REQUIRED = ("am/final.mdl", "conf/mfcc.conf")
GRAPHS = ("graph/HCLG.fst", "graph/HCLr.fst")
KALDI_DEFAULT_RATE = 16000  # Kaldi's --sample-frequency default when mfcc.conf is silent
DOWNLOADS = "https://alphacephei.com/vosk/models"


def model_rate(folder: Path) -> int:
    for line in (folder / "conf" / "mfcc.conf").read_text(errors="replace").splitlines():
        key, _, value = line.strip().partition("=")
        if key == "--sample-frequency":
            try:
                return int(float(value))
            except ValueError:
                raise SttError(f"{folder}/conf/mfcc.conf: --sample-frequency={value!r} is not a number") from None
    return KALDI_DEFAULT_RATE


def check_model_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise SttError(f"Vosk model folder {folder} does not exist: download a model from {DOWNLOADS} "
                       "and set stt.model_path to the unpacked folder")
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in GRAPHS):
        missing.append(" or ".join(GRAPHS))
    if missing:
        raise SttError(f"{folder} is not a Vosk model folder (lacks {', '.join(missing)}): "
                       f"set stt.model_path to the unpacked folder of a model from {DOWNLOADS}")


class VoskStream:
    """One utterance being recognised; `accept` and `finish` block, so run them off the loop."""

    def __init__(self, recognizer) -> None:
        self._recognizer = recognizer
        self._final: list[str] = []

    def accept(self, audio: np.ndarray) -> str:
        """Feed float32 audio; returns the text so far (final segments plus the live partial)."""
        pcm = (np.clip(audio, -1.0, 32767 / 32768) * 32768).astype("<i2").tobytes()
        if self._recognizer.AcceptWaveform(pcm):  # Kaldi's endpointer closed a segment
            self._final.append(json.loads(self._recognizer.Result()).get("text", ""))
            partial = ""
        else:
            partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return " ".join(t for t in [*self._final, partial] if t)

    def finish(self) -> str:
        self._final.append(json.loads(self._recognizer.FinalResult()).get("text", ""))
        return " ".join(t for t in self._final if t)


class VoskEngine:
    name = "vosk"
    streaming = True

    def __init__(self, model_path: str | Path | None = None, workers: int = 1, **_ignored: object) -> None:
        if not model_path:
            raise SttError(f"the vosk engine needs stt.model_path: no Vosk model ships with Warmline; "
                           f"download one from {DOWNLOADS} (8 kHz-capable for phone audio)")
        import vosk

        self.path = Path(model_path)
        check_model_folder(self.path)
        self.sample_rates = (model_rate(self.path),)
        vosk.SetLogLevel(-1)  # Kaldi logs to stderr otherwise, one line per utterance
        started = time.perf_counter()
        try:
            self.model = vosk.Model(str(self.path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise SttError(f"cannot load the Vosk model in {self.path}: {exc}; the folder may be corrupt, "
                           f"unpack it again from {DOWNLOADS}") from None
        self.load_seconds = time.perf_counter() - started
        self._recognizer_class = vosk.KaldiRecognizer

    def open_stream(self, rate: int) -> VoskStream:
        if rate not in self.sample_rates:
            raise SttError(f"this Vosk model takes {self.sample_rates[0]} Hz audio, got {rate} Hz: resample at the edge")
        return VoskStream(self._recognizer_class(self.model, rate))

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        stream = self.open_stream(rate)
        stream.accept(audio)
        return stream.finish()

    def describe(self) -> str:
        return (f"vosk model {self.path} ({self.sample_rates[0]} Hz) loaded in {self.load_seconds:.1f} s")
