"""The console as serve runs it: a listener of every call's events and the desk's host.

Listening never blocks the event loop: the pop router (sans-IO) is updated at once and live
subscribers are told; storage, the CRM and the PBX are reached in owned tasks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from warmline.calls.events import CallEvent
from warmline.calls.store import EventStore
from warmline.console.cards import Snapshot, crm_snapshot, payload_of
from warmline.console.pops import Change, PopRouter, PopStatus
from warmline.console.settings import ConsoleSettings
from warmline.console.store import Account, ConsoleError, ConsoleStore, WrapUp
from warmline.crm.base import Crm, CrmError
from warmline.crm.records import CallDisposition
from warmline.errors import WarmlineError
from warmline.handoff.events import DispositionRecorded, HandoffPrepared
from warmline.pbx import DeskActions
from warmline.tasks import OwnedTasks

log = logging.getLogger(__name__)

SUBSCRIBER_BACKLOG = 256  # a browser this far behind is dropped; EventSource reconnects and reloads
FORGET_AFTER_S = 3600.0


@dataclass(eq=False)
class Subscriber:
    """One open live stream (a browser tab)."""

    account: Account
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(SUBSCRIBER_BACKLOG))

    def send(self, message: tuple) -> bool:
        try:
            self.queue.put_nowait(message)
            return True
        except asyncio.QueueFull:
            return False


class Console:
    def __init__(self, settings: ConsoleSettings, store: ConsoleStore, events: EventStore | None = None,
                 crm: Crm | None = None, *, producers: Iterable[str] = (), queues_of: dict[str, set[str]] | None = None,
                 clock=time.time) -> None:
        self.settings, self.store, self.events, self.crm = settings, store, events, crm
        self.clock = clock
        self.router = PopRouter()
        self.producers = tuple(producers)  # [handoff] producers, for the board
        self.queues_of = queues_of or {}
        self.actions: DeskActions | None = None
        self.snapshots: dict[str, Snapshot] = {}
        self.subscribers: set[Subscriber] = set()
        self._wrapping: dict[str, set[str]] = {}  # producer -> calls they owe a tag for, within wrap_up_max_s
        self._timers: dict[tuple[str, str], asyncio.Task] = {}
        self._saving: dict[tuple[str, str], asyncio.Lock] = {}
        self.tasks = OwnedTasks()

    # --- the desk (DeskHost) --------------------------------------------------------------------

    def attach(self, actions: DeskActions | None) -> None:
        self.actions = actions
        for producer in self.in_wrap_up():  # paused before a restart or a PBX outage: pause again
            self._spawn(self._pause(producer, True), f"console-repause-{producer}")

    def in_wrap_up(self) -> frozenset[str]:
        return frozenset(p for p, calls in self._wrapping.items() if calls)

    # --- start and stop -------------------------------------------------------------------------

    async def start(self) -> None:
        """Pick up where a previous run left off: open wrap-ups and call-backs, with their calls."""
        now = self.clock()
        wrapups = await self.store.open_wrapups()
        callbacks = await self.store.open_callbacks()
        for call_id in {w.call_id for w in wrapups} | {c.call_id for c in callbacks}:
            await self._replay(call_id)
        for wrap in wrapups:
            if wrap.due > now and not wrap.reminded:
                self._wrapping.setdefault(wrap.producer, set()).add(wrap.call_id)
                self._arm(wrap)
            elif not wrap.reminded:
                await self.store.remind_wrapup(wrap.call_id, wrap.producer)

    async def stop(self) -> None:
        for sub in list(self.subscribers):
            sub.send(("bye",))
        await self.tasks.cancel()

    async def _replay(self, call_id: str) -> None:
        """A call's state from the event store (effects are not repeated: it is history)."""
        if self.events is None or call_id in self.router.calls:
            return
        try:
            stored = await asyncio.to_thread(self.events.events, call_id)
        except WarmlineError as exc:
            log.warning("console: call %s not readable from the event store: %s", call_id, exc)
            return
        for event in stored:
            self.router.apply(event)

    async def card(self, call_id: str):
        """The call's card, read back from the event store when this run never saw it."""
        if call_id not in self.router.calls:
            await self._replay(call_id)
        return self.router.calls.get(call_id)

    # --- the listener ---------------------------------------------------------------------------

    def __call__(self, event: CallEvent) -> None:
        """Every event of every call (serve's listener): on the loop, never blocking."""
        change = self.router.apply(event)
        if change is None:
            return
        for producer in change.wrap_up:
            self._spawn(self._begin_wrap_up(event.call_id, producer), f"console-wrapup-{event.call_id}")
        if change.callback:
            queue = getattr(event, "queue", "")
            self._spawn(self.store.add_callback(event.call_id, queue, event.at), f"console-callback-{event.call_id}")
        if isinstance(event, HandoffPrepared):
            self._spawn(self._fetch_snapshot(event.call_id), f"console-crm-{event.call_id}")
        self.publish(change)

    def _spawn(self, coro, name: str) -> None:
        task = self.tasks.start(coro, name)
        task.add_done_callback(_log_failure)

    # --- live subscribers -----------------------------------------------------------------------

    def subscribe(self, account: Account) -> Subscriber:
        sub = Subscriber(account)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def publish(self, change: Change) -> None:
        for sub in list(self.subscribers):
            account, messages = sub.account, []
            if account.sees_all:
                messages.append(("board",))
            elif account.producer and account.producer in change.producers:
                messages.append(("card", change.call_id))
            if change.callback and self.sees_callbacks(account):
                messages.append(("callbacks",))
            if messages and not all([sub.send(m) for m in messages]):
                log.warning("console: a live stream fell behind and is closed (it reconnects)")
                self.subscribers.discard(sub)
                sub.queue = asyncio.Queue(1)
                sub.send(("bye",))

    def sees_callbacks(self, account: Account, queue: str | None = None) -> bool:
        if account.sees_all:
            return True
        if not account.producer:
            return False
        mine = self.queues_of.get(account.producer)
        return not mine or queue is None or queue in mine

    # --- the CRM snapshot -----------------------------------------------------------------------

    async def _fetch_snapshot(self, call_id: str) -> None:
        card = self.router.calls.get(call_id)
        payload = payload_of(card) if card else None
        if payload is None or not payload.contact_id:
            return
        snapshot = await crm_snapshot(self.crm, payload.contact_id)
        if snapshot is not None and card is not None:
            self.snapshots[call_id] = snapshot
            self.publish(Change(call_id, frozenset(card.statuses)))

    # --- wrap-up ------------------------------------------------------------------------------

    async def _begin_wrap_up(self, call_id: str, producer: str) -> None:
        now = self.clock()
        wrap = await self.store.start_wrapup(call_id, producer, now, now + self.settings.wrap_up_max_s)
        if wrap.done or wrap.reminded:
            return
        self._wrapping.setdefault(producer, set()).add(call_id)
        self._arm(wrap)
        await self._pause(producer, True)

    def _arm(self, wrap: WrapUp) -> None:
        key = (wrap.call_id, wrap.producer)
        if key not in self._timers:
            task = self.tasks.start(self._expire(wrap), f"console-wrapup-timer-{wrap.call_id}")
            self._timers[key] = task
            task.add_done_callback(lambda _t: self._timers.pop(key, None))

    async def _expire(self, wrap: WrapUp) -> None:
        await asyncio.sleep(max(0.0, wrap.due - self.clock()))
        await self.store.remind_wrapup(wrap.call_id, wrap.producer)
        log.info("console: wrap-up time is over; producer un-paused and reminded", extra={"call": wrap.call_id})
        await self._release(wrap.call_id, wrap.producer)
        self.publish(Change(wrap.call_id, frozenset({wrap.producer})))

    async def _release(self, call_id: str, producer: str) -> None:
        calls = self._wrapping.get(producer, set())
        calls.discard(call_id)
        if not calls:
            self._wrapping.pop(producer, None)
            await self._pause(producer, False)

    async def _pause(self, producer: str, paused: bool) -> None:
        if self.actions is None:
            return
        try:
            await self.actions.pause_producer(producer, paused, "wrap-up")
        except WarmlineError as exc:
            log.warning("console: could not %s a producer in the PBX queues: %s", "pause" if paused else "un-pause",
                        exc)

    async def record(self, account: Account, call_id: str, fields: dict) -> WrapUp:
        """Store the disposition everywhere it goes, then (only then) say it is saved. Idempotent."""
        producer = account.producer
        key = (call_id, producer)
        async with self._saving.setdefault(key, asyncio.Lock()):
            wrap = await self.store.wrapup(call_id, producer)
            if wrap is None:
                raise ConsoleError("this call has nothing to tag for you")
            if wrap.done:
                return wrap
            now = self.clock()
            event = DispositionRecorded(call_id=call_id, producer=producer, by=account.name, at=now, **fields)
            if self.crm is not None:
                try:
                    await self.crm.record_disposition(CallDisposition(
                        call_id=call_id, producer=producer, by=account.name, recorded=now,
                        **{k: str(v) if k == "disposition" else v for k, v in fields.items()}),
                        key=f"disposition:{call_id}:{producer}")
                except CrmError as exc:
                    raise ConsoleError(f"the CRM did not store the disposition ({exc}); try again") from None
            await self._to_stream(event)
            wrap = await self.store.save_wrapup(call_id, producer, account.name, _saved_json(event), now)
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self.router.apply(event)
        await self._release(call_id, producer)
        self.publish(Change(call_id, frozenset({producer})))
        return wrap

    async def _to_stream(self, event: DispositionRecorded) -> None:
        """Into the call's own stream, committed; once per call and producer, even after a crash."""
        if self.events is None:
            return
        store = self.events

        def once() -> None:
            already = any(isinstance(e, DispositionRecorded) and e.producer == event.producer
                          for e in store.events(event.call_id))
            if not already:
                store.record(event)
                store.flush()
        try:
            await asyncio.to_thread(once)
        except WarmlineError as exc:
            raise ConsoleError(f"the event store did not take the disposition ({exc}); try again") from None

    # --- call-backs -----------------------------------------------------------------------------

    async def claim(self, account: Account, call_id: str):
        cb = await self.store.claim_callback(call_id, account.name)
        self._callbacks_changed()
        return cb

    async def close_callback(self, account: Account, call_id: str):
        cb = await self.store.close_callback(call_id, account.name, self.clock())
        self._callbacks_changed()
        return cb

    def _callbacks_changed(self) -> None:
        for sub in list(self.subscribers):
            if self.sees_callbacks(sub.account):
                sub.send(("callbacks",))

    def board_producers(self) -> list[tuple[str, str]]:
        """(producer, state) for the board: free, ringing, on a call, wrap-up, or what the PBX said."""
        names = list(dict.fromkeys([*self.producers, *(c for card in self.router.calls.values()
                                                         for c in card.statuses)]))
        words = {PopStatus.RINGING: "ringing", PopStatus.ANSWERED: "ringing", PopStatus.BRIDGED: "on a call",
                 PopStatus.WRAP_UP: "wrap-up"}
        wrapping = self.in_wrap_up()
        out = []
        for name in names:
            state = self.router.producer_state(name)
            if name in wrapping or state == PopStatus.WRAP_UP:
                out.append((name, "wrap-up"))
            elif state in words:
                out.append((name, words[state]))
            else:
                seen = self.router.presence.get(name)
                out.append((name, {"dnd": "DND", "busy": "busy", "offline": "offline"}.get(seen[0], "free")
                            if seen else "free"))
        return out

    def forget_old(self) -> None:
        for call_id in self.router.forget_before(self.clock() - FORGET_AFTER_S):
            self.snapshots.pop(call_id, None)


def _saved_json(event: DispositionRecorded) -> str:
    return json.dumps({"disposition": str(event.disposition), "caller_repeated": event.caller_repeated,
                       "queue": event.queue, "intent": event.intent, "by": event.by, "at": event.at})


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("console task %s failed: %s", task.get_name(), type(task.exception()).__name__)
