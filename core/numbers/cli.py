"""The numbers' commands: `warmline report`, `warmline numbers seed-demo`, `warmline feedback
review|export`, `warmline routing list|apply`, and `warmline train --with-feedback`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from warmline.numbers.history import Week

COMMANDS = ("report", "numbers", "feedback", "routing")


def add_commands(sub: argparse._SubParsersAction) -> None:
    def config(p):
        p.add_argument("--config", "-c", help="TOML file ([store] and [numbers] are used)")
        return p

    rep = config(sub.add_parser("report", help="the weekly review: numbers, charts, misroutes, routing suggestions"))
    rep.add_argument("--week", help="ISO week, e.g. 2026-W48 (default: the last complete week)")
    rep.add_argument("--out", default="review.html", help="HTML file to write (default: review.html)")
    rep.add_argument("--weeks", type=int, default=6, help="weeks shown on the charts, ending with --week (default 6)")
    rep.add_argument("--charts", metavar="DIR", help="also write each chart as a PNG file in DIR")
    num = config(sub.add_parser("numbers", help="`seed-demo`: a few weeks of synthetic demo calls in the event store"))
    num.add_argument("action", choices=("seed-demo",))
    num.add_argument("--weeks", type=int, default=8, help="weeks of history (default 8)")
    num.add_argument("--until", help="last ISO week seeded (default: this week, up to now)")
    fb = config(sub.add_parser("feedback", help="producers' corrections: `review` (accept/reject, audited), "
                                                "`export` (accepted ones → training lines)"))
    fb.add_argument("action", choices=("review", "export"))
    fb.add_argument("--by", help="review: who decides (recorded in the audit)")
    fb.add_argument("--accept", nargs="*", default=None, metavar="CALL", help="review: accept these calls' corrections")
    fb.add_argument("--reject", nargs="*", default=None, metavar="CALL", help="review: reject these calls' corrections")
    fb.add_argument("--out", help="export: folder for <intent>.txt training lines (default: [numbers] dir/feedback)")
    fb.add_argument("--since", metavar="YYYY-MM-DD", help="review: list the calls from this day on (default: every "
                                                         "stored call)")
    rt = config(sub.add_parser("routing", help="routing overrides suggested by the review: `list`, `apply ID`"))
    rt.add_argument("action", choices=("list", "apply"))
    rt.add_argument("suggestion", nargs="?", help="apply: the suggestion id shown in the report (S-…)")
    rt.add_argument("--week", help="apply: the report's week (default: the last complete week)")
    rt.add_argument("--by", help="apply: who applies it (recorded in the audit)")
    sub.choices["train"].add_argument(
        "--with-feedback", nargs="?", const="", metavar="DIR", default=None,
        help="add the exported corrections (default [numbers] dir/feedback), print before/after on the evaluation "
             "sets, and replace the model serve loads ([nlu] model_dir; the old one kept beside it) only if "
             "neither accuracy nor regulated→contain got worse on any of them (else exit 1)")
    sub.choices["train"].add_argument("--config", "-c", help="TOML file (--with-feedback: [numbers] and [nlu] are used)")


def last_complete_week(today: date | None = None) -> Week:
    return Week.of((today or date.today()) - timedelta(days=7))


def run(args: argparse.Namespace, settings, open_store: Callable[..., Any]) -> int:
    """`open_store` is the assembly's (warmline.catalog): it knows every room's event kinds."""
    match args.command:
        case "report":
            return report_command(settings, args, open_store)
        case "numbers":
            return seed_command(settings, args, open_store)
        case "feedback":
            from warmline.numbers.feedback import feedback_command

            return feedback_command(settings, args, open_store)
        case "routing":
            from warmline.numbers.routing import routing_command

            return routing_command(settings, args, open_store)
    raise AssertionError(args.command)


def report_command(settings, args, open_store) -> int:
    from warmline.numbers.report import build_review, write
    from warmline.numbers.routing import current_queues

    week = Week.parse(args.week) if args.week else last_complete_week()
    store = open_store(settings.store)
    try:
        review = build_review(store, week, weeks=max(1, args.weeks), queues=current_queues(settings),
                              target=settings.numbers.containment_target, min_transfers=settings.numbers.min_transfers)
    finally:
        store.close()
    written = write(review, Path(args.out), Path(args.charts) if args.charts else None)
    n = review.this
    print(f"{week}: {n.calls} calls, containment {n.containment.percent()}, {len(review.misroutes)} misroutes, "
          f"{len(review.suggestions)} suggestions" + (f" ({n.demo_calls} demo calls)" if n.demo_calls else ""))
    for path in written:
        print(f"  wrote {path}")
    return 0


def seed_command(settings, args, open_store) -> int:
    from warmline.numbers.demo import seed

    until = Week.parse(args.until) if args.until else Week.of(date.today())
    store = open_store(settings.store)
    try:
        written = seed(store, until, max(1, args.weeks))
    finally:
        store.close()
    first = until.shifted(-(max(1, args.weeks) - 1))
    print(f"demo history: {written} synthetic calls written for {first} to {until} (ids demo-…, pbx 'demo') "
          f"in {settings.store.url.get_secret_value() and 'the shared store' or settings.store.path}",
          file=sys.stdout)
    return 0
