"""first_done: the first of several tasks or events, and nothing left running that should not be."""

import asyncio

import pytest
from warmline.tasks import cancel_all, first_done


async def sleeper(seconds, value=None):
    await asyncio.sleep(seconds)
    return value


@pytest.mark.parametrize("delays,first", [
    ((0.01, 1.0), 0),
    ((1.0, 0.01), 1),
    ((1.0, 1.0, 0.0), 2),
])
async def test_the_first_task_wins_and_the_rest_are_cancelled(delays, first):
    tasks = [asyncio.create_task(sleeper(d, i)) for i, d in enumerate(delays)]
    done = await first_done(*tasks)
    assert done is tasks[first] and done.result() == first
    assert all(t.done() for t in tasks)  # cancelled and awaited, not left pending
    assert [t.cancelled() for t in tasks] == [i != first for i in range(len(tasks))]


async def test_an_event_can_win_and_its_wait_is_cleaned_up():
    event = asyncio.Event()
    slow = asyncio.create_task(sleeper(1.0))
    asyncio.get_running_loop().call_later(0.01, event.set)
    before = asyncio.all_tasks()
    assert await first_done(slow, event) is event
    assert slow.cancelled()
    assert asyncio.all_tasks() - before == set()  # the helper's own wait task is gone


async def test_timeout_gives_none_and_cancels():
    slow = asyncio.create_task(sleeper(1.0))
    assert await first_done(slow, asyncio.Event(), timeout=0.01) is None
    assert slow.cancelled()


async def test_cancel_rest_false_leaves_tasks_to_their_owner():
    slow = asyncio.create_task(sleeper(0.05, "mine"))
    event = asyncio.Event()
    event.set()
    assert await first_done(slow, event, cancel_rest=False) is event
    assert not slow.done()
    assert await slow == "mine"


async def test_an_already_set_event_wins_at_once():
    event = asyncio.Event()
    event.set()
    assert await first_done(event, timeout=0.5) is event


async def test_cancelling_the_waiter_cancels_what_it_waits_on():
    slow = asyncio.create_task(sleeper(1.0))
    waiter = asyncio.create_task(first_done(slow))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert slow.cancelled()


async def test_cancel_all_swallows_their_errors():
    async def boom():
        raise RuntimeError("theirs")

    failing = asyncio.create_task(boom())
    await asyncio.sleep(0)
    await cancel_all([failing, asyncio.create_task(sleeper(1.0))])
    assert failing.done()
