"""Offline speech synthesis with Debian's flite or espeak-ng, written as telephone-rate WAV.

Used to script callers in tests and the demo (and to render prompt text to sound files).
flite's "kal" voice is the default: Whisper tiny.en transcribes it far better than espeak-ng's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr
from warmline.errors import WarmlineError

VOICES = {"flite": "kal", "espeak-ng": "en-us"}


class TtsError(WarmlineError):
    """The offline voice is missing or failed."""


SILENCE_LEVEL = 180  # |sample| at or below this (about -45 dBFS) is silence
KEEP_MS = 20  # of silence kept at each end, so the first consonant is not clipped


def trim_silence(samples: np.ndarray, rate: int) -> np.ndarray:
    """Leading and trailing silence cut: a prompt starts with sound. flite leads with 0.2-0.35 s of
    silence, which a caller hears as Warmline being slow to answer."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_LEVEL)
    if loud.size == 0:
        return samples
    keep = rate * KEEP_MS // 1000
    return samples[max(0, loud[0] - keep): min(len(samples), loud[-1] + 1 + keep)]


def synthesize(text: str, dest: Path, rate: int = 8000, engine: str = "flite", voice: str | None = None) -> Path:
    if engine not in VOICES:
        raise TtsError(f"unknown TTS engine {engine!r}: use one of {', '.join(VOICES)}")
    if shutil.which(engine) is None:
        raise TtsError(f"{engine} is not installed: apt-get install {engine}")
    voice = voice or VOICES[engine]
    with tempfile.TemporaryDirectory(prefix="warmline-tts-") as tmp:
        raw = Path(tmp) / "raw.wav"
        cmd = (["flite", "-voice", voice, "-t", text, "-o", str(raw)] if engine == "flite"
               else ["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text])
        done = subprocess.run(cmd, capture_output=True, timeout=60)
        if done.returncode != 0 or not raw.exists():
            raise TtsError(f"{engine} failed: {done.stderr.decode(errors='replace').strip() or 'no audio'}")
        with wave.open(str(raw)) as wav:
            source_rate = wav.getframerate()
            samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    out = soxr.resample(samples, source_rate, rate).astype("<i2") if source_rate != rate else samples
    out = trim_silence(out, rate)
    with wave.open(str(dest), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(out.tobytes())
    return Path(dest)
