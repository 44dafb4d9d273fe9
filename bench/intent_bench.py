"""Intent scoring cost: p50/p99 latency of one utterance (features + ONNX + policy) on one
thread, the same with entities and sentiment (the full `classify` path), and model size.

Run: .venv/bin/python bench/intent_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from warmline.nlu.classify import Classifier, default_model_dir  # noqa: E402
from warmline.nlu.data import read_eval  # noqa: E402
from warmline.nlu.policy import NluSettings  # noqa: E402

from bench.common import machine  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def percentiles(fn, texts: list[str]) -> tuple[float, float]:
    for text in texts[:50]:
        fn(text)  # warm up
    times = []
    for text in texts:
        started = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 99) * 1000)


def main() -> None:
    print(f"machine: {machine()}")
    classifier = Classifier(NluSettings())
    texts = [r.text for name in ("phone", "chat") for r in read_eval(REPO / f"models/intents/eval/{name}.tsv")] * 3
    model = classifier.model
    size = sum(f.stat().st_size for f in default_model_dir().iterdir()) / 1e6
    print(f"model: {model.describe()}, {size:.1f} MB on disk\n")
    print("| path | p50 | p99 |\n|---|---|---|")
    for name, fn in (("intent score + policy", lambda t: classifier.policy.decide(model.score(t))),
                     ("full classify (+ entities, sentiment)", classifier.classify)):
        p50, p99 = percentiles(fn, texts)
        print(f"| {name} | {p50:.2f} ms | {p99:.2f} ms |")


if __name__ == "__main__":
    main()
