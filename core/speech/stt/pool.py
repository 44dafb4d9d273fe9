"""A bounded pool that runs blocking decodes off the event loop, shared by every call.

Workers default to the number of cores. When every worker is busy, up to `max_queue` jobs
wait; past that the call raises SttBusy at once (the caller's turn goes to a person rather
than waiting without bound) and the rejection is counted. Every engine call has a deadline
(`decode_timeout_s`): past it the call raises SttTimeout and the stuck worker is replaced.

The pool takes 16 kHz audio (what the VAD path produces) and resamples at its edge when the
engine's model wants another rate.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import soxr
from warmline.speech.stt import SttEngine, SttError, SttStream, Transcript
from warmline.speech.stt.workers import DecodeTimeout, Workers

INPUT_RATE = 16000
T = TypeVar("T")


class SttBusy(SttError):
    """Every worker is busy and the queue is full."""


class SttTimeout(SttError):
    """The engine did not answer within the deadline."""


@dataclass
class PoolMetrics:
    decoded: int = 0
    failed: int = 0
    rejected: int = 0
    timed_out: int = 0
    waiting: int = 0  # queued now, not yet running
    busy: int = 0  # running now
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        return self.decode_seconds / self.audio_seconds if self.audio_seconds else 0.0


class SttPool:
    def __init__(self, engine: SttEngine, workers: int | None = None, max_queue: int = 16,
                 decode_timeout_s: float | None = 6.0) -> None:
        self.engine = engine
        self.workers = workers or os.cpu_count() or 1
        self.max_queue = max_queue
        self.decode_timeout_s = decode_timeout_s
        self.metrics = PoolMetrics()
        self.rate = INPUT_RATE if INPUT_RATE in engine.sample_rates else engine.sample_rates[0]
        self._threads = Workers(self.workers, f"stt-{engine.name}")
        self._slots = asyncio.Semaphore(self.workers)

    async def transcribe(self, audio: np.ndarray, rate: int = INPUT_RATE) -> Transcript:
        """Decode one whole utterance (float32 mono)."""
        started = time.perf_counter()
        audio = self._to_engine_rate(audio, rate)
        text = await self.run(self.engine.transcribe, audio, self.rate)
        return self._record(text, len(audio) / self.rate, time.perf_counter() - started)

    @property
    def has_idle_worker(self) -> bool:
        """A decode started now would run at once (nobody waits for a worker)."""
        return not self._slots.locked() and self.metrics.waiting == 0

    def open_stream(self) -> "LiveDecode":
        """Feed an utterance while it is spoken (streaming engines); finish() returns its text."""
        if not self.engine.streaming:
            raise SttError(f"{self.engine.name} does not stream; decode whole utterances with transcribe()")
        return LiveDecode(self)

    async def run(self, job: Callable[..., T], *args: object) -> T:
        """Run one blocking engine call in the pool, bounded as the module says."""
        if self._slots.locked() and self.metrics.waiting >= self.max_queue:
            self.metrics.rejected += 1
            raise SttBusy(f"speech decoding is saturated ({self.workers} busy, {self.metrics.waiting} queued)")
        self.metrics.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.metrics.waiting -= 1
        self.metrics.busy += 1
        try:
            return await self._threads.run(self.decode_timeout_s, job, *args)
        except DecodeTimeout as exc:
            self.metrics.timed_out += 1
            raise SttTimeout(f"{self.engine.name} did not answer: {exc}; the worker was replaced") from None
        except Exception as exc:
            self.metrics.failed += 1
            raise SttError(f"{self.engine.name} failed to decode: {exc}") from exc
        finally:
            self.metrics.busy -= 1
            self._slots.release()

    def _record(self, text: str, audio_seconds: float, elapsed: float) -> Transcript:
        self.metrics.decoded += 1
        self.metrics.audio_seconds += audio_seconds
        self.metrics.decode_seconds += elapsed
        return Transcript(text, audio_seconds, elapsed, self.engine.name)

    def _to_engine_rate(self, audio: np.ndarray, rate: int) -> np.ndarray:
        if rate == self.rate:
            return audio
        return soxr.resample(audio.astype(np.float32), rate, self.rate, quality="HQ")

    def close(self) -> None:
        self._threads.close()


class LiveDecode:
    """One streamed utterance: feed() never blocks the loop; audio goes to the engine in order."""

    def __init__(self, pool: SttPool) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        self._resample = (None if pool.rate == INPUT_RATE
                          else soxr.ResampleStream(INPUT_RATE, pool.rate, 1, dtype="float32", quality="HQ"))
        self._samples = 0
        self._busy_seconds = 0.0
        self.partial = ""
        self._task = asyncio.create_task(self._drive(), name=f"stt-live-{id(self):x}")

    def feed(self, audio16k: np.ndarray) -> None:
        self._queue.put_nowait(audio16k)

    async def finish(self) -> Transcript:
        self._queue.put_nowait(None)
        return await self._task

    def cancel(self) -> None:
        self._task.cancel()

    async def _drive(self) -> Transcript:
        stream: SttStream = await self._pool.run(self._pool.engine.open_stream, self._pool.rate)
        while (audio := await self._queue.get()) is not None:
            self.partial = await self._timed(stream.accept, self._convert(audio))
        if self._resample is not None:
            tail = self._resample.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            if len(tail):
                self._samples += len(tail)
                await self._timed(stream.accept, tail)
        text = await self._timed(stream.finish)
        return self._pool._record(text, self._samples / self._pool.rate, self._busy_seconds)

    async def _timed(self, job: Callable[..., T], *args: object) -> T:
        started = time.perf_counter()
        try:
            return await self._pool.run(job, *args)
        finally:
            self._busy_seconds += time.perf_counter() - started

    def _convert(self, audio16k: np.ndarray) -> np.ndarray:
        audio = audio16k.astype(np.float32) / 32768.0 if audio16k.dtype == np.int16 else audio16k
        if self._resample is not None:
            audio = self._resample.resample_chunk(audio)
        self._samples += len(audio)
        return audio
