"""Threads that run blocking decodes, each with a deadline; a worker stuck past it is replaced.

A Python thread cannot be killed, so a decoder that hangs keeps its thread. What matters for the
calls is that the pool keeps its capacity and that the process can still exit: the stuck thread
is abandoned (a daemon thread, so it never holds up shutdown) and a fresh one takes its place.
An abandoned thread whose job does finish (late, not hung: an overloaded box) retires instead of
taking more jobs, so the pool never grows past its size (the 1,000-call soak saw 6 → 12 threads).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

_STOP = object()


class DecodeTimeout(TimeoutError):
    """A job ran past its deadline; its worker was replaced."""


class Workers:
    def __init__(self, count: int, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._serial = 0
        self.replaced = 0
        self._threads: list[threading.Thread] = []
        for _ in range(count):
            self._spawn()

    def _spawn(self) -> None:
        self._serial += 1
        thread = threading.Thread(target=self._work, name=f"{self.name}-{self._serial}", daemon=True)
        self._threads.append(thread)
        thread.start()

    @property
    def alive(self) -> int:
        return sum(thread.is_alive() for thread in self._threads)

    async def run(self, deadline_s: float | None, job: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        abandoned = threading.Event()  # set when a replacement has taken this job's worker's place
        self._jobs.put((loop, future, job, args, abandoned))
        try:
            return await asyncio.wait_for(asyncio.shield(future), deadline_s)
        except TimeoutError:
            self.replaced += 1
            log.error("a %s decode ran past %.1f s: its worker is abandoned and replaced", self.name, deadline_s)
            abandoned.set()
            self._spawn()
            raise DecodeTimeout(f"decode ran past {deadline_s:.1f} s") from None

    def _work(self) -> None:
        while (item := self._jobs.get()) is not _STOP:
            loop, future, job, args, abandoned = item
            try:
                result = job(*args)
            except BaseException as exc:  # handed to the awaiting coroutine, which decides
                _settle(loop, future, exc=exc)
            else:
                _settle(loop, future, result=result)
            if abandoned.is_set():  # replaced while it ran: the replacement is the pool's worker now
                self._retire(threading.current_thread())
                return

    def _retire(self, thread: threading.Thread) -> None:
        try:
            self._threads.remove(thread)
        except ValueError:
            pass

    def close(self, grace_s: float = 2.0) -> None:
        """Stop the workers and wait for the healthy ones (a native library torn down under a
        running thread aborts the process); a stuck one is left behind after `grace_s`."""
        for _ in self._threads:
            self._jobs.put(_STOP)
        deadline = time.monotonic() + grace_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future, *, result: Any = None,
            exc: BaseException | None = None) -> None:
    def apply() -> None:
        if future.done():  # the caller gave up (deadline or hang-up)
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    try:
        loop.call_soon_threadsafe(apply)
    except RuntimeError:  # the loop closed while the decode ran
        pass
