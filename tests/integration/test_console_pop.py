"""The producer console against the sandbox Asterisk, in Debian's Chromium: an escalated call pops
on the producer's screen before their phone rings, then the talk, the wrap-up (paused in
Asterisk's queues until it is tagged) and the disposition, saved.

Both clocks are the machine's own: the browser's render time of the pop card (performance.timeOrigin
+ now, taken by a MutationObserver the page does not know about) and the Timestamp Asterisk puts on
AMI's `Newstate` (ChannelStateDesc Ringing) of the producer's channel (manager.conf
`timestampevents = yes`). Proof of order, not a speed test: the margin is measured in bench/.
"""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestServer
from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.console.web import make_app
from warmline.handoff.routing import Producer
from warmline.nlu.taxonomy import INTENTS
from warmline.speech.prompts import Catalog, packaged_catalog
from warmline.speech.services import build_services

from ..console.conftest import QUEUES, Bench
from ..console.chromium import ARGS, CHROMIUM
from ..console.test_console_browser import Screens, expect, playwright
from .conftest import of, wait_until_empty
from .test_desk import DESK_AGENT, member_state, paused, running_with_desk
from .test_transfer import REGULATED, AmiLog

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                              "(scripts/bootstrap installs it as root)")

DANA = Producer(name="Dana Reyes", endpoint="PJSIP/accept@producer-phones", queues=("licensed", "service"),
                states=("MA",), queue_member=DESK_AGENT)  # her queue-member interface: in warmline-desk-a/b


class ConsoleDesk:
    """The console as serve hands it to the plugin (DeskHost), with the readiness the runner waits on."""

    def __init__(self, console) -> None:
        self.console = console
        self.ready = asyncio.Event()

    def attach(self, actions) -> None:
        self.console.attach(actions)
        if actions is not None:
            self.ready.set()

    def in_wrap_up(self) -> frozenset[str]:
        return self.console.in_wrap_up()


def ringing_at(ami: AmiLog, call_id: str) -> float:
    """Asterisk's own time of the producer's channel ringing (the leg Warmline made: wl-<call>-p1)."""
    [ring] = [e for e in ami.of("Newstate", ChannelStateDesc="Ringing") if e.get("Uniqueid") == f"wl-{call_id}-p1"]
    return float(ring["Timestamp"])


async def test_the_pop_is_on_the_producers_screen_before_the_phone_rings_then_wrap_up_unpauses(
        sandbox, ari, kit, voices, tmp_path):
    bench = Bench(tmp_path)
    await bench.open()
    handoff = sandbox.settings.handoff.model_copy(update={"producers": (DANA,), "ring_timeout_s": 6,
                                                          "accept_timeout_s": 3.0})
    settings = sandbox.settings.model_copy(update={"handoff": handoff})
    services = build_services(settings.vad, settings.stt)
    server = TestServer(make_app(bench.console, texts=dict(Catalog.load(packaged_catalog()).texts), queues=QUEUES,
                                 intents=tuple(INTENTS)), host="127.0.0.1")
    await server.start_server()
    journals, call_id, stored = Journals(), "", []
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            screens = Screens(str(server.make_url("")).rstrip("/"), browser)
            dana = await screens.log_in("dana")
            await expect(dana.locator("#live")).to_have_class(re.compile(r"\bon\b"))  # stream open, caught up
            desk = ConsoleDesk(bench.console)
            async with AmiLog(sandbox.state) as ami, \
                    running_with_desk(settings, kit.sessions(services), [journals, bench.events.record, bench.console],
                                      desk), \
                    CallerSimulator(ari) as sim:
                call = await sim.place()
                talk = asyncio.create_task(converse(sim, journals, voices, call, REGULATED, turn_timeout_s=90))
                await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TransferBridged", 90)
                call_id = journals.of(call.caller_channel_id).events[0].call_id
                pop = dana.locator(f"#pop-{call_id}")
                await expect(pop).to_have_attribute("data-status", "bridged")
                rendered_s = await dana.evaluate(f"window.__seen[{call_id!r}].at") / 1000
                rang_s = ringing_at(ami, call_id)
                # the producer hangs up (the sandbox phone talks SANDBOX_TALK_S): their wrap-up starts
                await expect(pop).to_have_attribute("data-status", "wrap_up", timeout=30_000)
                form = pop.locator("form.disposition")
                await expect(form).to_be_visible()
                assert paused(await member_state(sandbox, "warmline-desk-a", DESK_AGENT))  # QueuePause, real
                assert paused(await member_state(sandbox, "warmline-desk-b", DESK_AGENT))
                await form.get_by_label("Escalated correctly, and I resolved it").check()
                await form.get_by_label("No", exact=True).check()
                await form.get_by_role("button", name="Save disposition").click()
                await expect(dana.locator(".flash")).to_contain_text("Saved")
                for _ in range(50):  # the un-pause is the console's background step after the save
                    if not paused(await member_state(sandbox, "warmline-desk-a", DESK_AGENT)):
                        break
                    await asyncio.sleep(0.1)
                assert not paused(await member_state(sandbox, "warmline-desk-a", DESK_AGENT))
                assert not paused(await member_state(sandbox, "warmline-desk-b", DESK_AGENT))
                await talk
                assert await wait_until_empty(ari, timeout=30) == ([], []), "legs or bridges left behind"
            await browser.close()
        assert screens.unexpected() == []
    finally:
        for sub in list(bench.console.subscribers):
            sub.send(("bye",))
        await server.close()
        services.close()
        stored = bench.events.events(call_id) if call_id else []
        await bench.close()
    assert rendered_s < rang_s, f"the pop came {rendered_s - rang_s:.3f} s AFTER the phone rang"
    events = journals.of(call.caller_channel_id).events
    [bridged], [talk_end] = of(events, "TransferBridged"), of(events, "TalkEnded")
    assert bridged.producer == "Dana Reyes" and talk_end.ended_by == "producer"
    [tag] = [e for e in stored if type(e).__name__ == "DispositionRecorded"]
    assert (tag.producer, tag.by, str(tag.disposition), tag.caller_repeated) == ("Dana Reyes", "dana", "resolved",
                                                                                 False)
    assert tag.at > talk_end.at  # tagged after the talk, not during it
