"""The console as a producer and a supervisor see it: Debian's Chromium (Playwright, never a downloaded
browser) on the real app, served on 127.0.0.1, fed the events of real-shaped calls while the pages are
open. Pops arrive by the live stream alone (no reload), caller words stay text, the wrap-up form is
required, and the board's buttons reach the PBX. The same tests write docs/console/*.png
(with WARMLINE_SCREENSHOTS=1)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from warmline.calls.events import CallStarted, PromptStarted
from warmline.console.web import make_app
from warmline.dialog.events import CallerTurn
from warmline.handoff.events import DispositionRecorded
from warmline.nlu.taxonomy import INTENTS
from warmline.speech.prompts import Catalog, packaged_catalog

from .calls import accepted_call, answered, bridged, dialled, escalated, lost, planned, ringing
from .chromium import ARGS, CHROMIUM, SEEN
from .conftest import PASSWORD, QUEUES, RecordingDesk

playwright = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
expect = playwright.expect

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 800}
POP_WITHIN_S = 3.0
ATTACK = "<script>window.__pwned=1</script> my <b>bold</b> question"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="Debian's chromium is not installed at /usr/bin/chromium "
                                       "(scripts/bootstrap installs it as root)")


class Screens:
    """The console on an ephemeral 127.0.0.1 port and one Chromium; a browser context per person."""

    def __init__(self, base: str, browser) -> None:
        self.base, self.browser = base, browser
        self.problems: list[str] = []  # console errors and uncaught exceptions, on every page
        self.expected: list[str] = []  # (a page the test opens to be refused logs its status: fine)

    async def log_in(self, name: str, lands: str = "/"):
        context = await self.browser.new_context(viewport=VIEWPORT, base_url=self.base)
        await context.add_init_script(SEEN)
        page = await context.new_page()
        self.watch(page)
        await page.goto("/login")
        await page.get_by_label("Name").fill(name)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page).to_have_url(self.base + lands)
        return page

    def watch(self, page) -> None:
        page.on("console", lambda m: self.problems.append(f"{m.text} ({m.location.get('url')})")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(re.search(x, p) for x in self.expected)]


@pytest.fixture
async def screens(bench):
    # as serve makes it: with the packaged prompt texts, so the pop says what the caller heard
    app = make_app(bench.console, texts=dict(Catalog.load(packaged_catalog()).texts), queues=QUEUES,
                   intents=tuple(INTENTS))
    server = TestServer(app, host="127.0.0.1")  # port 0: an ephemeral one
    await server.start_server()
    try:
        async with playwright.async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                screens = Screens(str(server.make_url("")).rstrip("/"), browser)
                yield screens
            finally:
                await browser.close()
        assert screens.unexpected() == []  # no CSP violation, no script error, on any page
    finally:
        for sub in list(bench.console.subscribers):
            sub.send(("bye",))  # the open live streams end now, not at their next heartbeat
        await server.close()


@pytest.fixture
def desk(bench):
    desk = RecordingDesk()
    bench.console.attach(desk)
    return desk


async def live(page) -> None:
    """The page is live: its stream open (subscribed on the server) and what came before it fetched."""
    await expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))


async def until(check, timeout: float = 5.0) -> None:
    """Polls a condition on the server side (a background task of the console) until it holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def tags(bench, call_id: str) -> list[DispositionRecorded]:
    return [e for e in bench.events.events(call_id) if isinstance(e, DispositionRecorded)]


def rung(call_id: str, *producers: str) -> list:
    """The transfer planned to these producers, the first dialled and ringing (the pop comes on the plan)."""
    return [planned(call_id, *producers), dialled(call_id, producers[0]), ringing(call_id, producers[0])]


def timed(events: list, start: float) -> list:
    """The same events one second apart from `start` (the helpers stamp the transfer's with now)."""
    return [dataclasses.replace(e, at=start + i) for i, e in enumerate(events)]


