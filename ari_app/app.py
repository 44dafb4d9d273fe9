"""The Stasis application: one events websocket, reconnecting, reconciling, dispatching calls."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import random
from collections.abc import Iterable
from typing import Any

import aiohttp

from warmline.config import Settings
from warmline.calls.events import Listener
from warmline.calls.session import SessionFactory
from warmline.logs import call_id_var
from warmline.ari_app.call import CallHandler
from warmline.ari_app.client import AriClient, AriUnreachable, auth_header
from warmline.ari_app.console import ConsolePush
from warmline.ari_app.transfer import ProducerLeg

log = logging.getLogger(__name__)

MEDIA_CHANNEL_PREFIXES = ("WebSocket/", "UnicastRTP/", "Snoop/")  # channels Warmline makes for itself
SHUTDOWN_GRACE_S = 5.0


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
    def __init__(self, settings: Settings, session_factory: SessionFactory, listeners: Iterable[Listener] = ()) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.listeners: list[Listener] = list(listeners)
        self.calls: dict[str, CallHandler] = {}  # caller channel id → handler
        self.media_owner: dict[str, CallHandler] = {}  # media channel id → handler
        self.legs: dict[str, ProducerLeg] = {}  # producer channel id → its leg, while a transfer rings it
        self.talks: dict[str, tuple[str, ...]] = {}  # bridge id → caller and producer talking there
        self.console: ConsolePush | None = ConsolePush.from_settings(settings.handoff)
        self.client: AriClient  # set in run()
        self.connected = asyncio.Event()
        self.connections = 0  # successful (re)connects, for tests and status
        self._background: set[asyncio.Task] = set()

    # --- lifecycle -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        async with aiohttp.ClientSession() as http:
            self.client = AriClient(self.settings.ari, http)
            try:
                await self._connect_loop(http, stop)
            finally:
                await self._shutdown_calls()

    async def _connect_loop(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        backoff = Backoff(0.5, self.settings.ari.reconnect_max_s)
        down_reported = False
        while not stop.is_set():
            try:
                ws = await http.ws_connect(
                    self.client.events_url(), headers=auth_header(self.settings.ari), heartbeat=10
                )
            except aiohttp.WSServerHandshakeError as exc:
                if not down_reported:
                    log.error("ARI refused the events websocket (%s): %s", exc.status, _handshake_hint(exc.status))
                    down_reported = True
                await _sleep_or_stop(stop, backoff.next())
                continue
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
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
            try:
                await self.reconcile()
                self.connected.set()
                await self._pump(ws, stop)
            except AriUnreachable as exc:
                log.debug("ARI went away during reconciliation: %s", exc)
            finally:
                self.connected.clear()
                await ws.close()
            if not stop.is_set():
                log.warning("lost the ARI connection; reconnecting")
                down_reported = True

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> None:
        stop_task = asyncio.create_task(stop.wait(), name="ari-stop-watch")
        try:
            while True:
                recv = asyncio.create_task(ws.receive(), name="ari-event-receive")
                done, _ = await asyncio.wait({recv, stop_task}, return_when=asyncio.FIRST_COMPLETED)
                if stop_task in done:
                    recv.cancel()
                    await asyncio.gather(recv, return_exceptions=True)
                    return
                msg = recv.result()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return  # closed or error: reconnect
                try:
                    self.dispatch(json.loads(msg.data))
                except Exception:  # one bad event must not take the app down
                    log.exception("could not handle an ARI event")
        finally:
            stop_task.cancel()
            await asyncio.gather(stop_task, return_exceptions=True)

    async def _shutdown_calls(self) -> None:
        tasks = [h.task for h in self.calls.values() if h.task is not None] + list(self._background)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)

    def forget(self, handler: CallHandler) -> None:
        self.calls.pop(handler.channel_id, None)

    # --- events ----------------------------------------------------------------------------------

    def dispatch(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        channel = event.get("channel") or {}
        channel_id = channel.get("id", "")
        if kind == "PlaybackFinished":
            channel_id = (event.get("playback") or {}).get("target_uri", "").removeprefix("channel:")
        elif kind == "Dial":
            channel_id = (event.get("peer") or {}).get("id", "")
        if leg := self.legs.get(channel_id):
            leg.on_event(event)
            return
        if kind in ("StasisEnd", "ChannelDestroyed") and (talk := self._talk_of(channel_id)):
            self._spawn(self._end_talk(talk), f"talk-end-{talk}")
            return
        if kind == "StasisStart":
            self._on_stasis_start(channel, event)
        elif kind == "PlaybackFinished":
            playback = event.get("playback") or {}
            target = playback.get("target_uri", "").removeprefix("channel:")
            if handler := self.calls.get(target):
                handler.voice.on_playback_finished(playback)
        elif kind == "ChannelDtmfReceived":
            if handler := self.calls.get(channel_id):
                handler.on_dtmf(event.get("digit", ""))
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            if handler := self.calls.get(channel_id):
                handler.on_caller_gone()
            elif handler := self.media_owner.get(channel_id):
                log.debug("media channel left Stasis", extra={"channel": channel_id})

    def _on_stasis_start(self, channel: dict[str, Any], event: dict[str, Any]) -> None:
        channel_id = channel["id"]
        if owner := self.media_owner.get(channel_id):
            owner.on_owned_stasis_start(channel_id)
        elif channel_id in self.calls or self._talk_of(channel_id):
            return
        elif _ours(channel):
            log.warning("hanging up a media channel no call owns", extra={"channel": channel_id})
            self._spawn(self.client.delete(f"/channels/{channel_id}", missing_ok=True), f"stray-{channel_id}")
        else:
            self.start_call(channel)

    def start_call(self, channel: dict[str, Any]) -> CallHandler:
        handler = CallHandler(self, channel)
        self.calls[handler.channel_id] = handler
        context = contextvars.copy_context()
        context.run(call_id_var.set, handler.call_id)
        handler.task = asyncio.create_task(handler.run(), name=f"call-{handler.call_id}", context=context)
        return handler

    # --- callers talking to producers ---------------------------------------------------------

    def adopt_talk(self, bridge_id: str, channel_ids: tuple[str, ...]) -> None:
        """A caller and a producer share this bridge: when either leaves, the other is hung up."""
        self.talks[bridge_id] = channel_ids

    def _talk_of(self, channel_id: str) -> str | None:
        return next((b for b, members in self.talks.items() if channel_id in members), None)

    async def _end_talk(self, bridge_id: str) -> None:
        for channel_id in self.talks.pop(bridge_id, ()):
            await self.client.delete(f"/channels/{channel_id}", missing_ok=True)
        await self.client.delete(f"/bridges/{bridge_id}", missing_ok=True)
        log.info("transferred call ended", extra={"bridge": bridge_id})

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
        app = await self.client.get(f"/applications/{self.settings.ari.app}")
        present = set(app.get("channel_ids", []))
        for handler in list(self.calls.values()):
            if handler.channel_id not in present:
                handler.on_caller_gone("pbx_lost")
        bridges = await self.client.get("/bridges")
        await self._reconcile_talks(bridges, present)
        talking = {c for members in self.talks.values() for c in members}
        owned = set(self.calls) | set(self.media_owner) | set(self.legs) | talking
        for channel_id in present - owned:
            await self._settle_orphan(channel_id)
        live_bridges = {h.bridge_id for h in self.calls.values()} | set(self.talks)
        live_bridges |= {h.hold_bridge_id for h in self.calls.values()}
        prefix = f"{self.settings.ari.app}:"
        for bridge in bridges:
            if bridge.get("name", "").startswith(prefix) and bridge["id"] not in live_bridges:
                log.info("removing a bridge left by an earlier run", extra={"bridge": bridge["id"]})
                await self.client.delete(f"/bridges/{bridge['id']}", missing_ok=True)

    async def _reconcile_talks(self, bridges: list[dict[str, Any]], present: set[str]) -> None:
        """Callers already talking to producers are left alone (and watched); a half-ended talk is ended."""
        for bridge in bridges:
            if not bridge.get("name", "").endswith(":talk") or bridge["id"] in self.talks:
                continue
            members = tuple(c for c in bridge.get("channels", []) if c in present)
            if len(members) >= 2:
                self.adopt_talk(bridge["id"], members)
            elif bridge.get("name", "").startswith(f"{self.settings.ari.app}:"):
                self.talks[bridge["id"]] = members
                await self._end_talk(bridge["id"])

    async def _settle_orphan(self, channel_id: str) -> None:
        channel = await self.client.get(f"/channels/{channel_id}", missing_ok=True)
        if channel is None:
            return
        if _ours(channel):
            await self.client.delete(f"/channels/{channel_id}", missing_ok=True)
            return
        fb = self.settings.fallback
        log.warning("handing a caller left by an earlier run to the fallback", extra={"channel": channel_id})
        await self.client.post(f"/channels/{channel_id}/variable", missing_ok=True,
                               params={"variable": "WARMLINE_FALLBACK_REASON", "value": "warmline_restarted"})
        await self.client.post(f"/channels/{channel_id}/continue", missing_ok=True,
                               params={"context": fb.context, "extension": fb.extension, "priority": fb.priority})


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
