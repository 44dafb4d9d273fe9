"""The weekly review on the console for owners and supervisors, and Prometheus' /metrics beside it,
served from the same event store that `warmline report` reads (seeded with the demo history)."""

from datetime import date

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from warmline.config import Settings
from warmline.console.server import weekly_review
from warmline.console.web import REPORT_CSP, make_app
from warmline.numbers.demo import seed
from warmline.numbers.history import Week
from warmline.numbers.prometheus import LiveMetrics, METRICS_KEY, metrics_handler
from warmline.nlu.taxonomy import INTENTS

from .calls import accepted_call
from .conftest import QUEUES, login

WEEK = Week.of(date(2026, 11, 23))


async def review_client(bench, metrics=None):
    seed(bench.events, WEEK, weeks=2, calls_per_day=8)
    app = make_app(bench.console, queues=QUEUES, intents=tuple(INTENTS), metrics=metrics_handler,
                   report=weekly_review(Settings(), bench.events))
    if metrics is not None:
        app[METRICS_KEY] = metrics
    return TestClient(TestServer(app))


async def test_owners_and_supervisors_read_the_weekly_review_producers_do_not(bench):
    async with await review_client(bench) as client:
        assert (await client.get("/report", allow_redirects=False)).status == 302  # log in first
        await login(client, "olive")  # the owner
        page = await client.get(f"/report?week={WEEK}")
        html = await page.text()
        assert page.status == 200 and f"Warmline weekly review — {WEEK}" in html
        assert "Demo data." in html and "data:image/png;base64," in html  # the seeded history, its charts inline
        assert page.headers["Content-Security-Policy"] == REPORT_CSP  # no script may run in it
        bad = await client.get("/report?week=week-48")
        assert bad.status == 400 and "2026-W48" in await bad.text()  # one line naming the right form
    async with await review_client(bench) as client:
        await login(client, "dana")  # a producer
        assert (await client.get(f"/report?week={WEEK}")).status == 403


async def test_metrics_are_scraped_without_a_session_and_parse(bench):
    metrics = LiveMetrics()
    metrics.on_commit(accepted_call("c-1", "Dana Reyes"))  # as serve's store hook feeds it
    async with await review_client(bench, metrics) as client:
        scrape = await client.get("/metrics")
        assert scrape.status == 200
        families = {f.name: f for f in text_string_to_metric_families(await scrape.text())}
        handle = families["warmline_handle_seconds"]  # the talk's end, not Warmline's, closes the handle time
        [count] = [s.value for s in handle.samples if s.name.endswith("_count") and s.labels.get("queue") == "licensed"]
        assert count == 1
        assert (await client.get("/board", allow_redirects=False)).status == 302  # only /metrics is open
