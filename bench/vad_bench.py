"""VAD engines on caller speech vs. hold music, line noise, silence and DTMF.

Run: .venv/bin/python bench/vad_bench.py
Reports, per engine: speech recall (share of voiced 32 ms windows of telephone-band speech
flagged as speech), false-positive rate on each negative set, and CPU cost per second of audio.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from warmline.speech.audio import SLIN16, AudioChunk  # noqa: E402
from warmline.speech.vad import SileroVad, WebRtcVad  # noqa: E402

from bench.common import machine, negatives, speech_clips  # noqa: E402


def decisions(engine, audio: np.ndarray) -> tuple[list, float]:
    stream = engine.stream()
    started = time.process_time()
    out = []
    for i in range(0, len(audio) - 320 + 1, 320):
        out += stream.process(AudioChunk(SLIN16, audio[i:i + 320].astype("<i2").tobytes()))
    return out, time.process_time() - started


def flagged_share(found) -> float:
    total = sum(d.ms for d in found)
    return sum(d.ms for d in found if d.speech) / total if total else 0.0


def voiced_recall(engine, audio: np.ndarray) -> float:
    """Share of windows louder than -40 dBFS (the voiced part of the clip) called speech."""
    found, _ = decisions(engine, audio)
    hits = total = 0
    position = 0
    for d in found:
        window = audio[position:position + d.ms * 16].astype(np.float64)
        position += d.ms * 16
        if window.size and 20 * np.log10(np.sqrt(np.mean(window * window)) / 32768 + 1e-12) > -40:
            total += 1
            hits += d.speech
    return hits / total if total else 0.0


def main() -> None:
    engines = [SileroVad(0.5), WebRtcVad(3), WebRtcVad(1)]
    labels = ["silero (threshold 0.5)", "webrtc (aggressiveness 3)", "webrtc (aggressiveness 1)"]
    speech = speech_clips(8000)
    negative = negatives()
    print(f"machine: {machine()}")
    print(f"speech: {len(speech)} synthetic telephone-band utterances (flite kal/awb/slt, espeak-ng), 8 kHz → 16 kHz")
    header = ["engine", "speech recall"] + [f"FP {name}" for name in negative] + ["CPU µs / 20 ms"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for engine, label in zip(engines, labels, strict=True):
        recall = np.mean([voiced_recall(engine, audio) for _, audio in speech])
        row = [label, f"{recall:.1%}"]
        cpu = audio_s = 0.0
        for audio in negative.values():
            found, spent = decisions(engine, audio)
            cpu += spent
            audio_s += len(audio) / 16000
            row.append(f"{flagged_share(found):.1%}")
        row.append(f"{cpu / audio_s * 0.02 * 1e6:.0f}")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
