"""Simulated callers on a sandbox Asterisk: no SIP, just a Local channel that plays a sound.

The sandbox dialplan's [sandbox-caller] context answers, waits for the global SIM_GO_<id> (so
no audio is lost while Warmline sets up media), plays SIM_PROMPT and hangs up. Used by the
tests and by `warmline demo`; it needs the sandbox dialplan, not a production one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .client import AriClient


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
