"""A bounded pool that runs blocking decodes off the event loop, shared by every call.

Workers default to the number of cores. When every worker is busy, up to `max_queue` decodes
wait; past that `transcribe` raises SttBusy at once (the caller's turn goes to a person rather
than waiting without bound) and the rejection is counted.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import SttEngine, SttError, Transcript


class SttBusy(SttError):
    """Every worker is busy and the queue is full."""


@dataclass
class PoolMetrics:
    decoded: int = 0
    failed: int = 0
    rejected: int = 0
    waiting: int = 0  # queued now, not yet decoding
    busy: int = 0  # decoding now
    audio_seconds: float = 0.0
    decode_seconds: float = 0.0

    @property
    def real_time_factor(self) -> float:
        return self.decode_seconds / self.audio_seconds if self.audio_seconds else 0.0


class SttPool:
    def __init__(self, engine: SttEngine, workers: int | None = None, max_queue: int = 16) -> None:
        self.engine = engine
        self.workers = workers or os.cpu_count() or 1
        self.max_queue = max_queue
        self.metrics = PoolMetrics()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix=f"stt-{engine.name}")
        self._slots = asyncio.Semaphore(self.workers)

    async def transcribe(self, audio: np.ndarray, rate: int) -> Transcript:
        if self._slots.locked() and self.metrics.waiting >= self.max_queue:
            self.metrics.rejected += 1
            raise SttBusy(f"speech decoding is saturated ({self.workers} busy, {self.metrics.waiting} queued)")
        self.metrics.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.metrics.waiting -= 1
        self.metrics.busy += 1
        started = time.perf_counter()
        try:
            text = await asyncio.get_running_loop().run_in_executor(self._executor, self.engine.transcribe, audio, rate)
        except Exception as exc:
            self.metrics.failed += 1
            raise SttError(f"{self.engine.name} failed to decode: {exc}") from exc
        finally:
            self.metrics.busy -= 1
            self._slots.release()
        elapsed = time.perf_counter() - started
        seconds = len(audio) / rate
        self.metrics.decoded += 1
        self.metrics.audio_seconds += seconds
        self.metrics.decode_seconds += elapsed
        return Transcript(text, seconds, elapsed, self.engine.name)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
