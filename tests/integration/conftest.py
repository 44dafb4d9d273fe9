"""Integration tests run against a real Asterisk 22 started by scripts/asterisk-sandbox.

Where the sandbox cannot run (not root, no debootstrap), they are skipped with the exact reason;
under CI (CI=true) that is a failure instead, because CI must run them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import aiohttp
import numpy as np
import pytest
from warmline.ari_app.app import StasisApp
from warmline.ari_app.client import AriClient
from warmline.ari_app.scripted import Voices
from warmline.ari_app.settings import AsteriskSettings as Settings
from warmline.calls.events import CallEvent, CallStarted
from warmline.calls.session import CallSession
from warmline.config import load_settings
from warmline.conversation.build import open_conversation
from warmline.crm.seed import seed_demo
from warmline.speech import prompts
from warmline.speech.audio import AudioChunk

REPO = Path(__file__).resolve().parents[2]
SANDBOX = REPO / "scripts" / "asterisk-sandbox"

pytestmark = pytest.mark.integration

def sandbox_cmd(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(SANDBOX), *args], capture_output=True, text=True, timeout=timeout)

@dataclass
class Sandbox:
    name: str
    state: dict

    @property
    def settings(self) -> Settings:
        return load_settings(self.state["config"])

    def sound(self, name: str) -> Path:
        return Path(self.state["sounds_dir"]) / f"{name}.wav"

    def pid_alive(self) -> bool:
        try:
            os.kill(self.state["pid"], 0)
        except ProcessLookupError:
            return False
        return True

def start_sandbox(name: str) -> Sandbox:
    reason = sandbox_cmd("why-not").stdout.strip()
    if reason != "the sandbox can run here":
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the integration tests, but {reason}")
        pytest.skip(f"integration tests skipped: {reason}")
    up = sandbox_cmd("up", "--name", name)
    if up.returncode != 0:
        pytest.fail(f"sandbox Asterisk did not start: {up.stderr.strip()}")
    return Sandbox(name, json.loads(Path(up.stdout.strip().splitlines()[-1]).read_text()))

def stop_sandbox(box: Sandbox) -> None:
    down = sandbox_cmd("down", "--name", box.name)
    assert down.returncode == 0, down.stderr
    assert not box.pid_alive(), "Asterisk still running after down"
    assert not Path(box.state["config"]).exists(), "down left the sandbox's credentials behind"
    assert not Path(box.state["instance_dir"]).exists(), "down left the instance's files in the root"

@pytest.fixture(scope="session")
def sandbox() -> Sandbox:
    box = start_sandbox(f"test-{os.getpid()}")
    prompts.build(prompts.Catalog.load(prompts.packaged_catalog()), Path(box.settings.prompts.dir))
    seed_demo(Path(box.settings.crm.sqlite_path), date.today())
    yield box
    stop_sandbox(box)

@pytest.fixture
async def ari(sandbox: Sandbox) -> AsyncIterator[AriClient]:
    async with aiohttp.ClientSession() as http:
        yield AriClient(sandbox.settings.ari, http)

class RecordingSession(CallSession):
    """Keeps every chunk so a test can compare the audio with what the caller played."""

    recorded: dict[str, list[AudioChunk]] = {}

    async def on_audio(self, chunk: AudioChunk) -> None:
        await super().on_audio(chunk)
        RecordingSession.recorded.setdefault(self.info.call_id, []).append(chunk)

class EventLog:
    """Listener that groups events by the caller's channel id and lets tests await them."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.channel_of: dict[str, str] = {}
        self._changed = asyncio.Condition()

    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, CallStarted):
            self.channel_of[event.call_id] = event.channel_id
        self.events.append(event)
        asyncio.get_running_loop().create_task(self._notify(), name="eventlog-notify")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def for_channel(self, channel_id: str) -> list[CallEvent]:
        return [e for e in self.events if self.channel_of.get(e.call_id) == channel_id]

    async def wait_for(self, channel_id: str, kind: type[CallEvent], timeout: float = 20) -> CallEvent:
        async def found():
            async with self._changed:
                while not any(isinstance(e, kind) for e in self.for_channel(channel_id)):
                    await self._changed.wait()
        await asyncio.wait_for(found(), timeout)
        return next(e for e in self.for_channel(channel_id) if isinstance(e, kind))

@contextlib.asynccontextmanager
async def running_app(settings: Settings, session_factory=CallSession, listeners=()) -> AsyncIterator[StasisApp]:
    app = StasisApp(settings, session_factory, listeners)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop), name="test-stasis-app")
    try:
        await asyncio.wait_for(app.connected.wait(), 15)
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)

