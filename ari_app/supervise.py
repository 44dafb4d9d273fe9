"""A supervisor's own phone on a live call: rung by Warmline, then joined to the call's audio.

Listen and whisper go through an ARI snoop on the producer's channel (spy on both directions; for
whisper, also speak into what the producer hears), bridged with the supervisor's leg; barge puts
the supervisor's leg in the call's talk bridge itself. Either side ending ends it all: the snoop
dies with the producer's channel, the leg leaves the talk bridge when the call ends, and a
supervisor who hangs up takes their snoop and bridge with them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

from warmline.ari_app.client import STRINGS, ari_object
from warmline.ari_app.context import AppContext
from warmline.errors import PbxError
from warmline.pbx import SuperviseMode
from warmline.tasks import first_done

log = logging.getLogger(__name__)

SUPERVISOR_ROLE = "supervisor"  # appArgs of the supervisor's leg
IN_APP_TIMEOUT_S = 2.0
ANSWER_GRACE_S = 5.0
LEAVE_TIMEOUT_S = 2.0
WHISPER = {SuperviseMode.LISTEN: "none", SuperviseMode.WHISPER: "out"}  # "out": what the producer hears
LEAVING = ("StasisEnd", "ChannelDestroyed")
_numbers = itertools.count(1)


class SupervisionError(PbxError):
    """The supervisor could not be joined to the call."""


def talk_bridge_id(call_id: str) -> str:
    return f"wl-{call_id}-talk"  # AttendedTransfer's bridge for the caller and the producer


def producer_channel(call_id: str, members: list[str]) -> str | None:
    """The producer's leg among the talk bridge's channels (Warmline made it: wl-<call>-p<n>)."""
    return next((c for c in members if c.startswith(f"wl-{call_id}-p")), None)


class Supervision:
    """One supervisor on one call; the Stasis app routes its leg's and snoop's events here."""

    def __init__(self, ctx: AppContext, call_id: str, endpoint: str, mode: SuperviseMode) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.call_id = call_id
        self.endpoint = endpoint
        self.mode = SuperviseMode(mode)
        n = next(_numbers)
        self.leg_id = f"wl-{call_id}-s{n}"
        self.snoop_id = f"wl-{call_id}-s{n}-snoop"
        self.bridge_id = f"wl-{call_id}-s{n}-listen"
        self.in_app = {self.leg_id: asyncio.Event(), self.snoop_id: asyncio.Event()}
        self.left = {self.leg_id: asyncio.Event(), self.snoop_id: asyncio.Event()}
        self.answered = asyncio.Event()
        self.gone = asyncio.Event()  # the leg or the snoop left: end it all
        self.joined = False
        self.ended = False

    @property
    def bridge_ids(self) -> tuple[str, ...]:
        return (self.bridge_id,) if self.mode != SuperviseMode.BARGE else ()

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        channel_id = (event.get("channel") or {}).get("id", "")
        if kind == "StasisStart" and (arrived := self.in_app.get(channel_id)):
            arrived.set()
        elif kind == "ChannelStateChange" and channel_id == self.leg_id:
            if (event.get("channel") or {}).get("state") == "Up":
                self.answered.set()
        if kind in LEAVING and (left := self.left.get(channel_id)):
            left.set()
        if kind in LEAVING or (kind == "ChannelLeftBridge" and self.joined and channel_id == self.leg_id):
            self.gone.set()  # in barge, the leg leaves the talk bridge when the call ends
            if self.joined and not self.ended:
                self.ctx.spawn(self.end(), f"supervision-end-{self.leg_id}")

    async def start(self) -> None:
        """Ring the supervisor, then join them; SupervisionError (and nothing left behind) if not."""
        talk = await self._talk_members()
        producer = producer_channel(self.call_id, talk)
        if producer is None:
            raise SupervisionError(f"call {self.call_id} has no producer in its talk bridge to supervise")
        self.ctx.channels.claim(self.leg_id, self)
        try:
            await self._ring()
            if self.mode == SuperviseMode.BARGE:
                await self.client.post(f"/bridges/{talk_bridge_id(self.call_id)}/addChannel",
                                       params={"channel": self.leg_id})
            else:
                await self._snoop(producer)
            self.joined = True
        except BaseException:
            await self.end()
            raise
        if self.gone.is_set():  # left while being joined
            await self.end()
            raise SupervisionError(f"the supervisor's phone {self.endpoint} left the call as it joined")
        log.info("supervisor joined a call", extra={"mode": self.mode.value})

    async def _talk_members(self) -> list[str]:
        path = f"/bridges/{talk_bridge_id(self.call_id)}"
        bridge = await self.client.get(path, missing_ok=True)
        if bridge is None:
            raise SupervisionError(f"call {self.call_id} is not talking to a producer (no bridge {path}): "
                                   "only a bridged call can be supervised")
        return list(ari_object(bridge, path, {"channels": STRINGS}).get("channels", []))

    async def _ring(self) -> None:
        await self.client.post("/channels/create", body={"variables": {
            "CALLERID(name)": f"Warmline {self.mode.value}", "CALLERID(num)": "", "WARMLINE_CALL_ID": self.call_id,
        }}, params={"endpoint": self.endpoint, "app": self.ctx.app_name,
                    "appArgs": f"{SUPERVISOR_ROLE},{self.call_id}", "channelId": self.leg_id})
        await asyncio.wait_for(self.in_app[self.leg_id].wait(), IN_APP_TIMEOUT_S)
        ring_s = self.ctx.settings.handoff.ring_timeout_s
        await self.client.post(f"/channels/{self.leg_id}/dial", params={"timeout": ring_s})
        await first_done(self.answered, self.gone, timeout=ring_s + ANSWER_GRACE_S)
        if not self.answered.is_set() or self.gone.is_set():
            raise SupervisionError(f"the supervisor's phone {self.endpoint} did not answer")

    async def _snoop(self, producer: str) -> None:
        self.ctx.channels.claim(self.snoop_id, self)
        await self.client.post(f"/channels/{producer}/snoop", params={
            "spy": "both", "whisper": WHISPER[self.mode], "app": self.ctx.app_name, "snoopId": self.snoop_id})
        await asyncio.wait_for(self.in_app[self.snoop_id].wait(), IN_APP_TIMEOUT_S)
        await self.client.post("/bridges", params={"type": "mixing", "bridgeId": self.bridge_id,
                                                   "name": f"{self.ctx.app_name}:{self.call_id}:supervise"})
        await self.client.post(f"/bridges/{self.bridge_id}/addChannel",
                               params={"channel": f"{self.leg_id},{self.snoop_id}"})

    async def end(self) -> None:
        """Hang up the leg and the snoop, remove the bridge (safe to call twice)."""
        if self.ended:
            return
        self.ended = True
        try:
            for channel_id in (self.snoop_id, self.leg_id):
                await self.client.delete(f"/channels/{channel_id}", missing_ok=True)
                if self.in_app[channel_id].is_set():  # DELETE only queues the hangup: wait till it is gone
                    await first_done(self.left[channel_id], timeout=LEAVE_TIMEOUT_S)
            if self.mode != SuperviseMode.BARGE:
                await self.client.delete(f"/bridges/{self.bridge_id}", missing_ok=True)
        finally:  # owned until its parts are gone: the board and the call's end see it till then
            self.ctx.channels.release(self, self.leg_id, self.snoop_id)
        log.info("supervisor left a call", extra={"mode": self.mode.value})
