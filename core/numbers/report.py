"""`warmline report`: the weekly review as one self-contained HTML page (charts embedded as PNG data URIs).

The page a reviewer works from in the first 90 days: the week's numbers next to the week before,
containment against the target for billing and policy-service calls, escalation reasons, repeat
explanation, the CSAT gap, then every transfer the producers tagged as a misroute with the
caller's words, the AI's reading and the producer's correction, the phrasings behind them, and the
routing changes the tags argue for (each with the command that applies it, audited).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from html import escape
from pathlib import Path

from warmline.calls.store import EventStore
from warmline.handoff.events import Disposition
from warmline.numbers import charts
from warmline.numbers.facts import CALL_TYPES, CallFacts
from warmline.numbers.history import Week, weeks_of
from warmline.numbers.review import Misroute, Phrasing, Suggestion, misroutes, phrasings, suggestions
from warmline.numbers.summary import Numbers, Rate, Stats, summarise

TARGET_TYPES = ("billing", "policy_service")


@dataclass
class Review:
    week: Week
    weeks: list[Week]
    numbers: dict[Week, Numbers]
    facts: list[CallFacts]  # the week's calls
    misroutes: list[Misroute]
    phrasings: list[Phrasing]
    suggestions: list[Suggestion]
    target: float
    tz: tzinfo | None = None
    charts: list[charts.Chart] = field(default_factory=list)

    @property
    def this(self) -> Numbers:
        return self.numbers[self.week]

    @property
    def previous(self) -> Numbers | None:
        return self.numbers.get(self.week.shifted(-1))


def build_review(store: EventStore, week: Week, *, weeks: int = 6, tz: tzinfo | None = None,
                 queues: dict[str, str] | None = None, target: float = 0.5, min_transfers: int = 5) -> Review:
    by_week = weeks_of(store, week, weeks, tz)
    facts = by_week[week]
    rows = misroutes(facts)
    review = Review(week, list(by_week), {w: summarise(f) for w, f in by_week.items()}, facts, rows,
                    phrasings(rows), suggestions(facts, queues, min_transfers), target, tz)
    review.charts = draw(review)
    return review


def draw(review: Review) -> list[charts.Chart]:
    labels = [f"W{w.week:02d}" for w in review.weeks]
    series = [review.numbers[w] for w in review.weeks]
    return [
        charts.containment(labels, {t: [n.containment_by_type[t].value for n in series] for t in TARGET_TYPES},
                           review.target),
        charts.escalation_reasons(review.this.escalation_reasons, str(review.week)),
        charts.repeat_explanation(labels, [n.repeat_explanation.value for n in series]),
        charts.csat(labels, [n.csat_ai.value for n in series], [n.csat_escalated.value for n in series]),
    ]


def write(review: Review, out: Path, charts_dir: Path | None = None) -> list[Path]:
    """The HTML page, and each chart as a PNG file in charts_dir when given; the files written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # owner-only: the misroute table quotes callers' own words (the charts hold only aggregates)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as page:
        os.fchmod(page.fileno(), 0o600)  # an existing file keeps no wider mode
        page.write(render_html(review))
    written = [out]
    if charts_dir is not None:
        charts_dir.mkdir(parents=True, exist_ok=True)
        for chart in review.charts:
            path = charts_dir / f"{chart.name}.png"
            path.write_bytes(chart.png)
            written.append(path)
    return written


