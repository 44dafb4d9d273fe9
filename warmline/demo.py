"""`warmline demo`: scripted callers through Warmline on the sandbox Asterisk, one outcome line each."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings, load_settings
from .core.errors import ConfigError
from .core.events import CallEnded, CallerUtterance, CallEvent, CallStarted, MediaConnected, MediaEnded
from .core.listening import listening_sessions
from .core.services import build_services
from .core.tts import synthesize
from .ari_app.app import StasisApp
from .ari_app.simulate import place_call
from .logs import setup_logging

SCRIPTS = (  # what each scripted caller says (synthesised offline, played at 8 kHz)
    "Hi, I am calling about my car insurance bill.",
    "I need a copy of my insurance card.",
    "Can I speak to a real person, please?",
)
CALL_TIMEOUT_S = 30


@dataclass
class CallWatch:
    """Events of one call, keyed by the simulated caller's channel."""

    events: list[CallEvent] = field(default_factory=list)
    media: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class Watcher:
    def __init__(self) -> None:
        self.by_channel: dict[str, CallWatch] = {}
        self._channel_of: dict[str, str] = {}

    def watch(self, channel_id: str) -> CallWatch:
        return self.by_channel.setdefault(channel_id, CallWatch())

    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, CallStarted):
            self._channel_of[event.call_id] = event.channel_id
        watch = self.watch(self._channel_of.get(event.call_id, event.call_id))
        watch.events.append(event)
        if isinstance(event, MediaConnected):
            watch.media.set()
        if isinstance(event, CallEnded):
            watch.ended.set()


def sandbox_state(name: str) -> dict:
    home = Path(os.environ.get("WARMLINE_SANDBOX_HOME", Path(__file__).resolve().parent.parent / ".sandbox"))
    state_file = home / name / "sandbox.json"
    if not state_file.exists():
        raise ConfigError(f"no running sandbox named {name!r}: start it with `scripts/asterisk-sandbox up --name {name}`")
    return json.loads(state_file.read_text())


def script_prompts(state: dict) -> list[tuple[str, str]]:
    """(text, Playback path inside the sandbox) for each scripted caller."""
    prompts = []
    for index, text in enumerate(SCRIPTS):
        synthesize(text, Path(state["instance_dir"]) / "sounds" / f"demo-caller-{index}.wav")
        prompts.append((text, f"{state['instance_dir_inside']}/sounds/demo-caller-{index}"))
    return prompts


async def run_demo(sandbox: str) -> int:
    state = sandbox_state(sandbox)
    settings = load_settings(state["config"])
    setup_logging("WARNING", settings.log.format, settings.secrets())
    prompts = script_prompts(state)
    services = await asyncio.to_thread(build_services, settings.vad, settings.stt)
    watcher = Watcher()
    app = StasisApp(settings, listening_sessions(services, barge_in=settings.prompts.barge_in), [watcher])
    stop = asyncio.Event()
    serving = asyncio.create_task(app.run(stop), name="demo-stasis-app")
    failures = 0
    try:
        await asyncio.wait_for(app.connected.wait(), 10)
        print(f"Warmline is serving Stasis app {settings.ari.app!r} on {settings.ari.url} "
              f"(media over {settings.media.transport})")
        for text, prompt in prompts:
            ok, line = await _one_call(app, watcher, text, prompt)
            failures += not ok
            print(line)
    finally:
        stop.set()
        await serving
        services.close()
    leftovers = await _leftovers(settings)
    print(f"after the calls: {leftovers}")
    return 1 if failures or leftovers != "no channels, no bridges" else 0


async def _one_call(app: StasisApp, watcher: Watcher, text: str, prompt: str) -> tuple[bool, str]:
    call = await place_call(app.client, prompt)
    watch = watcher.watch(call.caller_channel_id)
    try:
        await asyncio.wait_for(watch.media.wait(), CALL_TIMEOUT_S)
        await call.speak(app.client)
        await asyncio.wait_for(watch.ended.wait(), CALL_TIMEOUT_S)
    except TimeoutError:
        return False, f"  caller said: {text!r}\n    FAILED: no outcome within {CALL_TIMEOUT_S} s"
    media = next(e for e in watch.events if isinstance(e, MediaEnded))
    ended = next(e for e in watch.events if isinstance(e, CallEnded))
    transport = next(e for e in watch.events if isinstance(e, MediaConnected)).transport
    heard = " ".join(e.text for e in watch.events if isinstance(e, CallerUtterance)) or "(nothing)"
    return True, (f"  caller said:    {text!r}\n  Warmline heard: {heard!r}\n"
                  f"    {media.audio_seconds:.2f} s of caller audio in {media.frames} frames over {transport}; "
                  f"call ended: {ended.reason}")


async def _leftovers(settings: Settings) -> str:
    import aiohttp

    from .ari_app.client import AriClient

    async with aiohttp.ClientSession() as http:
        client = AriClient(settings.ari, http)
        channels, bridges = await client.get("/channels"), await client.get("/bridges")
    if not channels and not bridges:
        return "no channels, no bridges"
    return f"{len(channels)} channels and {len(bridges)} bridges left behind"
