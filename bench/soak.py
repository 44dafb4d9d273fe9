"""Soak: many calls in a row through the real Warmline on the sandbox Asterisk; does anything grow?

    .venv/bin/python bench/soak.py [--calls 1000] [--concurrency 4] [--sandbox soak] [--every 100]
        [--no-tracemalloc] [--no-release] [--no-arena-limit] [--trim-every N] [--out FILE]

Warmline (the Stasis app with the real conversation: Silero, Whisper, intents, the demo CRM, the
event store, and what `warmline serve` adds for memory: limit_arenas() and the MemoryReleaser,
warmline/memory.py) runs in this process; simulated callers (Local channels on the sandbox)
arrive `--concurrency` at a time, alternating two scripts: one asks for a person (speech decoded,
understood, hand-off payload built and stored, the caller continues into the dialplan's queue),
one hangs up during the greeting. After a warm-up (the first 10% of calls, at least 20) it
records, every `--every` calls: RSS and anonymous memory (/proc/self/smaps_rollup), glibc's
heaps, memory in use and free in them (mallinfo2), pymalloc's arenas, SQLite's memory, open file
descriptors, threads, asyncio tasks and the per-call objects alive (CallHandler, ListeningSession,
CallJournal...: about the calls in flight, never growing); at the end the leftovers on the PBX,
the gc type counts and tracemalloc's biggest growth since the warm-up. Growth per 100 calls is
given from the end points and as a least-squares slope over the samples.
--no-release / --no-arena-limit measure the code before the memory fix; --trim-every also trims
on the loop every N calls; --no-tracemalloc leaves out tracemalloc's own overhead.
Goal (issue 14.8): <= 2 MB per 100 calls after warm-up, 0 leftovers.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import ctypes.util
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
from warmline.memory import MemoryReleaser, limit_arenas  # noqa: E402
from warmline.speech import prompts  # noqa: E402
from warmline.speech.services import build_services  # noqa: E402

from bench.common import machine  # noqa: E402

ASK = "Can I speak to a real person please?"


# Per-call objects that must go back to (about) zero once calls end.
WATCHED = ("CallHandler", "ListeningSession", "CallJournal", "CallSession", "Cutter", "Segmenter",
           "SileroVadStream", "WebRtcVadStream", "Resampler", "ResampleStream", "Utterance",
           "RtpStream", "Task", "Future", "ClientResponse", "ndarray", "StorageView")


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def smaps() -> dict:
    """Rss / Anonymous / Private_Dirty of this process (MB), from /proc/self/smaps_rollup."""
    out = {}
    for line in open("/proc/self/smaps_rollup"):
        key, _, rest = line.partition(":")
        if key in ("Rss", "Anonymous", "Private_Dirty"):
            out[key.lower() + "_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return out


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def mallinfo() -> dict:
    """glibc's view (main arena only for arena/uordblks... mallinfo2 sums all arenas): MB in use
    by malloc'd blocks, MB free inside malloc's heaps (fragmentation), MB in mmapped blocks."""
    try:
        _LIBC.mallinfo2.restype = _Mallinfo2
        info = _LIBC.mallinfo2()
    except AttributeError:  # glibc < 2.33
        return {}
    mb = 1024 * 1024
    return {"malloc_heaps_mb": round(info.arena / mb, 1), "malloc_in_use_mb": round(info.uordblks / mb, 1), "malloc_free_mb": round(info.fordblks / mb, 1),
            "malloc_mmap_mb": round(info.hblkhd / mb, 1)}


def python_arenas_mb() -> float:
    """Memory in pymalloc's arenas (mmapped directly, not through malloc): sys._debugmallocstats."""
    import tempfile
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        for line in out:
            if line.startswith("# arenas allocated current"):
                arenas = int(line.split("=")[-1].replace(",", "").strip())
                return round(arenas * (1 << 20) / (1024 * 1024), 1)
    return 0.0


def sqlite_mb() -> float | None:
    """Memory SQLite holds (page caches of the event store's and the CRM's connections)."""
    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return round(lib.sqlite3_memory_used() / (1024 * 1024), 2)
    except (OSError, AttributeError):
        return None


def malloc_trim() -> None:
    _LIBC.malloc_trim(0)


def type_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for obj in gc.get_objects():
        name = type(obj).__name__
        counts[name] = counts.get(name, 0) + 1
    return counts


def sample(done: int, trim: bool = False) -> dict:
    gc.collect()
    if trim:
        malloc_trim()
    counts = type_counts()
    return {"calls": done, "rss_mb": round(rss_mb(), 1), **smaps(), **mallinfo(), "pymalloc_arenas_mb": python_arenas_mb(),
            "sqlite_mb": sqlite_mb(),
            "fds": len(os.listdir("/proc/self/fd")), "threads": threading.active_count(),
            "tasks": len(asyncio.all_tasks()), "alive": {name: counts.get(name, 0) for name in WATCHED},
            "_counts": counts}


