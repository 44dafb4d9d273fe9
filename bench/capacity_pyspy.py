"""Where the Warmline process spends its samples, from `capacity_bench.py --profile N` (py-spy raw
stacks, --threads, idle samples excluded): per thread, then per stage by the frames in the stack.

    .venv/bin/python bench/capacity_pyspy.py bench/results/pyspy-n16.txt [seconds_recorded]
"""

from __future__ import annotations

import sys
from collections import Counter

# first matching rule wins (checked from the leaf up, so the innermost known frame names the stage)
STAGES = [
    ("whisper: encoder (30 s window)", ("WhisperModel.encode",)),
    ("whisper: decoder (generate)", ("WhisperModel.generate_with_fallback", "generate_with_fallback")),
    ("whisper: mel features", ("FeatureExtractor", "feature_extractor")),
    ("whisper: other", ("WhisperModel.", "WhisperEngine.transcribe", "generate_segments")),
    ("VAD (Silero ONNX)", ("SileroVadStream.process",)),
    ("resample", ("Resampler.__call__",)),
    ("segmenter/cutter", ("UtteranceCutter", "Segmenter.")),
    ("event store (SQLite)", ("EventStore.record",)),
    ("bench: event pipe", ("forward (bench", "_out (bench")),
    ("classify / NLU", ("Classifier.", "warmline/nlu", "core/nlu")),
    ("dialogue / CRM", ("core/dialog", "core/crm", "Conversation", "Dialogue")),
    ("media websocket read", ("WebSocketLeg._read", "ClientWebSocketResponse", "WebSocketReader")),
    ("ARI REST / events", ("AriClient", "StasisApp", "ari_app/")),
    ("idle in epoll (not CPU)", ("EpollSelector.select",)),
    ("asyncio / other", ("",)),
]


def stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in STAGES[:-1]:
            if any(n in frame for n in needles):
                return name
    return STAGES[-1][0]


def main() -> None:
    path = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else None
    by_thread: Counter = Counter()
    by_stage: dict[str, Counter] = {}
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        frames = stack.split(";")
        thread = frames[0].split(": ", 1)[-1]
        thread = "stt workers" if thread.startswith("stt-") else thread
        n = int(count)
        by_thread[thread] += n
        by_stage.setdefault(thread, Counter())[stage_of(frames[1:])] += n
    total = sum(by_thread.values())
    print(f"{path}: {total} busy samples" + (f" in {seconds:.0f} s" if seconds else ""))
    for thread, n in by_thread.most_common():
        print(f"  {thread}: {n} samples ({n / total:.0%} of busy samples)")
        for stage, m in by_stage[thread].most_common():
            print(f"      {m / n:6.1%}  {stage}")


if __name__ == "__main__":
    main()
