"""The screen pop's margin: how long before the producer's phone rings is the call on their screen.

    .venv/bin/python bench/console_pop_bench.py [--calls 40] [--interval 6] [--producers 4] [--sandbox NAME]

Calls arrive at random (Poisson, mean --interval s) at the sandbox Asterisk and are escalated at
once (regulated_intent → licensed) through the same code a conversation uses; Warmline plans the
transfer, the console pushes the pop, and the simulated desk phone (PJSIP/accept) rings, answers,
accepts, talks a second and hangs up; the producer is then in wrap-up (`wrap_up_max_s` 10 s,
skipped by routing) until it expires. Every producer has the console open in Debian's Chromium.
Measured per call, on the machine's one clock: Asterisk's AMI `Newstate Ringing` Timestamp of the
first producer's channel minus the browser's render time of the pop card on that producer's page
(a MutationObserver's performance.timeOrigin + now). Positive = the pop came first.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
import json
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from panoramisk import Manager  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402
from warmline.ari_app.app import StasisApp  # noqa: E402
from warmline.ari_app.simulate import CallerSimulator  # noqa: E402
from warmline.catalog import open_store  # noqa: E402
from warmline.config import load_settings  # noqa: E402
from warmline.console.auth import hash_password  # noqa: E402
from warmline.console.server import running_console  # noqa: E402
from warmline.console.store import Account, ConsoleStore, Role  # noqa: E402
from warmline.handoff.events import TalkEnded, TransferPlanned  # noqa: E402
from warmline.handoff.routing import Producer  # noqa: E402

from bench.common import machine  # noqa: E402
from bench.transfer_bench import EscalateAtOnce  # noqa: E402
from tests.console.chromium import ARGS, CHROMIUM, SEEN  # noqa: E402

SANDBOX = "bench-pop"
def configure(state: dict, producers: int, folder: Path):
    settings = load_settings(state["config"])
    team = tuple(Producer(name=f"Producer {i}", endpoint="PJSIP/accept@producer-phones", queues=("licensed",),
                          states=("MA",)) for i in range(1, producers + 1))
    handoff = settings.handoff.model_copy(update={"producers": team, "max_producers": producers})
    console = settings.console.model_copy(update={"enabled": True, "listen": f"127.0.0.1:{_free_port()}",
                                                  "database": str(folder / "console.sqlite3"), "wrap_up_max_s": 10})
    store = settings.store.model_copy(update={"path": str(folder / "events.sqlite3")})
    return settings.model_copy(update={"handoff": handoff, "console": console, "store": store})


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accounts(settings) -> str:
    password = secrets.token_urlsafe(9)
    store = ConsoleStore(Path(settings.console.database))
    digest = hash_password(password)
    for i, p in enumerate(settings.handoff.producers, 1):
        store.add_account_now(Account(f"p{i}", Role.PRODUCER, p.name), digest)
    store.close()
    return password


async def log_in(browser, base: str, name: str, password: str):
    context = await browser.new_context(base_url=base)
    await context.add_init_script(SEEN)
    page = await context.new_page()
    await page.goto("/login")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(base + "/")
    await page.locator("#live.on").wait_for()
    return page


async def measure(state: dict, settings, calls: int, interval: float, seed: int) -> tuple[list[float], Counter]:
    password = await asyncio.to_thread(accounts, settings)
    rings: dict[str, float] = {}  # wl-<call>-p1 -> Asterisk's Timestamp of Newstate Ringing
    ami = Manager(host=state["ami_host"], port=state["ami_port"], username=state["ami_username"],
                  secret=state["ami_password"], ping_delay=86400, reconnect_timeout=86400)
    ami.register_event("Newstate", lambda _m, e: rings.setdefault(e.get("Uniqueid", ""), float(e["Timestamp"]))
                       if e.get("ChannelStateDesc") == "Ringing" and e.get("Timestamp") else None)
    await ami.connect()
    events: list = []
    store = open_store(settings.store)
    rng = random.Random(seed)
    margins, missed = [], Counter()
    try:
        async with running_console(settings, store) as console, async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            base = f"http://{settings.console.listen}"
            pages = {prod.name: await log_in(browser, base, f"p{i}", password)
                     for i, prod in enumerate(settings.handoff.producers, 1)}
            app = StasisApp(settings, EscalateAtOnce, [store.record, console, events.append], console)
            stop = asyncio.Event()
            runner = asyncio.create_task(app.run(stop), name="bench-stasis-app")
            await asyncio.wait_for(app.connected.wait(), 15)
            async with CallerSimulator(app.client) as sim:
                placed = []
                for _ in range(calls):
                    placed.append(asyncio.create_task(sim.place()))
                    await asyncio.sleep(rng.expovariate(1 / interval))
                await asyncio.gather(*placed)
                deadline = time.monotonic() + 60
                while sum(isinstance(e, TalkEnded) for e in events) < calls and time.monotonic() < deadline:
                    await asyncio.sleep(0.2)
            for plan in (e for e in events if isinstance(e, TransferPlanned)):
                if not plan.ring:
                    missed["nobody free"] += 1  # all on a call or in wrap-up: on to the queue, no pop to time
                    continue
                ring = rings.get(f"wl-{plan.call_id}-p1")
                rendered = await pages[plan.ring[0]].evaluate(f"window.__seen[{plan.call_id!r}]?.at")
                if ring is None or rendered is None:
                    missed["no ring" if ring is None else "no pop"] += 1  # counted, not hidden
                    continue
                margins.append((ring - rendered / 1000) * 1000)
            stop.set()
            await runner
            await browser.close()
    finally:
        ami.close()
        store.close()
    return margins, missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--interval", type=float, default=6.0, help="mean seconds between calls (Poisson)")
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sandbox", default=SANDBOX)
    args = parser.parse_args()
    up = subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "up", "--name", args.sandbox],
                        capture_output=True, text=True, check=True)
    state = json.loads(Path(up.stdout.strip()).read_text())
    try:
        subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "cli", "--name", args.sandbox,
                        "dialplan set global SANDBOX_TALK_S 1"], capture_output=True, check=True)
        with tempfile.TemporaryDirectory(prefix="warmline-pop-bench-") as folder:
            settings = configure(state, args.producers, Path(folder))
            margins, missed = asyncio.run(measure(state, settings, args.calls, args.interval, args.seed))
    finally:
        subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "down", "--name", args.sandbox], capture_output=True)
    margins.sort()
    print(f"machine: {machine()}")
    unmeasured = ", ".join(f"{n} {why}" for why, n in missed.items()) or "none"
    if not margins:
        print(f"no call measured (unmeasured: {unmeasured})")
        return
    p5 = margins[max(0, round(0.05 * len(margins)) - 1)]
    print(f"{len(margins)} calls timed (unmeasured: {unmeasured}), {args.producers} producers, Poisson mean "
          f"{args.interval:g} s. The pop before the ring: p50 {statistics.median(margins):.0f} ms; 95% of calls "
          f"by at least {p5:.0f} ms; least {margins[0]:.0f} ms; pops after the ring: {sum(m <= 0 for m in margins)}")


if __name__ == "__main__":
    main()
