"""Whisper's window on live call audio: the full 30 s window against fitted ones, offline.

    .venv/bin/python bench/capacity_bench.py --n 8 --keep-utterances /tmp/utt     # record live turns
    .venv/bin/python bench/stt_windows.py /tmp/utt [--windows 30s,10,15,20]

The capacity bench's serving process keeps every utterance Whisper was given on the sandbox
(the demo's flite callers, over Asterisk, cut by Warmline's VAD: audio as a live call delivers
it). Each is decoded again here with every window ("30s", or a fitted window of at least N
seconds) and scored against the demo script's line it is nearest to (the script is what the
caller said). Reports WER, first words missed and the median decode time per window, then every
utterance on which the windows disagree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jiwer  # noqa: E402
import numpy as np  # noqa: E402

NORMAL = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(), jiwer.Strip()])


def said_lines() -> list[str]:
    from warmline.ari_app.demo import CALLERS

    return sorted({text for _, script in CALLERS for _, text in script if not text.startswith("keys:")})


def nearest(lines: list[str], heard: str) -> str:
    return min(lines, key=lambda line: jiwer.wer(NORMAL(line) or "-", NORMAL(heard) or "-"))


def engine(window: str):
    from warmline.speech.stt.whisper import WhisperEngine

    return WhisperEngine(window="30s") if window == "30s" else WhisperEngine(window="fit", fit_min_s=float(window))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--windows", default="30s,10,15,20")
    args = parser.parse_args()
    windows = args.windows.split(",")
    kept = [json.loads(line) for line in open(args.folder / "texts.jsonl")]
    lines = said_lines()
    refs = [nearest(lines, row["text"]) for row in kept]  # heard live with the window then configured
    heard: dict[str, list[str]] = {}
    for window in windows:
        whisper, texts, took = engine(window), [], []
        for row in kept:
            audio = np.load(args.folder / row["file"])
            started = time.perf_counter()
            texts.append(whisper.transcribe(audio, row["rate"]))
            took.append(time.perf_counter() - started)
        heard[window] = texts
        wer = jiwer.wer([NORMAL(r) for r in refs], [NORMAL(t) or "-" for t in texts])
        first = sum(NORMAL(t).split()[:1] != NORMAL(r).split()[:1] for t, r in zip(texts, refs))
        print(f"{window:>4}: WER {wer:6.1%}  first word missed {first}/{len(refs)}  "
              f"decode median {statistics.median(took) * 1000:.0f} ms")
    for i, ref in enumerate(refs):
        texts = [heard[w][i] for w in windows]
        if len({NORMAL(t) for t in texts}) > 1:
            print(f"said {ref!r}: " + " | ".join(f"{w}: {t!r}" for w, t in zip(windows, texts)))


if __name__ == "__main__":
    main()
