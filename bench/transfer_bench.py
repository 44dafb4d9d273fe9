"""Hand-off decision → producer's phone ringing, on the sandbox Asterisk (goal: p95 ≤ 300 ms).

    .venv/bin/python bench/transfer_bench.py [--calls 30] [--sandbox NAME]

Each call enters Warmline's Stasis app like a real one (answer, media, snoop); a bench session
then decides at once to escalate (regulated_intent → licensed) through the same code a
conversation uses (payload built and stored, route returned). Warmline then releases its media,
reads the producer's availability, holds the caller, creates the producer's channel with the
context on it, sends the user event and dials a simulated desk phone over real SIP
(dialplan/sandbox/pjsip_local.conf.in). Measured: the route decision (HandoffPrepared) to the
PBX's ChannelStateChange to Ringing for the producer's channel reaching Warmline (ProducerRinging).
The spoken "I'm connecting you…" message a real conversation plays first is not included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from warmline.ari_app.app import StasisApp  # noqa: E402
from warmline.ari_app.client import AriClient  # noqa: E402
from warmline.ari_app.simulate import CallerSimulator  # noqa: E402
from warmline.calls.events import CallEnded  # noqa: E402
from warmline.calls.session import CallSession, SessionResult  # noqa: E402
from warmline.config import load_settings  # noqa: E402
from warmline.dialog.dialogue import Ending  # noqa: E402
from warmline.dialog.events import EscalationDecided  # noqa: E402
from warmline.dialog.triggers import Escalation, Reason  # noqa: E402
from warmline.handoff.events import HandoffPrepared, ProducerRinging  # noqa: E402
from warmline.handoff.route import route_for  # noqa: E402
from warmline.handoff.routing import Producer  # noqa: E402

from bench.common import machine  # noqa: E402

SANDBOX = "bench-transfer"


class EscalateAtOnce(CallSession):
    async def run(self, audio) -> SessionResult:
        escalation = Escalation(Reason.REGULATED_INTENT, "coverage_advice", "bench", False)
        self.journal.emit(EscalationDecided(call_id=self.info.call_id, reason=str(escalation.reason),
                                            intent=escalation.intent, detail="bench", final=False, queue="licensed"))
        route = route_for(Ending("escalated", "licensed", escalation), self.journal)
        return SessionResult(0, 0.0, "bench", route)


async def measure(settings, calls: int) -> list[float]:
    import aiohttp

    events: list = []
    app = StasisApp(settings, EscalateAtOnce, [events.append])
    stop = asyncio.Event()
    runner = asyncio.create_task(app.run(stop), name="bench-stasis-app")
    await asyncio.wait_for(app.connected.wait(), 15)
    gaps = []
    async with aiohttp.ClientSession() as http:
        ari = AriClient(settings.ari, http)
        async with CallerSimulator(ari) as sim:
            for _ in range(calls):
                before = len(events)
                call = await sim.place()
                ringing = await _wait(events, before, ProducerRinging)
                decided = next(e for e in events[before:] if isinstance(e, HandoffPrepared))
                gaps.append((ringing.at - decided.at) * 1000)
                await sim.hang_up(call)
                await _wait(events, before, CallEnded)
    stop.set()
    await runner
    return gaps


async def _wait(events, start, kind, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = next((e for e in events[start:] if isinstance(e, kind)), None)
        if found is not None:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"no {kind.__name__} in {timeout} s")
        await asyncio.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--sandbox", default=SANDBOX, help=f"sandbox name (default {SANDBOX}); use your own when "
                        "others run sandboxes on the same machine")
    args = parser.parse_args()
    up = subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "up", "--name", args.sandbox],
                        capture_output=True, text=True, check=True)
    state = json.loads(Path(up.stdout.strip()).read_text())
    try:
        settings = load_settings(state["config"])
        ring = Producer(name="bench", endpoint="PJSIP/ringout@producer-phones", queues=("licensed",), states=("MA",))
        settings = settings.model_copy(update={"handoff": settings.handoff.model_copy(update={"producers": (ring,)})})
        gaps = asyncio.run(measure(settings, args.calls))
    finally:
        subprocess.run([str(REPO / "scripts/asterisk-sandbox"), "down", "--name", args.sandbox], capture_output=True)
    gaps.sort()
    p95 = gaps[max(0, round(0.95 * len(gaps)) - 1)]
    print(f"machine: {machine()}")
    print(f"{len(gaps)} hand-offs, decision → producer ringing: p50 {statistics.median(gaps):.0f} ms, "
          f"p95 {p95:.0f} ms, max {gaps[-1]:.0f} ms (goal p95 ≤ 300 ms)")


if __name__ == "__main__":
    main()
