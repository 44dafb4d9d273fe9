"""Soak: many calls in a row through the real Warmline on the sandbox Asterisk; does anything grow?

    .venv/bin/python bench/soak.py [--calls 1000] [--concurrency 4] [--sandbox soak] [--out FILE]

Warmline (the Stasis app with the real conversation: Silero, Whisper, intents, the demo CRM, the
event store) runs in this process; simulated callers (Local channels on the sandbox) arrive
`--concurrency` at a time, alternating two scripts: one asks for a person (speech decoded,
understood, hand-off payload built and stored, the caller continues into the dialplan's queue),
one hangs up during the greeting. After a warm-up (the first 10% of calls, at least 20) it
records, every 100 calls: this process's RSS, open file descriptors, threads, asyncio tasks, and
at the end the leftovers on the PBX and tracemalloc's biggest growth since the warm-up.
Goal (issue "Never in silence"): ≤ 2 MB per 100 calls after warm-up, 0 leftovers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warmline.ari_app.app import StasisApp  # noqa: E402
from warmline.ari_app.scripted import Journals, Voices  # noqa: E402
from warmline.ari_app.simulate import CallerSimulator  # noqa: E402
from warmline.calls.events import CallEnded  # noqa: E402
from warmline.catalog import open_store  # noqa: E402
from warmline.config import load_settings  # noqa: E402
from warmline.conversation.build import open_conversation  # noqa: E402
from warmline.crm.seed import seed_demo  # noqa: E402
from warmline.speech import prompts  # noqa: E402
from warmline.speech.services import build_services  # noqa: E402

from bench.common import machine  # noqa: E402

ASK = "Can I speak to a real person please?"


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sample(done: int) -> dict:
    gc.collect()
    return {"calls": done, "rss_mb": round(rss_mb(), 1), "fds": len(os.listdir("/proc/self/fd")),
            "threads": threading.active_count(), "tasks": len(asyncio.all_tasks())}


async def one_call(sim, journals, voices, index: int) -> str:
    call = await sim.place()
    channel = call.caller_channel_id
    try:
        await journals.wait(channel, lambda e: type(e).__name__ == "PromptStarted", 30)
        if index % 2:  # hangs up during the greeting
            await asyncio.sleep(1.0)
            await sim.hang_up(call)
        else:
            await journals.wait(channel, lambda e: type(e).__name__ == "PromptEnded"
                                and e.prompt.split()[0] == "how_can_i_help", 40)
            await sim.speak(call, voices.render(ASK))
        ended = await journals.wait(channel, lambda e: isinstance(e, CallEnded), 60)
        end = journals.of(channel).events[ended]
        return f"{end.reason}_{end.queue}" if end.queue else str(end.reason)
    except TimeoutError:
        return "stalled"
    finally:
        await sim.hang_up(call)
        journals.forget(channel)


async def soak(settings, state, calls: int, concurrency: int) -> dict:
    kit = await open_conversation(settings)
    services = await asyncio.to_thread(build_services, settings.vad, settings.stt)
    journals, store = Journals(), open_store(settings.store)
    voices = Voices(Path(state["instance_dir"]) / "sounds", f"{state['instance_dir_inside']}/sounds")
    voices.render(ASK)
    app = StasisApp(settings, kit.sessions(services), [journals, store.record])
    stop = asyncio.Event()
    serving = asyncio.create_task(app.run(stop), name="soak-stasis-app")
    warmup = max(20, calls // 10)
    samples, outcomes, snapshot = [], {}, None
    started = time.monotonic()
    try:
        await asyncio.wait_for(app.connected.wait(), 10)
        async with CallerSimulator(app.client) as sim:
            done, next_index = 0, 0
            running: set[asyncio.Task] = set()
            while done < calls:
                while len(running) < concurrency and next_index < calls:
                    running.add(asyncio.create_task(one_call(sim, journals, voices, next_index),
                                                    name=f"soak-call-{next_index}"))
                    next_index += 1
                    await asyncio.sleep(0.3)  # staggered arrivals
                finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    outcome = task.result()
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                    done += 1
                    if done == warmup:
                        samples.append(sample(done))
                        tracemalloc.start(10)
                        snapshot = tracemalloc.take_snapshot()
                    elif done > warmup and (done - warmup) % 100 == 0:
                        samples.append(sample(done))
                        print(json.dumps(samples[-1]), flush=True)
        samples.append(sample(calls))
        growth = []
        if snapshot is not None:
            after = tracemalloc.take_snapshot()
            growth = [str(s) for s in after.compare_to(snapshot, "traceback")[:8]]
        bridges = await app.client.get("/bridges")
        ours = [b for b in bridges if b.get("name", "").startswith(f"{settings.ari.app}:")]
        leftovers = {"warmline_bridges": len(ours), "channels_in_app": len(
            (await app.client.get(f"/applications/{settings.ari.app}")).get("channel_ids", []))}
    finally:
        stop.set()
        await serving
        services.close()
        store.close()
        await kit.crm.close()
    first, last = samples[0], samples[-1]
    per100 = (last["rss_mb"] - first["rss_mb"]) / max(1, (last["calls"] - first["calls"]) / 100)
    return {"machine": machine(), "calls": calls, "concurrency": concurrency, "seconds": round(time.monotonic() - started),
            "outcomes": outcomes, "samples": samples, "rss_mb_per_100_calls_after_warmup": round(per100, 2),
            "leftovers": leftovers, "tracemalloc_top_growth": growth}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sandbox", default="soak")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    up = subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "up", "--name", args.sandbox],
                        capture_output=True, text=True, check=True)
    try:
        state = json.loads(Path(up.stdout.strip().splitlines()[-1]).read_text())
        settings = load_settings(state["config"])
        prompts.build(prompts.load_catalog(settings.prompts), Path(settings.prompts.dir))
        seed_demo(Path(settings.crm.sqlite_path), date.today())
        results = asyncio.run(soak(settings, state, args.calls, args.concurrency))
    finally:
        subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "down", "--name", args.sandbox], capture_output=True)
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
