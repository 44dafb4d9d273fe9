"""Waiting on several things at once, without leaking the waits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

Waitable = asyncio.Task | asyncio.Event


async def first_done(*items: Waitable, timeout: float | None = None,
                     cancel_rest: bool = True) -> Waitable | None:
    """The first of these tasks or events to finish (in the order given when several are); None on timeout.

    Events are waited on through tasks of this helper's own, always cancelled and awaited. Tasks
    that did not finish are cancelled and awaited too, unless `cancel_rest=False` leaves them
    running for their owner.
    """
    waits = {asyncio.create_task(item.wait(), name=f"wait-{id(item):x}"): item
             for item in items if isinstance(item, asyncio.Event)}
    watched = waits | {item: item for item in items if isinstance(item, asyncio.Task)}
    try:
        done, _ = await asyncio.wait(watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return next((item for item in items if _finished(item, done, watched)), None)
    finally:
        await cancel_all(waits)
        if cancel_rest:
            await cancel_all(t for t in watched if isinstance(watched[t], asyncio.Task))


async def cancel_all(tasks: Iterable[asyncio.Task]) -> None:
    """Cancel these tasks and wait until each has finished (their errors are theirs, not ours)."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _finished(item: Waitable, done: set[asyncio.Task], watched: dict[asyncio.Task, Waitable]) -> bool:
    if isinstance(item, asyncio.Event):
        return item.is_set()
    return item in done


class OwnedTasks:
    """Named tasks one owner starts and must not leave behind: each is forgotten when it ends,
    and `cancel()` cancels and awaits whatever is still running."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def start(self, coro, name: str) -> asyncio.Task:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __bool__(self) -> bool:
        return bool(self._tasks)

    async def wait(self) -> None:
        """Until every task running now has finished (their errors are raised)."""
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def cancel(self) -> None:
        await cancel_all(list(self._tasks))