def slope_per_100(samples: list[dict], key: str) -> float:
    """Least-squares growth of `key` per 100 calls over the samples (warm-up sample included)."""
    xs = [s["calls"] for s in samples]
    ys = [s[key] for s in samples]
    if len(xs) < 2:
        return 0.0
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return round(100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var, 2) if var else 0.0


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


async def soak(settings, state, calls: int, concurrency: int, *, every: int = 100, trace: bool = True,
               trim_every: int = 0, release_s: float | None = None) -> dict:
    kit = await open_conversation(settings)
    services = await asyncio.to_thread(build_services, settings.vad, settings.stt)
    journals, store = Journals(), open_store(settings.store)
    voices = Voices(Path(state["instance_dir"]) / "sounds", f"{state['instance_dir_inside']}/sounds")
    voices.render(ASK)
    # as `warmline serve` listens (cli.serve): the store, and the releaser unless --no-release
    releaser = MemoryReleaser(release_s) if release_s is not None else None
    app = StasisApp(settings, kit.sessions(services), [journals, store.record] + ([releaser] if releaser else []))
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
                    if trim_every and done % trim_every == 0:
                        malloc_trim()
                    if done == warmup:
                        samples.append(sample(done))
                        if trace:
                            tracemalloc.start(10)
                            snapshot = tracemalloc.take_snapshot()
                    elif done > warmup and (done - warmup) % every == 0:
                        samples.append(sample(done))
                    if samples and samples[-1]["calls"] == done:
                        print(json.dumps({k: v for k, v in samples[-1].items() if k != "_counts"}), flush=True)
        if samples[-1]["calls"] != calls:
            samples.append(sample(calls))
        growth = []
        if snapshot is not None:
            after = tracemalloc.take_snapshot()
            growth = [str(s) for s in after.compare_to(snapshot, "traceback")[:8]]
            tracemalloc.stop()
        first_counts, last_counts = samples[0]["_counts"], samples[-1]["_counts"]
        type_growth = sorted(((last_counts.get(k, 0) - first_counts.get(k, 0), k) for k in last_counts), reverse=True)
        type_growth = {k: d for d, k in type_growth[:12] if d > 0}
        for s in samples:
            del s["_counts"]
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
    env = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    return {"machine": machine(), "calls": calls, "concurrency": concurrency, "warmup_calls": warmup,
            "seconds": round(time.monotonic() - started), "env": env, "tracemalloc": trace,
            "malloc_trim_every": trim_every,
            "releaser": {"min_interval_s": release_s, "releases": releaser.releases,
                         "ms_per_release": round(1000 * releaser.seconds / max(1, releaser.releases), 1)}
            if releaser else None, "outcomes": outcomes, "samples": samples,
            "rss_mb_per_100_calls_after_warmup": round(per100, 2),
            "rss_slope_mb_per_100_calls": slope_per_100(samples, "rss_mb"),
            "anon_slope_mb_per_100_calls": slope_per_100(samples, "anonymous_mb") if "anonymous_mb" in first else None,
            "malloc_in_use_slope_mb_per_100_calls": slope_per_100(samples, "malloc_in_use_mb")
            if "malloc_in_use_mb" in first else None,
            "leftovers": leftovers, "gc_type_growth_after_warmup": type_growth, "tracemalloc_top_growth": growth}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--sandbox", default="soak")
    parser.add_argument("--every", type=int, default=100, help="sample every N calls after the warm-up")
    parser.add_argument("--no-tracemalloc", action="store_true", help="measure without tracemalloc's own overhead")
    parser.add_argument("--trim-every", type=int, default=0, help="also call glibc malloc_trim(0) every N calls (on the loop)")
    parser.add_argument("--release-s", type=float, default=10.0,
                        help="MemoryReleaser's min_interval_s, as serve runs it (default 10)")
    parser.add_argument("--no-release", action="store_true", help="without the MemoryReleaser (the code before it)")
    parser.add_argument("--no-arena-limit", action="store_true",
                        help="without serve's limit_arenas() (glibc's default: 8 arenas per core)")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    arenas_limited = False if args.no_arena_limit else limit_arenas()  # as serve does, before threads
    up = subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "up", "--name", args.sandbox],
                        capture_output=True, text=True, check=True)
    try:
        state = json.loads(Path(up.stdout.strip().splitlines()[-1]).read_text())
        settings = load_settings(state["config"])
        prompts.build(prompts.load_catalog(settings.prompts), Path(settings.prompts.dir))
        seed_demo(Path(settings.crm.sqlite_path), date.today())
        results = {"arenas_limited_by_serve": arenas_limited}
        results |= asyncio.run(soak(settings, state, args.calls, args.concurrency, every=args.every,
                                   trace=not args.no_tracemalloc, trim_every=args.trim_every,
                                   release_s=None if args.no_release else args.release_s))
    finally:
        subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "down", "--name", args.sandbox], capture_output=True)
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
