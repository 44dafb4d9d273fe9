"""Simulated callers on a sandbox Asterisk: no SIP, just a Local channel that plays a sound.

The sandbox dialplan's [sandbox-caller] context answers, waits for the global SIM_GO_<id> (so
no audio is lost while Warmline sets up media), plays SIM_PROMPT and hangs up. Used by the
tests and by `warmline demo`; it needs the sandbox dialplan, not a production one.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass

import aiohttp
from warmline.ari_app.client import AriClient


@dataclass(frozen=True, slots=True)
class SimulatedCall:
    caller_channel_id: str  # the half that enters warmline-inbound → Stasis(warmline)
    line_channel_id: str  # the half that plays the prompt

    async def speak(self, client: AriClient) -> None:
        """Start the prompt (call once Warmline's media is connected)."""
        await client.post("/asterisk/variable", params={"variable": f"SIM_GO_{self.line_channel_id}", "value": "1"})


async def place_call(
    client: AriClient, prompt: str, *, caller_number: str = "5550100", linger_s: float = 0,
    context: str = "warmline-inbound",
) -> SimulatedCall:
    tag = uuid.uuid4().hex[:10]
    call = SimulatedCall(caller_channel_id=f"sim-{tag}-caller", line_channel_id=f"sim-{tag}-line")
    await client.post(
        "/channels",
        params={
            "endpoint": "Local/play@sandbox-caller/n", "context": context, "extension": "s", "priority": 1,
            "channelId": call.caller_channel_id, "otherChannelId": call.line_channel_id,
            "callerId": f"Sim Caller <{caller_number}>",
        },
        body={"variables": {"SIM_PROMPT": prompt, "SIM_LINGER": str(linger_s)}},
    )
    return call


class CallerSimulator:
    """Callers that hold a conversation: the caller's half of a Local channel sits in a second
    Stasis app (`warmline-sim`) and speaks (plays a sound) or keys digits when told to.

    The sandbox dialplan's `converse` extension answers and enters that app; Warmline's half
    enters warmline-inbound as usual. Needs the sandbox dialplan, not a production one.
    """

    APP = "warmline-sim"

    def __init__(self, client: AriClient) -> None:
        self.client = client
        self._finished: dict[str, asyncio.Event] = {}
        self._ws = None
        self._pump_task: asyncio.Task | None = None

    async def __aenter__(self) -> "CallerSimulator":
        url = f"{self.client.ws_base}/ari/events?app={self.APP}&subscribeAll=false"
        self._ws = await self.client.http.ws_connect(url, headers=self.client.headers)
        self._pump_task = asyncio.create_task(self._pump(), name="caller-simulator-events")
        return self

    async def __aexit__(self, *exc) -> None:
        await self._ws.close()
        if self._pump_task is not None:
            await asyncio.gather(self._pump_task, return_exceptions=True)

    async def _pump(self) -> None:
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            event = json.loads(message.data)
            if event.get("type") == "PlaybackFinished":
                if done := self._finished.get(event["playback"]["id"]):
                    done.set()

    async def place(self, *, caller_number: str = "5550100", context: str = "warmline-inbound") -> SimulatedCall:
        tag = uuid.uuid4().hex[:10]
        call = SimulatedCall(caller_channel_id=f"sim-{tag}-caller", line_channel_id=f"sim-{tag}-line")
        await self.client.post("/channels", params={
            "endpoint": "Local/converse@sandbox-caller/n", "context": context, "extension": "s",
            "priority": 1, "channelId": call.caller_channel_id, "otherChannelId": call.line_channel_id,
            "callerId": f"Sim Caller <{caller_number}>",
        })
        return call

    async def speak(self, call: SimulatedCall, sound: str, timeout_s: float = 30) -> None:
        """Play a sound (a path inside the sandbox, no extension) as the caller, to its end."""
        playback_id = uuid.uuid4().hex
        done = self._finished[playback_id] = asyncio.Event()
        try:
            await self.client.post(f"/channels/{call.line_channel_id}/play",
                                   params={"media": f"sound:{sound}", "playbackId": playback_id})
            await asyncio.wait_for(done.wait(), timeout_s)
        finally:
            self._finished.pop(playback_id, None)

    async def keys(self, call: SimulatedCall, digits: str) -> None:
        await self.client.post(f"/channels/{call.line_channel_id}/dtmf",
                               params={"dtmf": digits, "between": 150, "duration": 100})

    async def hang_up(self, call: SimulatedCall) -> None:
        await self.client.delete(f"/channels/{call.line_channel_id}", missing_ok=True)
