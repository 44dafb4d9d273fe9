"""`warmline demo`: a demo agency on the sandbox Asterisk. Scripted callers (speech synthesised
offline, played at 8 kHz, digits keyed as DTMF) get balances, ID cards and appointments without
a person; regulated requests, explicit asks and frustrated callers are handed off with a reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from datetime import date
from pathlib import Path

from warmline.ari_app.app import StasisApp
from warmline.ari_app.demo_console import console_settings, demo_console
from warmline.ari_app.scripted import Journals, Script, Voices, converse
from warmline.ari_app.settings import AsteriskSettings
from warmline.ari_app.simulate import CallerSimulator
from warmline.calls.events import CallEnded, CallEvent
from warmline.catalog import open_store
from warmline.config import load_settings
from warmline.conversation.build import open_conversation
from warmline.crm.seed import DEMO_CALLER, seed_demo
from warmline.dialog.events import (
    ActionTaken,
    CallerTurn,
    ConversationEnded,
    EscalationDecided,
    IdentityChecked,
)
from warmline.errors import ConfigError
from warmline.numbers.prometheus import live
from warmline.handoff.events import (
    HandoffPrepared,
    ProducerLost,
    TransferBridged,
    TransferPlanned,
)
from warmline.handoff.routing import Producer
from warmline.logs import setup_logging
from warmline.speech import prompts
from warmline.speech.services import build_services

KEYS = f"keys:{DEMO_CALLER.policy_number}#"
DOB = DEMO_CALLER.date_of_birth_spoken
VERIFY: Script = [("verify_policy", KEYS), ("verify_dob", DOB)]
DONE: Script = [("did_that_help", "Yes, thanks."), ("anything_else", "No, that's all.")]

CALLERS: tuple[tuple[str, Script], ...] = (
    ("balance", [("how_can_i_help", "Hi, what's my current balance?"), *VERIFY, *DONE]),
    ("ID card", [("how_can_i_help", "I need a copy of my insurance card."), *VERIFY, *DONE]),
    ("appointment", [("how_can_i_help", "Can I book an appointment with my agent?"), *VERIFY,
                     ("appointment_offer", "Yes, that works."), *DONE]),
    ("coverage question", [("how_can_i_help", "Should I add full coverage to my car?")]),
    ("asks for a person", [("how_can_i_help", "Can I speak to a real person, please?")]),
    ("frustrated", [("how_can_i_help", "What's my balance?"),
                    ("verify_policy", "This is ridiculous. I hate these stupid machines."),
                    ("didnt_catch", "This is terrible, awful and useless.")]),
)


# The demo agency's producers: simulated desk phones on the sandbox (dialplan/sandbox), reached
# over real SIP; the part of the address before @ says how each one behaves.
PRODUCERS = (
    Producer(name="Dana Reyes", endpoint="PJSIP/accept@producer-phones", queues=("licensed", "retention"),
             states=("MA", "NH")),
    Producer(name="Sam Ortiz", endpoint="PJSIP/decline@producer-phones", queues=("service",)),
    Producer(name="Alex Kim", endpoint="PJSIP/accept@producer-phones", queues=("service", "claims")),
)


def sandbox_state(name: str) -> dict:
    home = Path(os.environ.get("WARMLINE_SANDBOX_HOME", Path(__file__).resolve().parent.parent / ".sandbox"))
    state_file = home / name / "sandbox.json"
    if not state_file.exists():
        raise ConfigError(f"no running sandbox named {name!r}: start it with `scripts/asterisk-sandbox up --name {name}`")
    return json.loads(state_file.read_text())


async def run_demo(sandbox: str, console: str = "") -> int:
    """`console`: HOST:PORT for the producer console beside the calls (kept up until Ctrl-C)."""
    state = sandbox_state(sandbox)
    settings = load_settings(state["config"])
    settings = settings.model_copy(update={"handoff": settings.handoff.model_copy(update={"producers": PRODUCERS})})
    home = Path(state["instance_dir"])
    if console:
        settings = console_settings(settings, home, console)
    setup_logging("WARNING", settings.log.format, settings.secrets())
    await asyncio.to_thread(prompts.build, prompts.load_catalog(settings.prompts), Path(settings.prompts.dir),
                            settings.prompts.engine, settings.prompts.voice or None)
    seed_demo(Path(settings.crm.sqlite_path), date.today())
    kit = await open_conversation(settings)
    services = await asyncio.to_thread(build_services, settings.vad, settings.stt)
    journals, store = Journals(), open_store(settings.store, on_commit=live().on_commit)
    voices = Voices(home / "sounds", f"{state['instance_dir_inside']}/sounds")
    try:
        async with demo_console(settings, store) if console else contextlib.nullcontext() as desk:
            failures = await _serve_the_calls(settings, kit, services, journals, voices, [journals, store.record], desk)
    finally:
        services.close()
        store.close()
        await kit.crm.close()
    leftovers = await _leftovers(settings)  # handed-off callers are still with the sandbox operator
    print(f"after the calls: {leftovers}; every event is stored in {settings.store.path}")
    return 1 if failures or leftovers != "no channels, no bridges" else 0


async def _serve_the_calls(settings, kit, services, journals, voices, listeners, desk) -> int:
    """The scripted callers, one after the other, through a Stasis app serving them; → failures."""
    if desk is not None:
        listeners = [*listeners, desk]  # the pop, the board and the wrap-ups follow every call
    app = StasisApp(settings, kit.sessions(services, barge_in=settings.prompts.barge_in), listeners, desk)
    stop = asyncio.Event()
    serving = asyncio.create_task(app.run(stop), name="demo-stasis-app")
    failures = 0
    try:
        await asyncio.wait_for(app.connected.wait(), 10)
        print(f"Warmline is serving the demo agency on {settings.ari.url} (Stasis app {settings.ari.app!r})")
        if desk is not None and sys.stdin.isatty():
            await asyncio.to_thread(input, "Log in as dana in a browser, then press Enter to place the calls ")
        async with CallerSimulator(app.client) as sim:
            for name, script in CALLERS:
                try:
                    call = await sim.place()
                    events = await converse(sim, journals, voices, call, script)
                except TimeoutError:
                    failures += 1
                    print(f"- {name}: FAILED, the conversation stalled")
                    continue
                print(describe(name, events))
        if desk is not None:
            await _until_interrupted("calls done; the console stays up (wrap-ups, board, /report): Ctrl-C to stop")
    finally:
        stop.set()
        await serving
    return failures


async def _until_interrupted(message: str) -> None:
    print(message)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    try:
        await stopped.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def describe(name: str, events: list[CallEvent]) -> str:
    lines = [f"- {name}"]
    for event in events:
        match event:
            case CallerTurn(answer=True):
                lines.append(f"    caller: {event.text!r}")
            case CallerTurn():
                lines.append(f"    caller: {event.text!r}  → {event.intent} ({event.confidence:.2f}, {event.action})")
            case IdentityChecked(verified=True):
                lines.append(f"    verified by {event.method}")
            case ActionTaken():
                lines.append(f"    did: {event.action}: {event.result}")
            case EscalationDecided():
                lines.append(f"    ESCALATED: reason {event.reason}, queue {event.queue} ({event.detail})")
            case HandoffPrepared():
                lines.append(f"    payload {event.payload_id} stored ({len(event.payload)} bytes)")
            case TransferPlanned():
                lines.append(f"    ringing in turn: {', '.join(event.ring) or 'nobody free'}"
                             + (f"; skipped {', '.join(f'{n} ({w})' for n, w in event.skipped)}" if event.skipped else ""))
            case ProducerLost():
                lines.append(f"    {event.producer}: {event.why}")
            case TransferBridged():
                lines.append(f"    BRIDGED to {event.producer}: context on the channel before it rang")
            case ConversationEnded():
                lines.append(f"    outcome: {event.outcome}")
            case CallEnded():
                lines.append(f"    call ended: {event.reason}" + (f"_{event.queue}" if event.queue else ""))
    return "\n".join(lines)


async def _leftovers(settings: AsteriskSettings) -> str:
    import aiohttp
    from warmline.ari_app.client import AriClient

    async with aiohttp.ClientSession() as http:
        client = AriClient(settings.ari, http)
        for _ in range(100):  # up to 20 s for the operator legs to finish
            channels, bridges = await client.get("/channels"), await client.get("/bridges")
            if not channels and not bridges:
                break
            await asyncio.sleep(0.2)
    if not channels and not bridges:
        return "no channels, no bridges"
    return f"{len(channels)} channels and {len(bridges)} bridges left behind"
