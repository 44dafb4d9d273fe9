"""The scenarios the fixtures are recorded from, on a running sandbox Asterisk (root).

Each one runs the real Warmline (Whisper, Silero, the demo CRM) through the recording proxy,
drives simulated callers and producers on the sandbox directly, and returns the transcript.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from . import harness
from .recorder import RecordingProxy
from .transcript import Transcript

REPO = Path(__file__).resolve().parents[2]
KEYS = f"keys:{harness.DEMO_CALLER.policy_number}#"
CONTAINED = [("how_can_i_help", "Hi, what's my current balance?"), ("verify_policy", KEYS),
             ("verify_dob", harness.DEMO_CALLER.date_of_birth_spoken),
             ("did_that_help", "Yes, thanks."), ("anything_else", "No, that's all.")]
REGULATED = [("how_can_i_help", "Should I add full coverage to my car?")]  # → licensed, not verified


def producer(behaviour: str, **kw: Any):
    return harness.Producer(name=behaviour, endpoint=f"PJSIP/{behaviour}@producer-phones",
                            queues=("licensed", "service"), states=("MA",), **kw)


@dataclass
class Ctx:
    """What a scenario's driver gets: the sandbox (direct), the simulator, Warmline and the proxy."""

    client: Any
    sim: Any
    journals: Any
    voices: Any
    app: Any
    proxy: RecordingProxy
    settings: Any
    kit: dict[str, Any]
    caller: str = ""


Drive = Callable[[Ctx], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    description: str
    drive: Drive
    handoff: dict[str, Any] = field(default_factory=dict)


# --- drivers ------------------------------------------------------------------------------------


async def _call(ctx: Ctx, script, during: Callable[[Ctx, Any], Awaitable[None]] | None = None) -> None:
    call = await ctx.sim.place()
    ctx.caller = call.caller_channel_id
    ctx.proxy.note(f"caller {call.caller_channel_id} placed")
    talk = asyncio.create_task(ctx.kit["converse"](ctx.sim, ctx.journals, ctx.voices, call, script, turn_timeout_s=90),
                               name="scenario-converse")
    if during is not None:
        await during(ctx, call)
    await asyncio.wait_for(talk, 120)


async def _when(ctx: Ctx, call, kind: str, timeout: float = 90) -> None:
    await ctx.journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == kind, timeout)


async def contained(ctx: Ctx) -> None:
    await _call(ctx, CONTAINED)


async def hang_up_when_bridged(ctx: Ctx, call) -> None:
    await _when(ctx, call, "TransferBridged")
    await asyncio.sleep(1.5)
    ctx.proxy.note("caller hangs up while talking to the producer")
    await ctx.sim.hang_up(call)


async def transfer_accepted(ctx: Ctx) -> None:
    await _call(ctx, REGULATED, hang_up_when_bridged)


async def hang_up_while_ringing(ctx: Ctx, call) -> None:
    await _when(ctx, call, "ProducerRinging")
    await asyncio.sleep(0.5)
    ctx.proxy.note("caller hangs up on hold while the producer rings")
    await ctx.sim.hang_up(call)


async def transfer_caller_hangs_up_on_hold(ctx: Ctx) -> None:
    await _call(ctx, REGULATED, hang_up_while_ringing)


async def transfer_busy_decline(ctx: Ctx) -> None:
    await _call(ctx, REGULATED, hang_up_when_bridged)


async def transfer_no_answer(ctx: Ctx) -> None:
    async def leave_the_queue(ctx: Ctx, call) -> None:
        await _when(ctx, call, "CallEnded")
        await asyncio.sleep(1.0)
        ctx.proxy.note("caller (now in the dialplan's queue) hangs up")
        await ctx.sim.hang_up(call)

    await _call(ctx, REGULATED, leave_the_queue)


async def transfer_broken(ctx: Ctx) -> None:
    await _call(ctx, REGULATED)


async def reconnect(ctx: Ctx) -> None:
    """The events websocket drops; while Warmline is away another instance takes two callers into the
    app and leaves a bridge; Warmline reconnects and reconciles."""
    client, app_name = ctx.client, ctx.settings.ari.app
    ctx.proxy.blocked = True
    await ctx.proxy.drop_events()
    ctx.proxy.note("events websocket dropped; ARI refuses new ones for a while")
    async with client.http.ws_connect(client.events_url(), headers=ctx.kit["auth_header"](ctx.settings.ari)) as ws:
        calls = [await ctx.kit["place_call"](client, "tt-weasels", linger_s=10) for _ in range(2)]
        waiting = {c.caller_channel_id for c in calls}
        while waiting:
            event = await asyncio.wait_for(ws.receive_json(), 10)
            if event["type"] == "StasisStart":
                waiting.discard(event["channel"]["id"])
        stale = await client.post("/bridges", params={"type": "mixing", "name": f"{app_name}:stale"})
        await client.post(f"/bridges/{stale['id']}/addChannel", params={"channel": calls[0].caller_channel_id})
    ctx.proxy.note(f"another instance left {[c.caller_channel_id for c in calls]} in the app and bridge {stale['id']}")
    ctx.proxy.blocked = False
    async with asyncio.timeout(20):
        while ctx.app.connections < 2 or not ctx.app.connected.is_set():
            await asyncio.sleep(0.05)
        while any(b["id"] == stale["id"] for b in await client.get("/bridges")):
            await asyncio.sleep(0.05)
        for c in calls:  # both continued out of the app, to the fallback
            while ((await client.get(f"/channels/{c.caller_channel_id}", missing_ok=True)) or {}).get(
                    "dialplan", {}).get("context") == "warmline-inbound":
                await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)


