"""The one place the replay tests import Warmline. After a package restructure, adapt this file only.

Replay runs the real Stasis app (`warmline.ari_app`: app, call, media, transfer, voice, client)
and the real conversation (flows, classifier, SQLite CRM seeded as when the fixture was recorded)
against the fake ARI. Two things are deterministic stand-ins, injected through Warmline's own
interfaces (`SpeechServices`): an energy VAD (the fake ARI sends seeded noise where the caller
spoke and zeros elsewhere) and a speech-to-text engine that returns, in order, what Whisper heard
in the recording. The dialogue's clock is frozen at the recorded call's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import warmline.conversation.build as dialog_build
from warmline.ari_app.app import StasisApp
from warmline.ari_app.call import CallHandler
from warmline.ari_app.settings import AsteriskSettings as Settings
from warmline.config import load_settings
from warmline.conversation.build import open_conversation
from warmline.crm.seed import DEMO_CALLER, seed_demo
from warmline.handoff.routing import Producer
from warmline.speech.services import SpeechServices, build_services
from warmline.speech.stt.pool import SttPool
from warmline.speech.vad import SegmenterConfig, VadDecision

from .fake_ari import FakeAri
from .transcript import Transcript

__all__ = ["StasisApp", "Settings", "load_settings", "build_services", "open_conversation", "seed_demo",
           "DEMO_CALLER", "Producer", "EventLog", "frozen_clock", "recording_kit", "run_replay", "journal_summary", "settings_for_fixture"]

# Settings sections a fixture carries (what shapes Warmline's requests); never urls or secrets.
FIXTURE_SECTIONS = ("media", "fallback", "dialplan", "handoff", "vad", "prompts", "dialog")
ARI_KEYS = ("app", "request_timeout_s", "reconnect_max_s")
ENERGY_THRESHOLD = 500.0  # RMS of int16 samples: the fake's noise is ~4000, its silence 0


def recording_kit():
    """What only the recorder needs (the sandbox's simulated callers and clients), imported on demand."""
    from warmline.ari_app.client import AriClient, auth_header
    from warmline.ari_app.scripted import Journals, Voices, converse
    from warmline.ari_app.simulate import CallerSimulator, place_call
    from warmline.speech import prompts

    return dict(AriClient=AriClient, auth_header=auth_header, CallerSimulator=CallerSimulator,
                place_call=place_call, prompts=prompts, Journals=Journals, Voices=Voices, converse=converse)


# --- deterministic speech ------------------------------------------------------------------------


class EnergyVad:
    """A VAD stream factory (the VadStream protocol): one decision per 20 ms, by level."""

    name = "energy"

    def stream(self) -> "EnergyVad":
        return self

    def process(self, chunk) -> list[VadDecision]:
        samples = chunk.samples.astype(np.float64)
        out = []
        for i in range(0, len(samples) - 319, 320):
            rms = float(np.sqrt(np.mean(samples[i:i + 320] ** 2)))
            out.append(VadDecision(ms=20, speech=rms > ENERGY_THRESHOLD, probability=1.0 if rms > ENERGY_THRESHOLD else 0.0))
        return out


class ScriptedStt:
    """An SttEngine that 'hears' the recorded utterances in order (the caller's words, as Whisper heard them)."""

    name = "scripted"
    sample_rates = (16000,)
    streaming = False

    def __init__(self, texts: list[str]) -> None:
        self._texts = deque(texts)
        self._lock = threading.Lock()
        self.heard: list[float] = []  # seconds of audio per decode

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        with self._lock:
            self.heard.append(len(audio) / rate)
            return self._texts.popleft() if self._texts else ""

    def describe(self) -> str:
        return "scripted replay engine"


def replay_services(settings: Settings, texts: list[str]) -> SpeechServices:
    vad = settings.vad
    segmenter = SegmenterConfig(vad.start_ms, vad.hangover_ms, vad.max_utterance_ms, vad.no_input_ms, vad.pause_ms)
    return SpeechServices(EnergyVad(), segmenter, SttPool(ScriptedStt(texts), workers=1))  # type: ignore[arg-type]


# --- settings --------------------------------------------------------------------------------------


def settings_for_fixture(settings: Settings) -> dict[str, Any]:
    """The part of the recording's settings a replay needs (JSON; no url, user or password)."""
    dumped = settings.model_dump(mode="json")
    out = {k: dumped[k] for k in FIXTURE_SECTIONS}
    out["ari"] = {k: dumped["ari"][k] for k in ARI_KEYS}
    return out


def replay_settings(meta: dict[str, Any], url: str, tmp: Path) -> Settings:
    recorded = meta["settings"]
    return Settings(
        ari={**recorded["ari"], "url": url, "username": "warmline", "password": "replay"},
        ami={"enabled": False},
        **{k: recorded[k] for k in FIXTURE_SECTIONS if k != "vad"},
        # a recording made before turns could end at a pause ran without it; the scripted engine
        # answers decodes in order, so a guess at a pause would take the next utterance's text
        vad={**recorded["vad"], "pause_ms": recorded["vad"].get("pause_ms", 0)},
        crm={"backend": "sqlite", "sqlite_path": str(tmp / "crm.sqlite3")},
        store={"path": str(tmp / "events.sqlite3")},
    )


# --- the call's events ---------------------------------------------------------------------------


class EventLog:
    """A journal listener keeping every call event in order."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if type(e).__name__ == kind]

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def journal_summary(events) -> list[dict[str, Any]]:
    """Events as plain JSON (type + fields, without times and ids that change on every run)."""
    out = []
    for event in events:
        fields = {k: v for k, v in dataclasses.asdict(event).items() if k not in ("at", "call_id")}
        out.append({"type": type(event).__name__, **_jsonable(fields)})
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# --- one replay ------------------------------------------------------------------------------------


@dataclass
class ReplayResult:
    fake: FakeAri
    log: EventLog
    app: StasisApp
    app_error: BaseException | None
    stt: ScriptedStt
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def assert_complete(self) -> None:
        if self.app_error is not None:
            raise AssertionError(f"the Stasis app died: {self.app_error!r}\n") from self.app_error
        self.fake.assert_complete()


async def run_replay(transcript: Transcript, tmp: Path, *, timeout: float = 30.0, speed: float = 50.0) -> ReplayResult:
    """Replay a transcript against the real Stasis app; every wait is bounded by `timeout`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    meta = transcript.meta
    fake = FakeAri(transcript, speed=speed)
    url = await fake.start()
    settings = replay_settings(meta, url, tmp)
    seed_demo(tmp / "crm.sqlite3", date.fromisoformat(meta["seed_date"]))
    clock = datetime.fromisoformat(meta["clock"])
    services = replay_services(settings, [u["text"] for u in meta.get("utterances", [])])
    log = EventLog()
    app_error: BaseException | None = None
    with frozen_clock(clock):
        kit = await open_conversation(settings)
        app = StasisApp(settings, kit.sessions(services), [log])
        stop = asyncio.Event()
        task = asyncio.create_task(app.run(stop), name="replay-stasis-app")
        replayed = asyncio.create_task(fake.finished(timeout), name="replay-fake-finished")
        try:
            await asyncio.wait({task, replayed}, timeout=timeout + 1, return_when=asyncio.FIRST_COMPLETED)
            if replayed.done():
                await _settle(app)
        finally:
            stop.set()
            try:
                await asyncio.wait_for(task, 10)
            except Exception as exc:  # the app itself failed (or would not stop): the test says so
                app_error = exc
            replayed.cancel()
            await asyncio.gather(replayed, return_exceptions=True)
            await fake.close()
            await kit.crm.close()
            services.close()
    return ReplayResult(fake, log, app, app_error, services.stt.engine, loop.time() - started)  # type: ignore[arg-type]


async def _settle(app: StasisApp, timeout: float = 3.0) -> None:
    """After the last recorded entry: let call tasks finish what they were doing (bounded)."""
    tasks = [h.task for h in app.channels.owners(CallHandler) if h.task is not None]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
    await asyncio.sleep(0.05)


@contextlib.contextmanager
def frozen_clock(when: datetime):
    """The dialogue's notion of now (dates read back, free slots) pinned for a recording or a replay."""
    with mock.patch.object(dialog_build, "now", lambda: when):
        yield