def shot(name: str) -> Path:
    """docs/console/<name> when WARMLINE_SCREENSHOTS=1 (the README's pictures); else a scratch file."""
    folder = SHOTS if os.environ.get("WARMLINE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "warmline-shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


# --- 1. the pop, pushed live ----------------------------------------------------------------------

async def test_the_pop_is_pushed_live_most_important_first_and_caller_words_are_text(bench, screens):
    dana = await screens.log_in("dana")
    await expect(dana.locator("#idle")).to_be_visible()
    await live(dana)

    call = "3f9c2a7e51d0"
    fed = time.time()
    bench.feed([*escalated(call), *rung(call, "Dana Reyes")])  # no reload from here on
    pop = dana.locator(f"#pop-{call}")
    await expect(pop).to_have_attribute("data-status", "ringing")
    seen = await dana.evaluate(f"window.__seen[{call!r}]")
    assert seen is not None and seen["status"] == "ringing"
    assert -0.1 < seen["at"] / 1000 - fed < POP_WITHIN_S, (seen, fed)  # the browser's clock vs the feed's
    assert seen.get("frame", seen["at"]) / 1000 - fed < POP_WITHIN_S
    await expect(dana.locator("#idle")).to_be_hidden()

    # most important first: who, verified or not, their own first words, why a person
    parts = [pop.locator(".caller-name"), pop.locator(".badge"), pop.locator(".first-words"), pop.locator(".reason")]
    await expect(parts[0]).to_have_text("Maria Alvarez")
    await expect(parts[1]).to_contain_text("VERIFIED")
    await expect(parts[1]).not_to_contain_text("NOT VERIFIED")
    await expect(parts[1]).to_contain_text("policy number and date of birth")
    await expect(parts[2]).to_have_text("“Should I add full coverage to my car?”")
    await expect(parts[3]).to_contain_text("Needs a licensed producer")
    await expect(pop.locator(".state")).to_have_text("Ringing you")
    tops = [(await p.bounding_box())["y"] for p in parts]
    assert tops == sorted(tops) and len(set(tops)) == 4, tops
    # the CRM snapshot follows by itself, and the second factor stays withheld
    await expect(pop.locator(".crm")).to_contain_text("Policy")
    await expect(pop.locator(".transcript")).to_contain_text("[identity answer withheld]")
    await expect(pop.locator(".transcript")).not_to_contain_text("1980")
    await dana.screenshot(path=shot("pop.png"))

    # a caller's words with markup in them: shown as the literal text, never run or rendered
    second = "b81e04c6d2a9"
    bench.feed([*escalated(second, words=ATTACK, verified=False), *rung(second, "Dana Reyes")])
    other = dana.locator(f"#pop-{second}")
    await expect(other.locator(".badge")).to_contain_text("NOT VERIFIED")
    await expect(other.locator(".caller-name")).to_have_text("PAT CALLER")
    await expect(other.locator(".first-words")).to_have_text(f"“{ATTACK}”")
    await expect(other.locator(".transcript .caller .text").first).to_have_text(ATTACK)
    assert await other.locator(".first-words b, .transcript .text b, script").count() == 0
    assert await dana.evaluate("typeof window.__pwned") == "undefined"
    assert await dana.locator("article.pop").count() == 2
    assert await dana.locator("article.pop").first.get_attribute("data-call-id") == second  # newest on top


# --- 2. only the producer it was handed to ----------------------------------------------------------

async def test_another_producer_neither_sees_the_pop_nor_opens_the_call(bench, screens):
    dana, sam = await screens.log_in("dana"), await screens.log_in("sam")
    await live(dana)
    await live(sam)

    call = "5d27be90a4c1"
    bench.feed([*escalated(call), *rung(call, "Dana Reyes")])
    await expect(dana.locator(f"#pop-{call}")).to_be_visible()
    # a later call for Sam reaches his page: the stream is in order, so Dana's would have come before it
    his = "e6a0d3f1c872"
    bench.feed([*escalated(his, verified=False), *rung(his, "Sam Ortiz")])
    await expect(sam.locator(f"#pop-{his}")).to_be_visible()
    assert await sam.locator(f"#pop-{call}").count() == 0
    assert await sam.locator("article.pop").count() == 1
    assert await sam.locator("text=Maria Alvarez").count() == 0
    assert await dana.locator(f"#pop-{his}").count() == 0

    screens.expected += [rf"status of 403 .*/calls/{call}\)$", r"status of 404 .*/favicon\.ico\)$"]  # a bare text page
    response = await sam.goto(f"/calls/{call}")
    assert response.status == 403
    await expect(sam.locator("body")).to_have_text("this call was not handed to you")
    assert "Maria Alvarez" not in await sam.content()


# --- 3. a decline moves the pop -----------------------------------------------------------------------

async def test_a_decline_moves_the_pop_to_the_next_producer_live(bench, screens):
    dana, sam = await screens.log_in("dana"), await screens.log_in("sam")
    await live(dana)
    await live(sam)

    call = "9a4c61e0f3b7"
    bench.feed([*escalated(call), *rung(call, "Dana Reyes", "Sam Ortiz")])
    hers, his = dana.locator(f"#pop-{call}"), sam.locator(f"#pop-{call}")
    await expect(hers).to_have_attribute("data-status", "ringing")
    assert await his.count() == 0  # not his yet

    bench.feed([answered(call, "Dana Reyes"), lost(call, "Dana Reyes", "declined")])
    await expect(hers).to_have_attribute("data-status", "passed")
    await expect(hers.locator(".state")).to_have_text("You passed (you declined)")
    await expect(his).to_have_attribute("data-status", "ringing")  # before his leg is even created
    await expect(his.locator(".caller-name")).to_have_text("Maria Alvarez")
    at_sam = await sam.evaluate(f"window.__seen[{call!r}].at")

    bench.feed([dialled(call, "Sam Ortiz", attempt=2), ringing(call, "Sam Ortiz"), answered(call, "Sam Ortiz"),
                bridged(call, "Sam Ortiz")])
    await expect(his).to_have_attribute("data-status", "bridged")
    await expect(his.locator(".state")).to_have_text("You accepted — with the caller")
    await expect(hers).to_have_attribute("data-status", "passed")  # hers stays passed
    assert await sam.evaluate(f"window.__seen[{call!r}].at") == at_sam  # updated in place, not re-added
    assert await sam.locator("article.pop").count() == 1


# --- 4. the wrap-up ---------------------------------------------------------------------------------

async def test_the_wrap_up_needs_a_disposition_and_stays_saved(bench, screens, desk):
    dana = await screens.log_in("dana")
    await live(dana)

    call = "c40f8e2b7d15"
    talk = accepted_call(call, "Dana Reyes")
    bench.feed(talk[:-1])  # with the caller: Warmline's part is over (CallEnded), the talk goes on
    pop = dana.locator(f"#pop-{call}")
    await expect(pop).to_have_attribute("data-status", "bridged")
    assert await pop.locator("form.disposition").count() == 0
    bench.feed(talk[-1:])  # TalkEnded: the producer now owes a disposition
    form = pop.locator("form.disposition")
    await expect(pop).to_have_attribute("data-status", "wrap_up")
    await expect(pop.locator(".state")).to_have_text("Tag this call")
    await expect(form).to_be_visible()
    await until(lambda: desk.calls == [("pause", "Dana Reyes", True, "wrap-up")])

    # nothing chosen: the browser does not send it
    await form.get_by_role("button", name="Save disposition").click()
    first_choice = form.locator('input[name="disposition"]').first
    assert await first_choice.evaluate("e => e.validity.valueMissing")
    await expect(dana).to_have_url(screens.base + "/")
    # and sent anyway (a browser that skips validation): the server refuses and says what is missing
    await form.evaluate("f => { f.noValidate = true; }")
    screens.expected.append(rf"status of 400 .*/calls/{call}/disposition\)$")
    async with dana.expect_navigation():
        await form.get_by_role("button", name="Save disposition").click()
    await expect(dana.locator("#form-error")).to_contain_text("choose what this transfer was")
    await expect(form).to_be_visible()  # still asked
    assert tags(bench, call) == []
    assert not (await bench.console.store.wrapup(call, "Dana Reyes")).done
    await dana.goto("/")
    await live(dana)
    await expect(form).to_be_visible()  # and on the desk again, as long as it is owed

    # the AI misread it: the right intent is asked for only then, and required
    intent = form.locator("select.for-misidentified")
    await expect(intent).to_be_hidden()
    await form.get_by_label("The AI misidentified the intent").check()
    await expect(intent).to_be_visible()
    assert await intent.evaluate("s => s.required")
    await intent.select_option("policy_change")
    await form.get_by_label("Yes").check()
    await form.get_by_label("Notes (optional)").fill("Wanted to add a driver, not advice on coverage.")
    await dana.screenshot(path=shot("wrap-up.png"), full_page=True)  # 1280 wide, the whole pop and its form
    await form.get_by_role("button", name="Save disposition").click()

    await expect(dana).to_have_url(f"{screens.base}/?saved={call}")
    await expect(dana.locator(".flash")).to_contain_text("Saved")
    assert [(e.producer, e.by, str(e.disposition), e.intent, e.caller_repeated) for e in tags(bench, call)] == [
        ("Dana Reyes", "dana", "misidentified", "policy_change", True)]
    assert desk.calls == [("pause", "Dana Reyes", True, "wrap-up"), ("pause", "Dana Reyes", False, "wrap-up")]

    await dana.reload()
    await expect(dana.locator("#idle")).to_be_visible()
    assert await dana.locator("form.disposition").count() == 0  # not asked again
    await dana.goto(f"/calls/{call}")
    saved = dana.locator(f"#pop-{call} .saved")
    await expect(saved).to_contain_text("Saved: The AI misidentified the intent → policy_change")
    await expect(saved).to_contain_text("caller repeated: yes · by dana")
    assert await dana.locator("form.disposition").count() == 0
    assert len(tags(bench, call)) == 1


# --- 5. the supervisors' board ------------------------------------------------------------------------

async def test_the_board_shows_calls_and_producers_and_listen_reaches_the_pbx(bench, screens, desk):
    bench.console.producers = ("Dana Reyes", "Sam Ortiz", "Ellen Park", "Marcus Reed")  # [handoff] producers
    talk, ring, wrap, ai = "7b3e9d10a6f4", "1c8f5a27e9b0", "f2d6047c3a85", "04ae7b61d9c3"
    now = time.time()
    bench.feed([*escalated(talk, at=now - 260),
                *timed([*rung(talk, "Dana Reyes"), answered(talk, "Dana Reyes"), bridged(talk, "Dana Reyes")],
                       now - 247)])
    bench.feed([*escalated(ring, at=now - 30, verified=False), *timed(rung(ring, "Sam Ortiz"), now - 17)])
    after = accepted_call(wrap, "Ellen Park", at=now - 410)
    bench.feed([*after[:-6], *timed(after[-6:], now - 397)])
    sue = await screens.log_in("sue", lands="/board")
    await live(sue)
    board = sue.locator("#board")
    await expect(board.locator(".count")).to_have_text("2")  # Ellen's talk is over: she is on the list, in wrap-up

    # a call starts with the AI while the board is open: it appears by itself
    bench.feed([CallStarted(call_id=ai, at=now - 20, pbx="asterisk", channel_id=f"ch-{ai}", caller_number="2075550187",
                            caller_name="J HOLLOWAY", dialed="100"),
                PromptStarted(call_id=ai, at=now - 19, prompt="greeting"),
                CallerTurn(call_id=ai, at=now - 14, turn=1, text="When is my next payment due?", answer=False,
                           intent="billing_inquiry", confidence=0.95, action="contain", entities=(), sentiment=0.1)])
    await expect(board.locator(".count")).to_have_text("3")
    rows = {c: board.locator(f'tr[data-call-id="{c}"]') for c in (talk, ring, wrap, ai)}
    await expect(rows[talk]).to_contain_text("with Dana Reyes")
    await expect(rows[ring]).to_contain_text("ringing Sam Ortiz")
    await expect(rows[wrap]).to_have_count(0)  # not a call in progress any more
    await expect(rows[ai]).to_contain_text("with the AI")
    await expect(rows[ai]).to_contain_text("billing inquiry, turn 1")
    await expect(rows[ai].get_by_role("button", name="Take over")).to_be_visible()
    assert await rows[ring].get_by_role("button").count() == 0  # nothing to listen to yet

    states = {"Dana Reyes": "on a call", "Sam Ortiz": "ringing", "Ellen Park": "wrap-up", "Marcus Reed": "free"}
    for name, state in states.items():
        item = board.locator(".producers li", has_text=name)
        await expect(item.locator(".state")).to_have_text(state)
    await expect(board.locator(".producers li")).to_have_count(4)
    await sue.screenshot(path=shot("board.png"))

    before = len(desk.calls)
    await rows[talk].get_by_role("button", name="Listen").click()
    await expect(sue.locator(".flash")).to_have_text("listen: your phone (PJSIP/2001) is ringing")
    assert desk.calls[before:] == [("supervise", talk, "PJSIP/2001", "listen")]


# --- 6. nothing is lost while the live stream is connecting or down ---------------------------------

async def test_a_pop_fed_while_the_stream_is_connecting_or_down_still_arrives(bench, screens):
    dana = await screens.log_in("dana")
    await live(dana)
    await expect(dana.locator("#idle")).to_be_visible()

    # the page is rendered, its stream not open yet (held here): a call comes for Dana in between
    gate = asyncio.Event()

    async def hold(route):
        await gate.wait()
        await route.continue_()

    await dana.route("**/events", hold)
    async with dana.expect_request("**/events"):
        await dana.reload()
    early = "2a7d90c4e1f8"
    bench.feed([*escalated(early), *rung(early, "Dana Reyes")])
    gate.set()
    await live(dana)
    await expect(dana.locator(f"#pop-{early}")).to_have_attribute("data-status", "ringing")
    await expect(dana.locator("#idle")).to_be_hidden()
    await dana.unroute("**/events")

    # a wrap-up half filled in when the stream drops: a call that comes meanwhile arrives on the
    # reconnect, and what she chose is still chosen
    wrap = "d83b1f6a09e2"
    bench.feed(accepted_call(wrap, "Dana Reyes"))
    form = dana.locator(f"#pop-{wrap} form.disposition")
    await form.get_by_label("Escalated correctly, and I resolved it").check()
    for sub in list(bench.console.subscribers):
        sub.send(("bye",))  # the server closes the streams (as when one falls behind)
    await expect(dana.locator("#live")).not_to_have_class(re.compile(r"\bon\b"))
    late = "61c5e8b2f7a0"
    bench.feed([*escalated(late, verified=False), *rung(late, "Dana Reyes")])
    await live(dana)  # EventSource reconnects by itself (retry: 1000 ms)
    await expect(dana.locator(f"#pop-{late}")).to_have_attribute("data-status", "ringing")
    await expect(form.get_by_label("Escalated correctly, and I resolved it")).to_be_checked()
    assert await dana.locator("article.pop").count() == 3
