"""Kill -9 of `warmline serve` in each phase of a call, with the watchdog or an immediate restart:
the caller reaches a person (or stays with the producer they already have) within 5 s, and nothing
of Warmline's is left on the PBX. serve runs as a real process with the real conversation.

Two phases are too short to hit by timing alone, so serve is made slow there, through its own
extension points: a speech engine installed as a plugin (the `warmline.stt` entry point group) that
takes 4 s per decode, and an agency system over [crm] backend = "http" that never answers the
policy lookup."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from warmline.ari_app.lease import lease_variable
from warmline.ari_app.simulate import CallerSimulator
from aiohttp import web
from warmline.crm.seed import DEMO_AGENCY, DEMO_CALLER, seed_demo

from .conftest import channel_context
from .test_resilience import FALLBACK_CONTEXTS, hang_up_all, warmline_parts_gone
from .test_supervision import serving

WARMLINE = [sys.executable, "-m", "warmline.cli"]
PERSON_WITHIN_S = 5.0
ASK_FOR_A_PERSON = "Can I speak to a real person please?"
ASK_FOR_THE_BALANCE = "Hi, I'd like to know my current balance."
SLOW_DECODE_S = 4.0
SLOW_ENGINE = f'''
import os, time
from warmline.speech.stt.whisper import WhisperEngine

class SlowWhisper(WhisperEngine):
    """Whisper, {SLOW_DECODE_S:g} s late: each decode's start is logged so the test kills inside one."""

    def transcribe(self, audio, rate):
        with open(os.environ["SLOW_STT_LOG"], "a") as log:
            log.write(f"{{time.time()}}\\n")
        time.sleep({SLOW_DECODE_S})
        return super().transcribe(audio, rate)