SCENARIOS: dict[str, Scenario] = {
    "contained": Scenario("balance read back to a verified caller, hung up happy", contained),
    "transfer_accepted": Scenario("regulated question, the producer presses 1 and talks", transfer_accepted,
                                  {"producers": (producer("accept"),)}),
    "transfer_busy_decline": Scenario("busy, then declined, then accepted", transfer_busy_decline,
                                      {"producers": (producer("busy"), producer("decline"), producer("accept"))}),
    "transfer_no_answer": Scenario("the producer's phone rings out; the caller continues to the queue",
                                   transfer_no_answer, {"producers": (producer("ringout"),), "ring_timeout_s": 5}),
    "transfer_caller_hangs_up_on_hold": Scenario("the caller hangs up on hold while the producer rings",
                                                 transfer_caller_hangs_up_on_hold,
                                                 {"producers": (producer("ringout"),), "ring_timeout_s": 30}),
    "transfer_broken": Scenario("the producer's address cannot be dialled: fallback", transfer_broken,
                                {"producers": (harness.Producer(name="broken", endpoint="PJSIP/nobody@no-such-endpoint",
                                                                device="PJSIP/producer-phones", queues=("licensed",),
                                                                states=("MA",)),)}),
    "reconnect": Scenario("events websocket dropped and reopened; stranded callers and a stale bridge reconciled",
                          reconnect),
}


# --- recording ------------------------------------------------------------------------------------


async def record(sandbox: str, name: str) -> Transcript:
    scenario = SCENARIOS[name]
    kit = harness.recording_kit()
    state = json.loads((REPO / ".sandbox" / sandbox / "sandbox.json").read_text())
    base = harness.load_settings(state["config"])
    handoff = base.handoff.model_copy(update={"ring_timeout_s": 6, "accept_timeout_s": 3.0, **scenario.handoff})
    prompts = kit["prompts"]
    prompts.build(prompts.Catalog.load(prompts.packaged_catalog()), Path(base.prompts.dir))
    clock = datetime.now().replace(microsecond=0)
    tmp = Path(tempfile.mkdtemp(prefix="warmline-record-"))
    harness.seed_demo(tmp / "crm.sqlite3", clock.date())
    proxy = RecordingProxy(str(base.ari.url))
    url = await proxy.start()
    settings = base.model_copy(update={
        "handoff": handoff, "ami": base.ami.model_copy(update={"enabled": False}),
        "crm": base.crm.model_copy(update={"sqlite_path": str(tmp / "crm.sqlite3")}),
        "store": base.store.model_copy(update={"path": str(tmp / "events.sqlite3")}),
    })
    warmline_settings = settings.model_copy(update={"ari": settings.ari.model_copy(update={"url": url})})
    services = harness.build_services(settings.vad, settings.stt)
    journals, log = kit["Journals"](), harness.EventLog()
    voices = kit["Voices"](Path(state["instance_dir"]) / "sounds", f"{state['instance_dir_inside']}/sounds")
    try:
        with harness.frozen_clock(clock):
            conversation = await harness.open_conversation(settings)
            app = harness.StasisApp(warmline_settings, conversation.sessions(services), [journals, log])
            stop = asyncio.Event()
            task = asyncio.create_task(app.run(stop), name="recorded-stasis-app")
            async with aiohttp.ClientSession() as http:
                client = kit["AriClient"](settings.ari, http)
                await asyncio.wait_for(app.connected.wait(), 15)
                async with kit["CallerSimulator"](client) as sim:
                    ctx = Ctx(client, sim, journals, voices, app, proxy, settings, kit)
                    await asyncio.wait_for(scenario.drive(ctx), 180)
                    await _wait_until_empty(client)
                stop.set()
                await asyncio.wait_for(task, 15)
            await conversation.crm.close()
    finally:
        services.close()
        await proxy.close()
    meta = {
        "kind": "meta", "scenario": name, "description": scenario.description, "asterisk": state["asterisk_version"],
        "recorded_at": datetime.now().isoformat(timespec="seconds"), "seed_date": clock.date().isoformat(),
        "clock": clock.isoformat(), "settings": harness.settings_for_fixture(settings), "caller": ctx.caller,
        "utterances": [{"text": u.text, "start_ms": u.start_ms, "end_ms": u.end_ms} for u in log.of("CallerUtterance")],
        "journal": harness.journal_summary(log.events),
    }
    return Transcript(meta, proxy.entries)


async def _wait_until_empty(client, timeout: float = 30) -> None:
    """Wait for the sandbox to have no channel and no bridge; hang up what is left after `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            while await client.get("/channels") or await client.get("/bridges"):
                await asyncio.sleep(0.1)
    except TimeoutError:
        for channel in await client.get("/channels"):
            await client.delete(f"/channels/{channel['id']}", missing_ok=True)
        for bridge in await client.get("/bridges"):
            await client.delete(f"/bridges/{bridge['id']}", missing_ok=True)
    await asyncio.sleep(0.3)  # the last events reach the proxy
