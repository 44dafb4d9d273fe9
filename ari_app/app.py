"""The Stasis application: one events websocket, reconnecting, reconciling, dispatching calls."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
from collections.abc import Iterable
from typing import Any

import aiohttp
from warmline.ari_app.call import CallHandler
from warmline.ari_app.channels import Channels, subject
from warmline.ari_app.client import STRINGS, AriClient, AriError, AriUnreachable, ari_object, ari_objects, auth_header
from warmline.ari_app.ami import AmiLink
from warmline.ari_app.console import ConsolePush
from warmline.ari_app.context import AppContext
from warmline.ari_app.desk import AsteriskDesk, DeskError, QueueWatch, run_ami
from warmline.ari_app.events import parse_event
from warmline.ari_app.lease import AppTaken, Lease
from warmline.ari_app.settings import AsteriskSettings
from warmline.ari_app.talk import Talk
from warmline.ari_app.voice import PLAYBACK_VARIABLE
from warmline.calls.events import Listener
from warmline.calls.session import SessionFactory
from warmline.errors import PbxError
from warmline.handoff.routing import Producer
from warmline.logs import call_id_var
from warmline.pbx import DeskActions, DeskHost
from warmline.tasks import cancel_all, first_done

log = logging.getLogger(__name__)

MEDIA_CHANNEL_PREFIXES = ("WebSocket/", "UnicastRTP/", "Snoop/")  # channels Warmline makes for itself
SHUTDOWN_GRACE_S = 5.0
BRIDGE_FIELDS = {"id": str, "name": str, "channels": STRINGS}  # what reconciliation reads of a bridge


class Backoff:
    """Exponential reconnect delay with jitter, capped."""

    def __init__(self, first: float, cap: float) -> None:
        self.first, self.cap, self.current = first, cap, first

    def next(self) -> float:
        delay = self.current
        self.current = min(self.cap, self.current * 2)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.current = self.first


class StasisApp:
    def __init__(self, settings: AsteriskSettings, session_factory: SessionFactory, listeners: Iterable[Listener] = (),
                 desk: DeskHost | None = None) -> None:
        self.settings = settings
        self.desk = desk  # the producer console, when serve runs one
        self.session_factory = session_factory
        self.listeners: tuple[Listener, ...] = tuple(listeners)
        self.channels = Channels()
        self.console: ConsolePush | None = ConsolePush.from_settings(settings.handoff)
        self.client: AriClient  # set in run()
        self.ctx: AppContext  # set in run()
        self.connected = asyncio.Event()
        self.displaced = False  # another process took the app: this one must stop, not reconnect
        self.connections = 0  # successful (re)connects, for tests and status
        self._background: set[asyncio.Task] = set()
        # AMI sees what ARI cannot: calls in the dialplan's queues; and it pauses queue members
        self.queue_watch = QueueWatch(settings.handoff.producers, self.listeners, self._spawn, settings.ari.app)
        self.ami = AmiLink(settings.ami, self.queue_watch.handlers()) if settings.ami.enabled else None
        self.queue_watch.ami = self.ami

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        ami = asyncio.create_task(run_ami(self.ami, stop), name="ami-link") if self.ami is not None else None
        try:
            async with aiohttp.ClientSession() as http:
                self._bind(AriClient(self.settings.ari, http))
                try:
                    await self._connect_loop(http, stop)
                finally:
                    self._attach(None)
                    await self._shutdown_calls()
                    await _quietly(self.lease.release())
        finally:
            if ami is not None:
                await cancel_all([ami])

    async def settle(self, client: AriClient) -> None:
        """One reconciliation pass without taking the app: what the watchdog does while no
        Warmline serves it (stranded callers to the fallback, leftovers removed)."""
        self._bind(client)
        await self.reconcile()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _bind(self, client: AriClient) -> None:
        self.client = client
        self.lease = Lease(client, self.settings.ari.app)
        self.ctx = AppContext(self.settings, client, self.channels, self.connected, self.session_factory,
                              self.listeners, self.console, self._spawn, self._in_wrap_up)

    async def _connect_loop(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        backoff = Backoff(0.5, self.settings.ari.reconnect_max_s)
        down_reported = False
        while not stop.is_set():
            try:
                await self.lease.claim(self.settings.ari.heartbeat_s)  # before taking the app from anyone
                async with asyncio.timeout(self.settings.ari.request_timeout_s):  # a PBX half up can hold the handshake
                    ws = await http.ws_connect(
                        self.client.events_url(), headers=auth_header(self.settings.ari), heartbeat=10
                    )
            except aiohttp.WSServerHandshakeError as exc:
                if not down_reported:
                    log.error("ARI refused the events websocket (%s): %s", exc.status, _handshake_hint(exc.status))
                    down_reported = True
                await _sleep_or_stop(stop, backoff.next())
                continue
            except (aiohttp.ClientError, OSError, TimeoutError, AriUnreachable) as exc:
                if not down_reported:
                    log.warning("ARI unreachable at %s (%s); retrying until it is back",
                                self.client.base, type(exc).__name__)
                    down_reported = True
                await _sleep_or_stop(stop, backoff.next())
                continue
            self.connections += 1
            log.info("connected to ARI" if self.connections == 1 else "reconnected to ARI",
                     extra={"app": self.settings.ari.app})
            down_reported = False
            backoff.reset()
            renewing = asyncio.create_task(self.lease.keep(self.settings.ari.heartbeat_s), name="lease-renew")
            try:
                await self.reconcile()
                self.connected.set()
                self._attach(AsteriskDesk(self.ctx, self.ami, self._take_over))
                await self._pump(ws, stop)
            except AriUnreachable as exc:
                log.debug("ARI went away during reconciliation: %s", exc)
            finally:
                self._attach(None)
                self.connected.clear()
                await cancel_all([renewing])
                await ws.close()
            if self.displaced:
                raise AppTaken(f"another Warmline took over Stasis app {self.settings.ari.app!r} "
                               "(ApplicationReplaced); this one stops")
            if not stop.is_set():
                log.warning("lost the ARI connection; reconnecting")
                down_reported = True

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> None:
        while True:
            recv = asyncio.create_task(ws.receive(), name="ari-event-receive")
            if await first_done(recv, stop) is stop:
                return
            msg = recv.result()
            if msg.type != aiohttp.WSMsgType.TEXT or self.displaced:
                return  # closed or error: reconnect
            self.on_message(msg.data)

    def on_message(self, data: str) -> None:
        """One text message of the events websocket; a malformed event is skipped in one line."""
        try:
            event = parse_event(data)
        except PbxError as exc:
            log.warning("%s", exc)
            return
        try:
            self.dispatch(event)
        except Exception:  # one bad event must not take the app down
            log.exception("could not handle an ARI event")

    async def _shutdown_calls(self) -> None:
        calls = self.channels.owners(CallHandler)
        tasks = [h.task for h in calls if h.task is not None] + list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)

    # --- the desk (the producer console) -------------------------------------------------------

    def _attach(self, actions: DeskActions | None) -> None:
        if self.desk is None:
            return
        try:
            self.desk.attach(actions)
        except Exception:  # the console's trouble must not take the calls down
            log.exception("the desk refused the PBX's actions")

    def _in_wrap_up(self) -> frozenset[str]:
        """Producers the console holds in wrap-up (routing skips them); none without a console."""
        if self.desk is None:
            return frozenset()
        try:
            return frozenset(self.desk.in_wrap_up())
        except Exception:  # ring them rather than nobody
            log.exception("the desk could not say who is in wrap-up")
            return frozenset()

    def _take_over(self, call_id: str, supervisor: Producer) -> None:
        handler = next((h for h in self.channels.owners(CallHandler) if h.call_id == call_id), None)
        if handler is None:
            raise DeskError(f"call {call_id} is not with the AI (ended, or already with a person): "
                            "only a call the AI is still serving can be taken over")
        handler.take_over(supervisor)

    # --- events ----------------------------------------------------------------------------------

    def dispatch(self, event: dict[str, Any]) -> None:
        """An ARI event goes to the owner of the channel it is about; a new channel may be a call."""
        if event.get("type") == "ApplicationReplaced":
            log.error("another Warmline connected to Stasis app %s and took its calls", self.settings.ari.app)
            self.displaced = True
        elif owner := self.channels.owner(subject(event)):
            owner.on_event(event)
        elif event.get("type") == "StasisStart":
            self._on_new_channel(event.get("channel") or {})

    def _on_new_channel(self, channel: dict[str, Any]) -> None:
        if not channel.get("id"):
            return
        if _ours(channel):
            log.warning("hanging up a media channel no call owns", extra={"channel": channel["id"]})
            self._spawn(self.client.delete(f"/channels/{channel['id']}", missing_ok=True), f"stray-{channel['id']}")
        else:
            self.start_call(channel)

    def start_call(self, channel: dict[str, Any]) -> CallHandler:
        handler = CallHandler(self.ctx, channel)
        context = contextvars.copy_context()
        context.run(call_id_var.set, handler.call_id)
        handler.task = asyncio.create_task(handler.run(), name=f"call-{handler.call_id}", context=context)
        return handler

    # --- tasks ---------------------------------------------------------------------------------

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_task_error)

    # --- reconciliation ----------------------------------------------------------------------

    async def reconcile(self) -> None:
        """After (re)connecting: settle what happened while we were away.

        Calls we still track whose channels are gone are ended; channels in our app that no
        live call owns (left by a previous Warmline process) are handed to a person; our stray
        media channels and bridges are removed.
        """
        # 404: the app is not registered (no serve has held it since Asterisk started): nobody to settle
        path = f"/applications/{self.settings.ari.app}"
        answer = await self.client.get(path, missing_ok=True)
        app = {} if answer is None else ari_object(answer, path, {"channel_ids": STRINGS})
        present = set(app.get("channel_ids", []))
        for handler in self.channels.owners(CallHandler):
            if handler.channel_id not in present:
                handler.on_caller_gone("pbx_lost")
        bridges = ari_objects(await self.client.get("/bridges"), "/bridges", BRIDGE_FIELDS, required=("id",))
        await self._reconcile_talks(bridges, present)
        # stranded callers first, all at once: each waits in silence until handed on
        orphans = sorted(present - self.channels.ids())
        await asyncio.gather(*(_each(self._settle_orphan(c), "channel", c) for c in orphans))
        live_bridges = self.channels.bridge_ids()
        prefix = f"{self.settings.ari.app}:"
        stale = [b["id"] for b in bridges if b.get("name", "").startswith(prefix) and b["id"] not in live_bridges]
        await asyncio.gather(*(_each(self._remove_bridge(b), "bridge", b) for b in stale))

    async def _stop_playback(self, channel_id: str) -> None:
        """A prompt still playing to a stranded caller would hold the hand-on until its end."""
        path = f"/channels/{channel_id}/variable"
        playing = await self.client.get(path, missing_ok=True, params={"variable": PLAYBACK_VARIABLE})
        if playback_id := ari_object(playing or {}, path, {"value": str}).get("value"):
            await self.client.delete(f"/playbacks/{playback_id}", missing_ok=True)

    async def _remove_bridge(self, bridge_id: str) -> None:
        log.info("removing a bridge left by an earlier run", extra={"bridge": bridge_id})
        await self.client.delete(f"/bridges/{bridge_id}", missing_ok=True)

    async def _reconcile_talks(self, bridges: list[dict[str, Any]], present: set[str]) -> None:
        """Callers already talking to producers are left alone (and watched); a half-ended talk is ended."""
        held = self.channels.bridge_ids()
        for bridge in bridges:
            if not bridge.get("name", "").endswith(":talk") or bridge["id"] in held:
                continue
            members = tuple(c for c in bridge.get("channels", []) if c in present)
            call_id = _talk_call_id(bridge.get("name", ""), self.settings.ari.app)
            members = tuple(sorted(members, key=lambda c: c.startswith(f"wl-{call_id}-p")))  # the caller first
            if len(members) >= 2:
                Talk(self.ctx, bridge["id"], members, call_id=call_id)  # its end still starts a wrap-up
            elif bridge.get("name", "").startswith(f"{self.settings.ari.app}:"):
                await _each(Talk(self.ctx, bridge["id"], members, call_id=call_id).end(), "bridge", bridge["id"])

    async def _settle_orphan(self, channel_id: str) -> None:
        path = f"/channels/{channel_id}"
        channel = await self.client.get(path, missing_ok=True)
        if channel is None:
            return
        ari_object(channel, path, {"id": str, "name": str})
        if _ours(channel):
            await self.client.delete(f"/channels/{channel_id}", missing_ok=True)
            return
        fb = self.settings.fallback
        log.warning("handing a caller left by an earlier run to the fallback", extra={"channel": channel_id})
        await self._stop_playback(channel_id)
        await self.client.post(f"/channels/{channel_id}/variable", missing_ok=True,
                               params={"variable": "WARMLINE_FALLBACK_REASON", "value": "warmline_restarted"})
        await self.client.post(f"/channels/{channel_id}/continue", missing_ok=True,
                               params={"context": fb.context, "extension": fb.extension, "priority": fb.priority})


async def _quietly(step) -> None:
    try:
        await step
    except PbxError as exc:
        log.debug("on the way out: %s", exc)


async def _each(step, what: str, ident: str) -> None:
    """One channel's or bridge's reconciliation: its own ARI error (409 not in the app any more, a
    5xx...) is logged and the others go on; losing Asterisk altogether still ends the pass."""
    try:
        await step
    except AriError as exc:
        log.warning("reconcile: %s %s: %s", what, ident, exc)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def _handshake_hint(status: int) -> str:
    if status == 401:
        return "wrong credentials: check ari.username and ari.password against ari.conf"
    if status == 404:
        return "no ARI here: check ari.url and that res_ari is loaded and http.conf enabled"
    return "check ari.url and Asterisk's http.conf"


def _ours(channel: dict[str, Any]) -> bool:
    """A channel Warmline made for itself (media, snoop, a producer leg): never a caller."""
    return channel.get("name", "").startswith(MEDIA_CHANNEL_PREFIXES) or channel.get("id", "").startswith("wl-")


def _log_task_error(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("background task %s failed: %s", task.get_name(), task.exception())


def _talk_call_id(bridge_name: str, app: str) -> str:
    """The call of a talk bridge this app made ("<app>:<call id>:talk"); "" for anyone else's."""
    parts = bridge_name.split(":")
    return parts[1] if len(parts) == 3 and parts[0] == app and parts[2] == "talk" else ""