async def wait_until_empty(client: AriClient, timeout: float = 5) -> tuple[list, list]:
    """Poll until Asterisk has no channels and no bridges (teardown is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        channels, bridges = await client.get("/channels"), await client.get("/bridges")
        if (not channels and not bridges) or asyncio.get_running_loop().time() > deadline:
            return channels, bridges
        await asyncio.sleep(0.1)

def wav_envelope(path: Path, frame_ms: int = 20) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return envelope(samples, rate * frame_ms // 1000)

def envelope(samples: np.ndarray, per_frame: int) -> np.ndarray:
    """Log energy per frame: the shape of the speech, independent of sample rate."""
    usable = samples[: len(samples) // per_frame * per_frame].astype(np.float64).reshape(-1, per_frame)
    return 10 * np.log10(np.mean(usable * usable, axis=1) + 1.0)

def best_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 5) -> float:
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        x, y = (a[lag:], b) if lag >= 0 else (a, b[-lag:])
        n = min(len(x), len(y))
        if n > 10:
            best = max(best, float(np.corrcoef(x[:n], y[:n])[0, 1]))
    return best


def channel_context(channel: dict | None) -> str | None:
    return (channel or {}).get("dialplan", {}).get("context")


class PbxObserver:
    """A second ARI application that records Asterisk's own events (with Asterisk's timestamps)
    for channels a test subscribes it to: the PBX's view of what happened, and when."""

    APP = "observer"

    def __init__(self, client: AriClient) -> None:
        self.client = client
        self.events: list[dict] = []
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "PbxObserver":
        url = f"{self.client.ws_base}/ari/events?app={self.APP}&subscribeAll=false"
        self._ws = await self.client.http.ws_connect(url, headers=self.client.headers)
        self._task = asyncio.create_task(self._pump(), name="pbx-observer")
        return self

    async def __aexit__(self, *exc) -> None:
        await self._ws.close()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _pump(self) -> None:
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(message.data))

    async def watch(self, *channel_ids: str) -> None:
        await self.client.post(f"/applications/{self.APP}/subscription",
                               params={"eventSource": ",".join(f"channel:{c}" for c in channel_ids)})

    def of(self, kind: str, **match) -> list[dict]:
        def matches(event: dict) -> bool:
            return all(_dig(event, key) == value for key, value in match.items())
        return [e for e in self.events if e.get("type") == kind and matches(e)]


def _dig(event: dict, dotted: str):
    for part in dotted.split("__"):
        event = (event or {}).get(part) if isinstance(event, dict) else None
    return event


def pbx_time(event: dict) -> float:
    """Asterisk's event timestamp ("2026-11-22T05:31:00.123+0000") as epoch seconds."""
    from datetime import datetime

    return datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@pytest.fixture
async def kit(sandbox, tmp_path):
    """The conversation as serve opens it, on this test's own copy of the demo CRM (calls write to it)."""
    seed_demo(tmp_path / "crm.sqlite3", date.today())
    crm_settings = sandbox.settings.crm.model_copy(update={"sqlite_path": str(tmp_path / "crm.sqlite3")})
    kit = await open_conversation(sandbox.settings.model_copy(update={"crm": crm_settings}))
    yield kit
    await kit.crm.close()


@pytest.fixture
def voices(sandbox) -> Voices:
    """Scripted callers' words, rendered where the sandbox Asterisk can play them."""
    folder = Path(sandbox.state["instance_dir"]) / "sounds"
    return Voices(folder, f"{sandbox.state['instance_dir_inside']}/sounds")


def assert_balance_read_and_contained(events) -> None:
    """The demo's balance caller: verified by policy number and date of birth, served, said goodbye to."""
    from warmline.crm.seed import DEMO_CALLER

    [check] = of(events, "IdentityChecked")
    assert check.verified and check.method == "policy_number+date_of_birth"
    [action] = of(events, "ActionTaken")
    assert action.action == "read_balance" and f"${DEMO_CALLER.balance_cents / 100:.2f}" in action.result
    assert of(events, "ConversationEnded")[0].outcome == "contained"
    assert of(events, "CallEnded")[0].reason == "contained"
    assert not of(events, "EscalationDecided")
    assert any(e.prompt.startswith("goodbye") and e.outcome == "finished" for e in of(events, "PromptEnded"))


def of(events, kind: str) -> list:
    return [e for e in events if type(e).__name__ == kind]


# what AMI reports after Warmline let go of the caller
AFTER_THE_CALL = {"QueueAgentAnswered", "TalkEnded", "CallbackRequested", "SurveyAnswered"}


def assert_stored_in_order(stored, events) -> None:
    """The store holds the call's stream as it happened; after Warmline's part, only what AMI
    reported of the caller in the dialplan's queue (each once, whichever box records it)."""
    kinds = [type(e).__name__ for e in stored]
    assert kinds[:len(events)] == [type(e).__name__ for e in events]  # persisted, in order
    later = kinds[len(events):]
    assert set(later) <= AFTER_THE_CALL and len(later) == len(set(later)), later