# --- HTML ---------------------------------------------------------------------------------------

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2430; margin: 0; background: #f6f7f9; }
main { max-width: 980px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 1px solid #e3e5e8; }
.sub { color: #5b6472; margin: 0 0 16px; }
.demo { background: #fff4d6; border: 1px solid #e7c45c; padding: 8px 12px; border-radius: 4px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eceef1; vertical-align: top; }
th { background: #f1f3f6; font-weight: 600; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #b23b3b; font-weight: 600; } .good { color: #2e7d4f; }
figure { margin: 12px 0; } figure img { max-width: 100%; height: auto; }
code { background: #f1f3f6; padding: 1px 4px; border-radius: 3px; font-size: 12px; }
.muted { color: #7a8290; }
"""


def render_html(review: Review) -> str:
    w, n = review.week, review.this
    monday = w.monday
    title = f"Warmline weekly review — {w}"
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<style>{STYLE}</style></head><body><main>",
             f"<h1>{escape(title)}</h1>",
             f"<p class='sub'>{monday:%a %d %b} – {monday + timedelta(days=6):%a %d %b %Y} · {n.calls} calls · "
             f"{len(review.weeks)} weeks shown</p>"]
    demo = sum(x.demo_calls for x in review.numbers.values())
    if demo:
        parts.append(f"<p class='demo' id='demo-data'><strong>Demo data.</strong> {demo} of the calls shown are a "
                     "synthetic history seeded by <code>warmline numbers seed-demo</code>, not real callers.</p>")
    parts += [_headline(review), _charts(review), _containment_tables(n), _misroute_table(review),
              _phrasing_table(review.phrasings), _suggestion_list(review), "</main></body></html>"]
    return "\n".join(parts)


def _pct(rate: Rate) -> str:
    return rate.percent()


def _secs(stats: Stats, which: str = "p50") -> str:
    value = getattr(stats, which)
    return "—" if value is None else f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _headline(review: Review) -> str:
    n, p = review.this, review.previous

    def row(label, this, before, note=""):
        return (f"<tr><th>{escape(label)}</th><td class='n'>{this}</td><td class='n muted'>{before}</td>"
                f"<td>{note}</td></tr>")

    def both(f):
        return f(n), (f(p) if p else "—")

    gap = n.csat_gap
    rows = [
        row("Calls", *both(lambda x: str(x.calls))),
        row("Containment (resolved by the AI)", *both(lambda x: _pct(x.containment)),
            f"target {review.target:.0%} for billing and policy service"),
        row("Escalation rate", *both(lambda x: _pct(x.escalation_rate)), "60–80% is typical; above 80% suggests gaps"),
        row("Misroutes (of tagged transfers)", *both(lambda x: f"{_pct(x.misroutes)} ({x.misroutes.n})")),
        row("Repeat explanation", *both(lambda x: _pct(x.repeat_explanation)),
            _flag(n.repeat_explanation.value is not None and n.repeat_explanation.value > 0.05,
                  "above 5%: context transfer failing", "near 0% is the goal")),
        row("CSAT after the AI / after a producer", *both(lambda x: f"{_pct(x.csat_ai)} / {_pct(x.csat_escalated)}")),
        row("CSAT gap (points)", *both(lambda x: "—" if x.csat_gap is None else f"{x.csat_gap:+.0f}"),
            _flag(gap is not None and abs(gap) > 15, "above 15: redesign the escalation experience", "within 15")),
        row("Time on hold before a person (p50 / p95)", *both(lambda x: f"{_secs(x.hold_seconds)} / "
                                                                      f"{_secs(x.hold_seconds, 'p95')}")),
        row("Callers lost on hold", *both(lambda x: f"{_pct(x.lost_on_hold)} ({x.lost_on_hold.n})")),
        row("Producer handle time on escalated calls (mean)", *both(lambda x: _secs(x.handle_seconds, "mean")),
            "should fall as producers use the summaries"),
        row("Turn response time (p50 / p95)", *both(lambda x: f"{_secs(x.turn_latency_seconds)} / "
                                                             f"{_secs(x.turn_latency_seconds, 'p95')}")),
        row("Speech-to-text decode (p50 / p95)", *both(lambda x: f"{_secs(x.stt_decode_seconds)} / "
                                                                f"{_secs(x.stt_decode_seconds, 'p95')}")),
        row("Identity checks passed (of calls checked)", *both(lambda x: _pct(x.identity_checks))),
    ]
    return ("<h2>The week in numbers</h2><table id='headline'><tr><th></th><th>"
            f"{escape(str(review.week))}</th><th>week before</th><th></th></tr>" + "".join(rows) + "</table>")


def _flag(bad: bool, bad_text: str, good_text: str) -> str:
    return f"<span class='bad'>{escape(bad_text)}</span>" if bad else f"<span class='good'>{escape(good_text)}</span>"


def _charts(review: Review) -> str:
    out = ["<h2>Charts</h2>"]
    for chart in review.charts:
        data = base64.b64encode(chart.png).decode()
        out.append(f"<figure id='chart-{chart.name}'><img alt='{escape(chart.title)}' "
                   f"src='data:image/png;base64,{data}'></figure>")
    return "".join(out)


def _containment_tables(n: Numbers) -> str:
    rows = "".join(f"<tr><td>{escape(kind.replace('_', ' '))}</td><td class='n'>{r.of}</td><td class='n'>{r.n}</td>"
                   f"<td class='n'>{_pct(r)}</td></tr>" for kind, r in n.containment_by_type.items()
                   if kind in CALL_TYPES)
    intents = "".join(f"<tr><td>{escape(intent)}</td><td class='n'>{r.of}</td><td class='n'>{r.n}</td>"
                      f"<td class='n'>{_pct(r)}</td></tr>"
                      for intent, r in sorted(n.containment_by_intent.items(), key=lambda kv: -kv[1].of))
    head = "<tr><th>{}</th><th>calls</th><th>resolved by the AI</th><th>containment</th></tr>"
    return (f"<h2>Containment</h2><table id='containment-types'>{head.format('call type')}{rows}</table>"
            f"<table id='containment-intents'>{head.format('first request')}{intents}</table>")


def _misroute_table(review: Review) -> str:
    rows = [r for r in review.misroutes if r.disposition == Disposition.MISIDENTIFIED]
    others = len(review.misroutes) - len(rows)
    out = [f"<h2>Transfers tagged “AI misidentified the intent” ({len(rows)})</h2>"]
    if not rows:
        out.append("<p class='muted'>None this week.</p>")
    else:
        out.append("<table id='misroutes'><tr><th>when</th><th>caller's words</th><th>AI's reading</th>"
                   "<th>producer's correction</th><th>producer</th><th>repeated?</th></tr>")
        for r in rows:
            when = datetime.fromtimestamp(r.started, review.tz)
            conf = "" if r.confidence is None else f" <span class='muted'>({r.confidence:.2f})</span>"
            out.append(f"<tr><td>{when:%a %H:%M}</td><td>“{escape(r.words)}”</td><td>{escape(r.reading)}{conf}</td>"
                       f"<td>{escape(r.correction)}</td><td>{escape(r.producer)}</td>"
                       f"<td>{'yes' if r.repeated else ''}</td></tr>")
        out.append("</table>")
    if others:
        kinds = ", ".join(f"{sum(r.disposition == d for r in review.misroutes)} {d.value.replace('_', '-')}"
                          for d in (Disposition.REROUTED, Disposition.OVER_ESCALATED))
        out.append(f"<p class='muted'>Other misroutes this week: {kinds}.</p>")
    return "".join(out)


def _phrasing_table(rows: list[Phrasing]) -> str:
    out = ["<h2>Phrasings most often mishandled</h2>"]
    if not rows:
        return out[0] + "<p class='muted'>None this week.</p>"
    out.append("<table id='phrasings'><tr><th>caller's words</th><th>times</th><th>AI read</th>"
               "<th>producers said</th></tr>")
    for p in rows:
        out.append(f"<tr><td>“{escape(p.words)}”</td><td class='n'>{p.count}</td>"
                   f"<td>{escape(_counts(p.readings))}</td><td>{escape(_counts(p.corrections))}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _counts(pairs: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{name} ×{n}" if n > 1 else name for name, n in pairs)


def _suggestion_list(review: Review) -> str:
    out = ["<h2>Routing suggestions from the tags</h2>"]
    if not review.suggestions:
        return out[0] + "<p class='muted'>The tags argue for no change this week.</p>"
    out.append("<table id='suggestions'><tr><th>id</th><th>what the tags say</th><th>to act on it</th></tr>")
    for s in review.suggestions:
        act = (f"<code>warmline routing apply {s.id} --week {review.week} --by NAME</code>" if s.applicable
               else "<code>warmline feedback review --by NAME</code> then <code>warmline train --with-feedback</code>")
        out.append(f"<tr><td><code>{s.id}</code></td><td>{escape(s.text)}</td><td>{act}</td></tr>")
    out.append("</table>")
    return "".join(out)