'''


def producer(behaviour):
    return {"name": behaviour, "endpoint": f"PJSIP/{behaviour}@producer-phones", "queues": ["licensed", "service"],
            "states": ["MA"]}


def launch(command, sandbox, tmp_path, producers=(), extra_env=None):
    env = {**os.environ, **(extra_env or {}),
           "WARMLINE_STORE__PATH": str(tmp_path / "events.sqlite3"),
           "WARMLINE_CRM__SQLITE_PATH": str(tmp_path / "crm.sqlite3"),
           "WARMLINE_HANDOFF__PRODUCERS": json.dumps([producer(b) for b in producers]),
           "WARMLINE_HANDOFF__ACCEPT_TIMEOUT_S": "30", "WARMLINE_HANDOFF__RING_TIMEOUT_S": "60"}
    log = open(tmp_path / f"{command}-{time.monotonic_ns()}.log", "w")  # read when a test fails
    return subprocess.Popen([*WARMLINE, command, "-c", sandbox.state["config"]], env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True)


def terminate(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


async def answered(ari, call):
    channel = await ari.get(f"/channels/{call.caller_channel_id}", missing_ok=True)
    return channel and channel["state"] == "Up" and channel_context(channel) == "warmline-inbound"


async def producer_channel(ari, state):
    return next((c for c in await ari.get("/channels") if c["id"].startswith("wl-") and "-p" in c["id"]
                 and c["state"] == state), None)


async def talk_bridge(ari, app):
    return next((b for b in await ari.get("/bridges")
                 if b["name"].startswith(f"{app}:") and b["name"].endswith(":talk") and len(b["channels"]) == 2), None)


def slow_speech_plugin(tmp_path) -> dict[str, str]:
    """serve's environment for a speech engine installed as a plugin, found by its entry point."""
    folder = tmp_path / "plugins"
    (folder / "slow_stt-1.0.dist-info").mkdir(parents=True)
    (folder / "slow_stt.py").write_text(SLOW_ENGINE)
    (folder / "slow_stt-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: slow-stt\nVersion: 1.0\n")
    (folder / "slow_stt-1.0.dist-info" / "entry_points.txt").write_text(
        "[warmline.stt]\nslow-whisper = slow_stt:SlowWhisper\n")
    return {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]),
            "WARMLINE_STT__ENGINE": "slow-whisper", "SLOW_STT_LOG": str(tmp_path / "decodes.log"),
            "WARMLINE_STT__DECODE_TIMEOUT_S": "30"}


class SilentAgencySystem:
    """The agency's system over HTTP: answers who the agency is, never answers a policy lookup."""

    def __init__(self):
        self.asked = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/agency", self._agency)
        self.app.router.add_get("/policies", self._policies)
        self.app.router.add_route("*", "/{tail:.*}", self._not_here)

    async def _agency(self, request):
        return web.json_response(DEMO_AGENCY.model_dump(mode="json"))

    async def _policies(self, request):
        self.asked.set()
        await asyncio.sleep(3600)

    async def _not_here(self, request):
        raise web.HTTPNotFound()

    async def __aenter__(self) -> SilentAgencySystem:
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.env = {"WARMLINE_CRM__BACKEND": "http", "WARMLINE_CRM__HTTP__BASE_URL": f"http://127.0.0.1:{port}",
                    "WARMLINE_CRM__HTTP__TOKEN_ENV": "", "WARMLINE_CRM__TIMEOUT_S": "30"}
        return self

    async def __aexit__(self, *exc):
        await self.runner.cleanup()


async def decodes_since(log, since: float) -> list[float]:
    return [t for t in map(float, log.read_text().split()) if t >= since] if log.exists() else []


async def reach(phase, sim, ari, sandbox, voices, call, tmp_path=None, crm=None):
    """Drive the call to the phase; returns what the phase's check needs."""
    await until(lambda: answered(ari, call), 60, "Warmline to answer")
    if phase == "greeting":
        await asyncio.sleep(0.8)
        return None
    await asyncio.sleep(9)  # the greeting (AI disclosure, played whole) and the open question
    if phase == "crm_call":
        await sim.speak(call, voices.render(ASK_FOR_THE_BALANCE))
        await asyncio.sleep(6)  # the decode and the question for the policy number
        await sim.keys(call, f"{DEMO_CALLER.policy_number}#")
        await asyncio.wait_for(crm.asked.wait(), 20)
        return None
    spoke_at = time.time()
    words = asyncio.create_task(sim.speak(call, voices.render(ASK_FOR_A_PERSON)))
    if phase == "caller_talking":
        await asyncio.sleep(0.8)
        return words
    await words
    if phase == "decoding":
        await until(lambda: decodes_since(tmp_path / "decodes.log", spoke_at), 10, "a decode to begin")
        await asyncio.sleep(0.5)  # inside the slow decode
        return None
    if phase == "producer_ringing":
        return await until(lambda: producer_channel(ari, "Ringing"), 40, "the producer's phone to ring")
    if phase == "whisper":
        return await until(lambda: producer_channel(ari, "Up"), 40, "the producer to answer")
    return await until(lambda: talk_bridge(ari, sandbox.settings.ari.app), 40, "caller and producer bridged")


PRODUCERS = {"greeting": (), "caller_talking": (), "decoding": (), "crm_call": (), "producer_ringing": ("ringout",),
             "whisper": ("silent",), "bridged": ("accept",)}


@pytest.mark.parametrize("recovery", ["watchdog", "restart"])
@pytest.mark.parametrize("phase", list(PRODUCERS))
async def test_kill_9_in_each_phase(phase, recovery, sandbox, ari, voices, tmp_path):
    app = sandbox.settings.ari.app
    seed_demo(tmp_path / "crm.sqlite3", date.today())
    async with SilentAgencySystem() as crm:
        slow = {"decoding": slow_speech_plugin(tmp_path), "crm_call": crm.env}.get(phase, {})
        await _kill_in_phase(phase, recovery, sandbox, ari, voices, tmp_path, app, slow, crm)


async def _kill_in_phase(phase, recovery, sandbox, ari, voices, tmp_path, app, slow, crm):
    serve = launch("serve", sandbox, tmp_path, PRODUCERS[phase], slow)
    helpers = [serve]
    try:
        await serving(ari, app)
        if recovery == "watchdog":
            helpers.append(launch("watchdog", sandbox, tmp_path))
        async with CallerSimulator(ari) as sim:
            call = await sim.place()
            reached = await reach(phase, sim, ari, sandbox, voices, call, tmp_path, crm)
            serve.kill()
            killed = time.monotonic()
            if recovery == "restart":
                helpers.append(launch("serve", sandbox, tmp_path, PRODUCERS[phase], slow))
            if phase == "bridged":
                await asyncio.sleep(1.0)  # talking callers are left alone by whoever recovers
                assert await talk_bridge(ari, app), "the recovery broke up a call with a producer"
                producer_leg = next(c for c in reached["channels"] if c != call.caller_channel_id)
                await ari.delete(f"/channels/{producer_leg}", missing_ok=True)  # the producer hangs up
                left = time.monotonic()
                await until(lambda: _gone(ari, call.caller_channel_id), PERSON_WITHIN_S + 2,
                            "the caller left alone in the bridge to be hung up")
                took = time.monotonic() - left
            else:
                await until(lambda: _at_a_person(ari, call.caller_channel_id), PERSON_WITHIN_S + 5,
                            "the caller to reach the fallback")
                took = time.monotonic() - killed
            print(f"{phase:16} {recovery:8} → {took:.2f} s")
            assert took < PERSON_WITHIN_S, f"{phase}/{recovery}: the caller waited {took:.1f} s"
            assert await warmline_parts_gone(ari, app, timeout=PERSON_WITHIN_S), "Warmline's parts were kept"
    except BaseException:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    finally:
        for process in helpers:
            terminate(process)
        await ari.post("/asterisk/variable", params={"variable": lease_variable(app), "value": ""})
        await hang_up_all(ari)


async def _at_a_person(ari, channel_id):
    return channel_context(await ari.get(f"/channels/{channel_id}", missing_ok=True)) in FALLBACK_CONTEXTS


async def _gone(ari, channel_id):
    return await ari.get(f"/channels/{channel_id}", missing_ok=True) is None
