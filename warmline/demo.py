"""`warmline demo`: scripted callers through Warmline on the sandbox Asterisk, one outcome line each."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .config import Settings, load_settings
from .core.errors import ConfigError
from .core.events import CallEnded, CallEvent, CallStarted, MediaConnected, MediaEnded
from .core.session import CallSession
from .ari_app.app import StasisApp
from .ari_app.simulate import place_call
from .logs import setup_logging

SCRIPTS = (  # (what the caller plays, from Asterisk's English core sounds)
    "tt-weasels",
    "vm-intro",
    "tt-monkeysintro",
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


def sandbox_settings(name: str) -> Settings:
    home = Path(os.environ.get("WARMLINE_SANDBOX_HOME", Path(__file__).resolve().parent.parent / ".sandbox"))
    state_file = home / name / "sandbox.json"
    if not state_file.exists():
        raise ConfigError(f"no running sandbox named {name!r}: start it with `scripts/asterisk-sandbox up --name {name}`")
    return load_settings(json.loads(state_file.read_text())["config"])


async def run_demo(sandbox: str) -> int:
    settings = sandbox_settings(sandbox)
    setup_logging("WARNING", settings.log.format, settings.secrets())
    watcher = Watcher()
    app = StasisApp(settings, CallSession, [watcher])
    stop = asyncio.Event()
    serving = asyncio.create_task(app.run(stop), name="demo-stasis-app")
    failures = 0
    try:
        await asyncio.wait_for(app.connected.wait(), 10)
        print(f"Warmline is serving Stasis app {settings.ari.app!r} on {settings.ari.url} "
              f"(media over {settings.media.transport})")
        for prompt in SCRIPTS:
            ok, line = await _one_call(app, watcher, prompt)
            failures += not ok
            print(line)
    finally:
        stop.set()
        await serving
    leftovers = await _leftovers(settings)
    print(f"after the calls: {leftovers}")
    return 1 if failures or leftovers != "no channels, no bridges" else 0


async def _one_call(app: StasisApp, watcher: Watcher, prompt: str) -> tuple[bool, str]:
    call = await place_call(app.client, prompt)
    watch = watcher.watch(call.caller_channel_id)
    try:
        await asyncio.wait_for(watch.media.wait(), CALL_TIMEOUT_S)
        await call.speak(app.client)
        await asyncio.wait_for(watch.ended.wait(), CALL_TIMEOUT_S)
    except TimeoutError:
        return False, f"  {prompt:<16} FAILED: no outcome within {CALL_TIMEOUT_S} s"
    media = next(e for e in watch.events if isinstance(e, MediaEnded))
    ended = next(e for e in watch.events if isinstance(e, CallEnded))
    transport = next(e for e in watch.events if isinstance(e, MediaConnected)).transport
    return True, (f"  {prompt:<16} answered; heard {media.audio_seconds:.2f} s of caller audio "
                  f"({media.frames} frames over {transport}); ended: {ended.reason}")


async def _leftovers(settings: Settings) -> str:
    import aiohttp

    from .ari_app.client import AriClient

    async with aiohttp.ClientSession() as http:
        client = AriClient(settings.ari, http)
        channels, bridges = await client.get("/channels"), await client.get("/bridges")
    if not channels and not bridges:
        return "no channels, no bridges"
    return f"{len(channels)} channels and {len(bridges)} bridges left behind"
