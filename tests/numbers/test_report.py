"""The weekly review on a seeded demo history: the real event store, the real charts, the page opened
in Debian's Chromium (Playwright) with no console errors, each chart a valid PNG."""

from __future__ import annotations

import base64
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from warmline.catalog import EVENT_KINDS
from warmline.calls.store import EventStore
from warmline.numbers.demo import PREFIX, seed
from warmline.numbers.history import Week
from warmline.numbers.report import build_review, write

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WEEK = Week(2026, 48)
NOW = datetime(2026, 12, 2, 12, 0)  # Wednesday of W49: the last complete week is W48


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = EventStore(tmp_path_factory.mktemp("numbers") / "events.sqlite3", EVENT_KINDS)
    written = seed(store, Week(2026, 49), weeks=6, now=NOW, calls_per_day=30)
    assert written > 600
    assert seed(store, Week(2026, 49), weeks=6, now=NOW, calls_per_day=30) == 0  # idempotent
    yield store
    store.close()


@pytest.fixture(scope="module")
def review(store):
    return build_review(store, WEEK, weeks=5)


def test_the_demo_history_is_marked_and_stops_at_now(store, review):
    ids = store.call_ids()
    assert ids and all(i.startswith(PREFIX) for i in ids)
    assert all(e.at < NOW.timestamp() for i in ids[-20:] for e in store.events(i))
    assert review.this.calls == review.this.demo_calls > 100
    assert [str(w) for w in review.weeks] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48"]


def test_the_review_has_misroutes_phrasings_and_a_suggestion(review):
    assert review.misroutes and all(r.words for r in review.misroutes)
    assert any(r.reading == "policy_change" and r.correction == "billing_dispute" for r in review.misroutes)
    assert review.phrasings and review.phrasings[0].count >= 2
    texts = [s.text for s in review.suggestions]
    assert any(re.match(r"\d+% of transfers read as policy_change were tagged billing_dispute by producers", t)
               for t in texts), texts


def test_each_chart_is_a_valid_png(review, tmp_path):
    (tmp_path / "review.html").write_text("an older review")
    (tmp_path / "review.html").chmod(0o644)
    written = write(review, tmp_path / "review.html", tmp_path / "charts")
    assert (written[0].stat().st_mode & 0o777) == 0o600  # it quotes callers' words: owner-only, even over an old file
    assert [p.name for p in written[1:]] == ["containment.png", "escalation_reasons.png", "repeat_explanation.png",
                                             "csat.png"]
    for path in written[1:]:
        with Image.open(path) as image:
            image.verify()  # a truncated or corrupt file raises
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 600 and image.height >= 250
    html = written[0].read_text()
    embedded = re.findall(r"src='data:image/png;base64,([^']+)'", html)
    assert len(embedded) == 4
    assert base64.b64decode(embedded[0]) == (tmp_path / "charts/containment.png").read_bytes()


def test_the_page_opens_in_chromium_without_console_errors(review, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/bootstrap installs it as root)")
    from playwright.sync_api import sync_playwright

    page_file = write(review, tmp_path / "review.html")[0]
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(page_file.as_uri())
            assert page.title() == "Warmline weekly review — 2026-W48"
            assert page.locator("#demo-data").is_visible()
            # every chart decoded by the browser itself, at its real size
            sizes = page.eval_on_selector_all("figure img", "els => els.map(e => [e.complete, e.naturalWidth])")
            assert len(sizes) == 4 and all(done and width >= 600 for done, width in sizes)
            rows = page.locator("#misroutes tr").count()
            assert rows == 1 + sum(r.disposition == "misidentified" for r in review.misroutes)
            assert page.locator("#suggestions").inner_text().count("S-") >= 1
        finally:
            browser.close()
    assert problems == []


def test_an_empty_week_renders_too(store, tmp_path):
    review = build_review(store, Week(2025, 10), weeks=2)
    assert review.this.calls == 0
    html = write(review, tmp_path / "empty.html")[0].read_text()
    assert "None this week." in html and "no change this week" in html


def test_a_bad_week_is_one_line_naming_the_format():
    from warmline.numbers.settings import NumbersError

    for text in ("2026-48", "2026-W54", "W48"):
        with pytest.raises(NumbersError, match=r"not an ISO week; write it as YYYY-Www, e.g. 2026-W48"):
            Week.parse(text)
