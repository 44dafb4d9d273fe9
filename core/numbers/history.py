"""The calls of a time window, read from the event store and folded into facts; ISO weeks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from warmline.calls.store import EventStore
from warmline.numbers.facts import CallFacts, call_facts
from warmline.numbers.settings import NumbersError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, slots=True)
class Week:
    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> "Week":
        m = _WEEK.match(text.strip())
        if m:
            try:
                date.fromisocalendar(int(m[1]), int(m[2]), 1)
                return cls(int(m[1]), int(m[2]))
            except ValueError:
                pass
        raise NumbersError(f"--week {text!r}: not an ISO week; write it as YYYY-Www, e.g. 2026-W48")

    @classmethod
    def of(cls, day: date) -> "Week":
        year, week, _ = day.isocalendar()
        return cls(year, week)

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    def shifted(self, weeks: int) -> "Week":
        return Week.of(self.monday + timedelta(weeks=weeks))

    def bounds(self, tz: tzinfo | None = None) -> tuple[float, float]:
        """[Monday 00:00, next Monday 00:00) in the box's local time (or tz), as epoch seconds."""
        start = datetime.combine(self.monday, time(), tz)
        end = datetime.combine(self.monday + timedelta(days=7), time(), tz)
        return start.timestamp(), end.timestamp()


def facts_between(store: EventStore, since: float, until: float) -> list[CallFacts]:
    return [call_facts(call_id, store.events(call_id)) for call_id in store.call_ids(since, until)]


def weeks_of(store: EventStore, last: Week, count: int, tz: tzinfo | None = None) -> dict[Week, list[CallFacts]]:
    """The facts of `count` weeks ending with `last`, oldest first."""
    weeks = [last.shifted(-i) for i in reversed(range(count))]
    since, _ = weeks[0].bounds(tz)
    _, until = last.bounds(tz)
    by_week: dict[Week, list[CallFacts]] = {w: [] for w in weeks}
    for facts in facts_between(store, since, until):
        if facts.started is None:
            continue
        week = Week.of(datetime.fromtimestamp(facts.started, tz).date())
        if week in by_week:
            by_week[week].append(facts)
    return by_week
