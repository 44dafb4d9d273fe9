"""Giving memory that calls freed back to the system (glibc's malloc_trim).

A call allocates and frees a few MB in native code (ONNX Runtime for the VAD, CTranslate2 for
Whisper, numpy buffers for audio and features, with sizes that change with each utterance).
glibc keeps freed memory inside its heaps, and with the sizes always changing the heaps keep
growing: the soak (bench/soak.py) measured 10-14 MB of RSS per 100 calls while the memory in use
(mallinfo2) and Python's own objects stayed flat. Two remedies, both in `warmline serve`:
`limit_arenas` caps glibc's per-thread arenas at 2 (each arena keeps its own free memory; the
STT workers, ONNX Runtime and the event store's writer each got one), and `MemoryReleaser`, a
journal listener, calls `malloc_trim(0)` off the event loop when a call ends (at most once per
`min_interval_s`), which hands the free pages back. Elsewhere than glibc (musl, macOS) both do
nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import time
from collections.abc import Callable

from warmline.calls.events import CallEnded, CallEvent

log = logging.getLogger(__name__)


def _glibc():
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
        return libc
    except (ValueError, OSError, AttributeError):
        return None


_LIBC = _glibc()


M_ARENA_MAX = -8  # glibc's mallopt parameter, as MALLOC_ARENA_MAX in the environment
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap malloc's arenas (call before threads start); an explicit MALLOC_ARENA_MAX wins.
    True if the cap was set here."""
    if _LIBC is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(_LIBC.mallopt(M_ARENA_MAX, count))


def release_free_memory() -> bool:
    """Return malloc's free pages to the system; True if any were (False off glibc too).
    ctypes drops the GIL for the call; it takes a few ms with Warmline's heaps."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))


class MemoryReleaser:
    """A journal listener: when a call ends, malloc_trim in the default executor (never on the
    event loop), at most once per `min_interval_s`."""

    def __init__(self, min_interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 release: Callable[[], bool] = release_free_memory) -> None:
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._release = release
        self._last: float | None = None
        self._running = False
        self.releases = 0
        self.seconds = 0.0  # spent in malloc_trim, all releases

    def __call__(self, event: CallEvent) -> None:
        if not isinstance(event, CallEnded) or self._running:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self.min_interval_s:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._last, self._running = now, True
        loop.run_in_executor(None, self._timed).add_done_callback(self._done)

    def _timed(self) -> None:
        started = time.perf_counter()
        try:
            self._release()
        finally:
            self.seconds += time.perf_counter() - started
            self.releases += 1

    def _done(self, future: asyncio.Future) -> None:
        self._running = False
        if not future.cancelled() and future.exception() is not None:
            log.warning("releasing free memory failed: %s", future.exception())
