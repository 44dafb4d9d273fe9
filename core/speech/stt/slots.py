"""Decode slots handed out shortest job first: when every worker is busy, the waiting decode with
the least audio runs next, so one caller's long monologue does not hold up others' short answers
("yes", a date). Ties go in arrival order."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class ShortestFirst:
    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()

    def locked(self) -> bool:
        return self._free == 0

    async def acquire(self, size: float) -> None:
        """Take a slot; `size` (seconds of audio) orders the waiters."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        granted = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (size, next(self._order), granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # handed a slot in the same moment it was cancelled: pass it on
            else:
                self._waiting = [w for w in self._waiting if w[2] is not granted]
                heapq.heapify(self._waiting)
            raise

    def release(self) -> None:
        while self._waiting:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():
                granted.set_result(None)  # the slot passes straight to the shortest waiter
                return
        self._free += 1
