"""The console over HTTP (aiohttp's test client, real SQLite files): auth, sessions, CSRF, roles,
the rate limit, the idle timeout, the wrap-up form, and dispositions stored once, everywhere."""

import asyncio
import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from warmline.console.store import token_hash
from warmline.handoff.events import DispositionRecorded

from .calls import accepted_call, escalated, planned
from .conftest import PASSWORD, Bench, RecordingDesk, csrf_of, login

GOOD = {"disposition": "resolved", "caller_repeated": "no", "notes": "quoted full coverage"}


async def test_pages_redirect_to_login_and_the_api_answers_401(client):
    page = await client.get("/", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/login")
    for path in ("/api/calls/x", "/events", "/fragments/board"):
        assert (await client.get(path)).status == 401, path
    assert (await client.post("/calls/x/disposition", data=GOOD)).status == 401


async def test_session_cookie_is_httponly_and_strict_and_stored_hashed(client, bench):
    page = await client.get("/login")
    resp = await client.post("/login", data={"name": "dana", "password": PASSWORD, "csrf": csrf_of(await page.text())},
                             allow_redirects=False)
    cookie = resp.cookies["wl_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    rows = bench.console.store._locked(bench.console.store._rows("SELECT token_hash FROM sessions"))
    assert rows == [(token_hash(cookie.value),)]  # the table holds no usable cookie


async def test_cookies_are_secure_behind_tls(tmp_path):
    b = Bench(tmp_path, behind_tls_proxy=True)
    await b.open()
    try:
        async with TestClient(TestServer(b.app())) as c:
            page = await c.get("/login")  # (over plain HTTP here, so the test's jar will not send it back)
            assert page.cookies["wl_login"]["secure"] and page.cookies["wl_login"]["samesite"] == "Strict"
    finally:
        await b.close()


async def test_wrong_password_and_a_stale_login_form_are_refused(client):
    page = await client.get("/login")
    bad = await client.post("/login", data={"name": "dana", "password": "nope", "csrf": csrf_of(await page.text())})
    assert bad.status == 401 and "Wrong name or password" in await bad.text()
    forged = await client.post("/login", data={"name": "dana", "password": PASSWORD, "csrf": "guess"})
    assert forged.status == 403


async def test_login_is_rate_limited_per_account(client):
    for _ in range(5):
        page = await client.get("/login")
        await client.post("/login", data={"name": "dana", "password": "wrong", "csrf": csrf_of(await page.text())})
    page = await client.get("/login")
    resp = await client.post("/login", data={"name": "dana", "password": PASSWORD, "csrf": csrf_of(await page.text())},
                             allow_redirects=False)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0  # even the right password waits


def test_the_limiter_counts_names_and_addresses_in_a_window():
    from warmline.console.auth import LoginLimiter

    limiter = LoginLimiter(attempts=3, window_s=60)
    for i in range(3):
        limiter.failed((f"name:u{i}", "addr:1.2.3.4"), now=i)
    assert limiter.retry_after(("name:new", "addr:1.2.3.4"), now=3) == pytest.approx(57)  # the address is stopped
    assert limiter.retry_after(("name:new", "addr:5.6.7.8"), now=3) == 0
    assert limiter.retry_after(("name:new", "addr:1.2.3.4"), now=61) == 0  # the window slid on


async def test_state_changes_need_the_session_csrf_token(client, bench):
    csrf = await login(client, "dana")
    assert (await client.post("/api/alive")).status == 403
    assert (await client.post("/api/alive", headers={"X-CSRF-Token": "forged"})).status == 403
    assert (await client.post("/api/alive", headers={"X-CSRF-Token": csrf})).status == 200
    assert (await client.post("/logout", data={"csrf": "forged"}, allow_redirects=False)).status == 403


async def test_logout_ends_the_session(client):
    csrf = await login(client, "dana")
    resp = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    assert (await client.get("/api/calls/x")).status == 401


async def test_an_idle_session_is_logged_out(client, bench):
    await login(client, "dana")
    store = bench.console.store
    idle = bench.settings.idle_timeout_s
    await store._run(store._change("UPDATE sessions SET last_seen = ?", (time.time() - idle - 1,)))
    page = await client.get("/", allow_redirects=False)
    assert page.status == 302 and page.headers["Location"].startswith("/login")
    assert store._locked(store._rows("SELECT count(*) FROM sessions")) == [(0,)]


async def test_roles_see_what_they_may(client, bench):
    bench.feed([*escalated("c-dana"), planned("c-dana", "Dana Reyes"), *escalated("c-sam"), planned("c-sam", "Sam Ortiz")])
    await login(client, "dana")
    assert (await client.get("/api/calls/c-dana")).status == 200
    assert (await client.get("/api/calls/c-sam")).status == 403  # not handed to Dana
    assert (await client.get("/calls/c-sam")).status == 403
    assert (await client.get("/board")).status == 403
    for name, allowed in (("sue", 200), ("olive", 200), ("ada", 403)):
        client.session.cookie_jar.clear()
        await login(client, name)
        assert (await client.get("/api/calls/c-sam")).status == allowed, name
    assert (await client.get("/accounts")).status == 200  # ada, the admin


async def test_caller_words_are_inert_on_the_page(client, bench):
    attack = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    bench.feed([*escalated("c1", words=attack), planned("c1", "Dana Reyes")])
    await login(client, "dana")
    html = await (await client.get("/calls/c1")).text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = await client.get("/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


async def test_the_second_factor_answer_stays_withheld(client, bench):
    bench.feed([*escalated("c1"), planned("c1", "Dana Reyes")])
    await login(client, "dana")
    body = await (await client.get("/api/calls/c1")).json()
    said = [text for _, speaker, text in body["transcript"] if speaker == "caller"]
    assert "[identity answer withheld]" in said and not any("1980" in t for t in said)


async def _tag(client, csrf, call_id, form, accept_json=True):
    headers = {"Accept": "application/json"} if accept_json else {}
    return await client.post(f"/calls/{call_id}/disposition", data={**form, "csrf": csrf}, headers=headers,
                             allow_redirects=False)


@pytest.mark.parametrize("form, problem", [
    ({"caller_repeated": "no"}, "choose what this transfer was"),
    ({"disposition": "made_up", "caller_repeated": "no"}, "choose what this transfer was"),
    ({"disposition": "resolved"}, "repeat"),
    ({"disposition": "rerouted", "caller_repeated": "no"}, "which queue|choose the queue"),
    ({"disposition": "rerouted", "caller_repeated": "no", "queue": "nowhere"}, "choose the queue"),
    ({"disposition": "misidentified", "caller_repeated": "yes", "intent": "astrology"}, "really wanted"),
    ({"disposition": "resolved", "caller_repeated": "no", "notes": "x" * 2001}, "2000"),
])
async def test_the_taxonomy_form_says_what_is_missing(client, bench, form, problem):
    bench.feed(accepted_call("c1", "Dana Reyes"))
    csrf = await login(client, "dana")
    await asyncio.sleep(0.1)  # the wrap-up row
    resp = await _tag(client, csrf, "c1", form)
    assert resp.status == 400
    import re
    assert re.search(problem, (await resp.json())["error"])


async def test_a_disposition_is_stored_everywhere_once_before_it_says_saved(client, bench):
    desk = RecordingDesk()
    bench.console.attach(desk)
    bench.feed(accepted_call("c1", "Dana Reyes"))
    await asyncio.sleep(0.1)
    assert bench.console.in_wrap_up() == {"Dana Reyes"}
    assert desk.calls == [("pause", "Dana Reyes", True, "wrap-up")]
    csrf = await login(client, "dana")
    desk_page = await (await client.get("/")).text()
    assert 'action="/calls/c1/disposition"' in desk_page and "required" in desk_page
    form = {"disposition": "misidentified", "intent": "policy_change", "caller_repeated": "yes", "queue": "claims"}
    first, second = await asyncio.gather(_tag(client, csrf, "c1", form), _tag(client, csrf, "c1", form))
    assert first.status == second.status == 200
    saved = (await first.json())["disposition"]
    assert saved["disposition"] == "misidentified" and saved["intent"] == "policy_change" and saved["queue"] == ""
    # the CRM table, the call's own stream, the console's row: once each
    rows = await bench.crm.dispositions("c1")
    assert [(r.producer, r.by, r.disposition, r.intent, r.caller_repeated) for r in rows] == [
        ("Dana Reyes", "dana", "misidentified", "policy_change", True)]
    tagged = [e for e in bench.events.events("c1") if isinstance(e, DispositionRecorded)]
    assert [(e.producer, e.by, e.disposition) for e in tagged] == [("Dana Reyes", "dana", "misidentified")]
    assert bench.console.in_wrap_up() == frozenset()
    assert desk.calls[-1] == ("pause", "Dana Reyes", False, "wrap-up")
    # a later submit with another answer changes nothing
    third = await _tag(client, csrf, "c1", GOOD)
    assert (await third.json())["disposition"]["disposition"] == "misidentified"
    assert len(await bench.crm.dispositions("c1")) == 1


async def test_the_saved_disposition_survives_a_reload_and_a_restart(tmp_path):
    b = Bench(tmp_path)
    await b.open()
    b.feed(accepted_call("c1", "Dana Reyes"))
    await asyncio.sleep(0.1)
    await b.close()  # the console restarts before the producer tags: the wrap-up is still owed
    await b.open()
    try:
        assert b.console.in_wrap_up() == {"Dana Reyes"}
        async with TestClient(TestServer(b.app())) as c:
            csrf = await login(c, "dana")
            assert 'action="/calls/c1/disposition"' in await (await c.get("/")).text()
            resp = await _tag(c, csrf, "c1", GOOD, accept_json=False)
            assert resp.status == 303 and resp.headers["Location"] == "/?saved=c1"
        await b.close()
        await b.open()  # and again, after saving
        async with TestClient(TestServer(b.app())) as c:
            await login(c, "dana")
            assert (await c.get("/api/calls/c1")).status == 200  # still hers to open
            assert 'action="/calls/c1/disposition"' not in await (await c.get("/")).text()
        assert b.console.in_wrap_up() == frozenset()
    finally:
        await b.close()


async def test_an_untagged_wrap_up_unpauses_and_reminds_after_the_maximum(tmp_path):
    clock = [time.time()]
    b = Bench(tmp_path, wrap_up_max_s=10)
    await b.open(clock=lambda: clock[0])
    try:
        desk = RecordingDesk()
        b.console.attach(desk)
        b.feed(accepted_call("c1", "Dana Reyes"))
        await asyncio.sleep(0.1)
        assert b.console.in_wrap_up() == {"Dana Reyes"}
        clock[0] += 11
        timer = next(iter(b.console._timers.values()))
        timer.cancel()  # the sleep is real time: expire it now, as the clock says
        await b.console._expire((await b.console.store.open_wrapups())[0])
        assert b.console.in_wrap_up() == frozenset()
        assert desk.calls[-1] == ("pause", "Dana Reyes", False, "wrap-up")
        async with TestClient(TestServer(b.app())) as c:
            await login(c, "dana")
            page = await (await c.get("/")).text()
            assert "wrap-up time is over" in page and 'action="/calls/c1/disposition"' in page
    finally:
        await b.close()


async def test_supervisors_listen_whisper_barge_and_take_over_with_their_own_phone(client, bench):
    desk = RecordingDesk()
    bench.feed(accepted_call("c1", "Dana Reyes"))
    csrf = await login(client, "sue")
    json_ = {"Accept": "application/json"}
    resp = await client.post("/calls/c1/supervise", data={"mode": "listen", "csrf": csrf}, headers=json_)
    assert resp.status == 503  # the PBX is not attached yet
    bench.console.attach(desk)
    for mode in ("listen", "whisper", "barge"):
        resp = await client.post("/calls/c1/supervise", data={"mode": mode, "csrf": csrf}, headers=json_)
        assert resp.status == 200
    assert (await client.post("/calls/c1/supervise", data={"mode": "shout", "csrf": csrf})).status == 400
    assert (await client.post("/calls/c2/take-over", data={"csrf": csrf}, headers=json_)).status == 200
    asked = [c for c in desk.calls if c[0] != "pause"]  # (attaching re-pauses Dana, in wrap-up)
    assert asked == [("supervise", "c1", "PJSIP/2001", "listen"), ("supervise", "c1", "PJSIP/2001", "whisper"),
                          ("supervise", "c1", "PJSIP/2001", "barge"), ("take_over", "c2", "sue", "PJSIP/2001")]
    client.session.cookie_jar.clear()
    csrf = await login(client, "dana")
    assert (await client.post("/calls/c1/supervise", data={"mode": "listen", "csrf": csrf})).status == 403


async def test_the_live_stream_pushes_the_pop_to_its_producer_only(client, bench):
    await login(client, "dana")
    async with client.get("/events") as stream:
        assert (await stream.content.readuntil(b"\n\n")).startswith(b"retry:")
        bench.feed([*escalated("c-sam"), planned("c-sam", "Sam Ortiz"), *escalated("c1"), planned("c1", "Dana Reyes")])
        block = (await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)).decode()
        kind, data = block.split("\n")[:2]
        assert kind == "event: card"
        card = json.loads(data.removeprefix("data: "))
        assert card["call_id"] == "c1" and card["status"] == "ringing" and "Maria Alvarez" in card["html"]


async def test_a_call_back_is_claimed_by_one_and_closed_by_them(client, bench):
    from .calls import CallbackRequested, ended

    bench.feed([*escalated("cb1"), planned("cb1"), CallbackRequested(call_id="cb1", queue="licensed", number="x"),
                ended("cb1")])
    await asyncio.sleep(0.1)
    csrf = await login(client, "dana")
    assert "Call-back list" in await (await client.get("/")).text()
    assert (await client.post("/callbacks/cb1/claim", data={"csrf": csrf}, allow_redirects=False)).status == 303
    assert (await client.get("/calls/cb1")).status == 200
    client.session.cookie_jar.clear()
    csrf_sam = await login(client, "sam")
    assert (await client.post("/callbacks/cb1/claim", data={"csrf": csrf_sam})).status == 409
    assert (await client.post("/callbacks/cb1/close", data={"csrf": csrf_sam})).status == 409
    client.session.cookie_jar.clear()
    csrf = await login(client, "dana")
    assert (await client.post("/callbacks/cb1/close", data={"csrf": csrf}, allow_redirects=False)).status == 303
    assert await bench.console.store.open_callbacks() == []
