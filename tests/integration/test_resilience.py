"""No caller is left in silence: stranded calls, a dead Warmline and a crashing session."""

import asyncio
import time

from warmline.ari_app.client import auth_header
from warmline.ari_app.simulate import place_call
from warmline.calls.events import CallEnded, CallFailed, MediaConnected
from warmline.calls.session import CallSession
from warmline.speech.audio import AudioChunk

from .conftest import EventLog, channel_context, running_app, wait_until_empty

FALLBACK_CONTEXTS = {"warmline-fallback", "warmline-operator", "sandbox-operator"}


async def wait_context(ari, channel_id, contexts, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        channel = await ari.get(f"/channels/{channel_id}", missing_ok=True)
        if channel_context(channel) in contexts:
            return channel
        await asyncio.sleep(0.05)
    return await ari.get(f"/channels/{channel_id}", missing_ok=True)


async def bridge_gone(ari, bridge_id, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(b["id"] != bridge_id for b in await ari.get("/bridges")):
            return True
        await asyncio.sleep(0.05)
    return False


async def warmline_parts_gone(ari, app, timeout=5.0):
    """No bridge of Warmline's and no media channel (hang-ups finish a moment after the request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bridges = [b for b in await ari.get("/bridges") if b["name"].startswith(f"{app}:")]
        media = [c for c in await ari.get("/channels") if c["name"].startswith(("WebSocket/", "UnicastRTP/"))]
        if not bridges and not media:
            return True
        await asyncio.sleep(0.05)
    return False


async def hang_up_all(ari):
    for channel in await ari.get("/channels"):
        await ari.delete(f"/channels/{channel['id']}", missing_ok=True)
    await wait_until_empty(ari)


async def test_dialplan_safety_net_routes_the_caller_when_warmline_is_down(ari):
    call = await place_call(ari, "tt-weasels", linger_s=5)
    try:
        channel = await wait_context(ari, call.caller_channel_id, FALLBACK_CONTEXTS)
        assert channel_context(channel) in FALLBACK_CONTEXTS, channel
    finally:
        await hang_up_all(ari)


async def test_calls_stranded_by_a_dead_warmline_go_to_a_person_on_restart(sandbox, ari):
    settings = sandbox.settings
    # A "previous Warmline" registers the app, takes a call into Stasis and dies.
    async with ari.http.ws_connect(ari.events_url(), headers=auth_header(settings.ari)) as ws:
        call = await place_call(ari, "tt-weasels", linger_s=5)
        while True:
            event = await asyncio.wait_for(ws.receive_json(), 10)
            if event["type"] == "StasisStart" and event["channel"]["id"] == call.caller_channel_id:
                break
        stale = await ari.post("/bridges", params={"type": "mixing", "name": f"{settings.ari.app}:stale"})
        await ari.post(f"/bridges/{stale['id']}/addChannel", params={"channel": call.caller_channel_id})
    try:
        assert channel_context(await ari.get(f"/channels/{call.caller_channel_id}")) == "warmline-inbound"
        async with running_app(settings):
            channel = await wait_context(ari, call.caller_channel_id, FALLBACK_CONTEXTS)
            assert channel_context(channel) in FALLBACK_CONTEXTS
            variable = await ari.get(f"/channels/{call.caller_channel_id}/variable",
                                     params={"variable": "WARMLINE_FALLBACK_REASON"}, missing_ok=True)
            assert variable is None or variable["value"] == "warmline_restarted"
            # The caller is handed on first; the stale bridge is removed just after.
            assert await bridge_gone(ari, stale["id"]), "stale bridge kept"
    finally:
        await hang_up_all(ari)


class CrashingSession(CallSession):
    async def on_audio(self, chunk: AudioChunk) -> None:
        raise RuntimeError("decoder exploded")


async def test_a_crashing_session_sends_the_caller_to_a_person_within_2s(sandbox, ari):
    events = EventLog()
    try:
        async with running_app(sandbox.settings, CrashingSession, [events]):
            call = await place_call(ari, "vm-intro", linger_s=5)
            await events.wait_for(call.caller_channel_id, MediaConnected)
            await call.speak(ari)
            failed = await events.wait_for(call.caller_channel_id, CallFailed)
            assert failed.stage == "session" and "decoder exploded" in failed.error
            channel = await wait_context(ari, call.caller_channel_id, FALLBACK_CONTEXTS, timeout=2.0)
            assert channel_context(channel) in FALLBACK_CONTEXTS
            ended = await events.wait_for(call.caller_channel_id, CallEnded)
            assert ended.reason == "handed_to_fallback"
            assert ended.at - failed.at < 2.0
            # Warmline's own bridge and media channel are gone; only the caller's legs remain.
            assert await warmline_parts_gone(ari, sandbox.settings.ari.app)
    finally:
        await hang_up_all(ari)
