"""Decode slots go to the waiting decode with the least audio first; cancelled waiters are skipped."""

import asyncio

import pytest
from warmline.speech.stt.slots import ShortestFirst


async def granted_order(sizes, cancel=()):
    slots = ShortestFirst(1)
    await slots.acquire(0)  # the one worker is busy
    order = []

    async def wait(i, size):
        await slots.acquire(size)
        order.append(i)
        slots.release()

    tasks = [asyncio.create_task(wait(i, size)) for i, size in enumerate(sizes)]
    await asyncio.sleep(0)
    for i in cancel:
        tasks[i].cancel()
    slots.release()
    await asyncio.gather(*tasks, return_exceptions=True)
    return order, slots


@pytest.mark.parametrize("sizes,cancel,expected", [
    ([8.0, 1.0, 3.0], (), [1, 2, 0]),  # shortest first
    ([1.0, 1.0, 1.0], (), [0, 1, 2]),  # ties in arrival order
    ([8.0, 1.0, 3.0], (1,), [2, 0]),  # a cancelled waiter gives its turn away
    ([], (), []),
])
async def test_shortest_first(sizes, cancel, expected):
    order, slots = await granted_order(sizes, cancel)
    assert order == expected
    assert not slots.locked()  # every slot came back


async def test_a_free_slot_is_taken_at_once_and_counted():
    slots = ShortestFirst(2)
    await slots.acquire(5)
    assert not slots.locked()
    await slots.acquire(5)
    assert slots.locked()
    slots.release()
    assert not slots.locked()
