"""Shared audio sets for the benchmarks: synthetic caller speech and realistic negatives."""

from __future__ import annotations

import platform
import tempfile
import wave
from pathlib import Path

import numpy as np
import soxr
from warmline.speech.tts import synthesize

SENTENCES = [
    "Hi, I am calling about my car insurance bill.",
    "I need a copy of my insurance card.",
    "Can I speak to a real person, please?",
    "I would like to update my mailing address.",
    "When is my next payment due?",
    "My policy number is four five seven one two.",
    "I want to check on the status of my claim.",
    "What are your office hours on Saturday?",
]
VOICES = [("flite", "kal"), ("flite", "awb"), ("flite", "slt"), ("espeak-ng", "en-us")]
MOH_DIRS = [Path("/var/cache/warmline/sandbox/rootfs/usr/share/asterisk/moh")]


def machine() -> str:
    import os

    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def read16k(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        if wav.getnchannels() > 1:
            data = data.reshape(-1, wav.getnchannels())[:, 0]
    return soxr.resample(data, rate, 16000).astype(np.int16) if rate != 16000 else data


def speech_clips(rate: int = 8000) -> list[tuple[str, np.ndarray]]:
    """(text, 16 kHz int16 audio that went through `rate` — telephone band when 8000)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine, voice in VOICES:
            for i, text in enumerate(SENTENCES):
                path = synthesize(text, Path(tmp) / f"{voice}{i}.wav", rate=rate, engine=engine, voice=voice)
                out.append((text, read16k(path)))
    return out


def negatives(seconds: float = 20.0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    sets = {
        "silence": np.zeros(n, dtype=np.int16),
        "line noise -40 dBFS": rng.normal(0, 330, n).astype(np.int16),
        "line noise -25 dBFS": rng.normal(0, 1840, n).astype(np.int16),
        "hum 60 Hz + hiss": (3000 * np.sin(2 * np.pi * 60 * t) + rng.normal(0, 300, n)).astype(np.int16),
        "DTMF digits": np.where((t % 0.2) < 0.1, 6000 * (np.sin(2 * np.pi * 770 * t) + np.sin(2 * np.pi * 1336 * t)), 0).astype(np.int16),
    }
    moh = [p for d in MOH_DIRS if d.exists() for p in sorted(d.glob("*.wav"))]
    if moh:
        music = np.concatenate([read16k(p)[: 16000 * 30] for p in moh])
        sets["hold music (Asterisk opsound)"] = music
    return sets
