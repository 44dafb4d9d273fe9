"""MemoryReleaser: malloc_trim after calls end, off the event loop, at most once per interval."""

from __future__ import annotations

import asyncio
import threading

from warmline.calls.events import CallEnded, EndReason, PromptStarted
import warmline.memory as memory
from warmline.memory import MemoryReleaser, limit_arenas, release_free_memory


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0.01)


async def test_a_call_end_releases_in_the_executor_at_most_once_per_interval():
    clock, threads = Clock(), []

    def release() -> bool:
        threads.append(threading.current_thread())
        return True

    releaser = MemoryReleaser(10.0, clock=clock, release=release)
    ended = CallEnded(call_id="c1", reason=EndReason.CALLER_HANGUP)
    releaser(PromptStarted(call_id="c1", prompt="greeting"))  # not a call end
    await _settle()
    assert threads == []
    releaser(ended)
    await _settle()
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    clock.now += 5
    releaser(ended)  # too soon
    await _settle()
    assert releaser.releases == 1
    clock.now += 6
    releaser(ended)
    await _settle()
    assert releaser.releases == 2 and releaser.seconds >= 0


def test_outside_a_loop_it_does_nothing():
    releaser = MemoryReleaser(0.0, release=lambda: True)
    releaser(CallEnded(call_id="c1", reason=EndReason.CALLER_HANGUP))
    assert releaser.releases == 0


def test_the_real_release_runs():
    assert release_free_memory() in (True, False)  # glibc: trims; elsewhere: a no-op


def test_an_explicit_malloc_arena_max_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert limit_arenas() is (memory._LIBC is not None)  # glibc: capped at 2; elsewhere: nothing to do
