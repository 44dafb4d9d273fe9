"""What the weekly reviewer works from (sans-IO): the misroute table, the phrasings most often
mishandled, and routing suggestions computed from the producers' tags."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from warmline.handoff.events import MISROUTES, Disposition
from warmline.nlu.features import canonical
from warmline.nlu.taxonomy import DEFAULT_QUEUES
from warmline.numbers.facts import CallFacts

CORRECTION_SHARE = 0.2  # a correction this common among one reading's transfers is worth a suggestion
REROUTE_SHARE = 0.5  # most of one reading's transfers belonged to one other queue: route it there


@dataclass(frozen=True, slots=True)
class Misroute:
    call_id: str
    started: float
    words: str  # the caller's request, as stored (dates and long numbers scrubbed)
    reading: str  # the AI's intent
    confidence: float | None
    correction: str  # the producer's: the intent it was (misidentified), the queue (rerouted), or "could serve"
    disposition: Disposition
    producer: str
    repeated: bool


@dataclass(frozen=True, slots=True)
class Phrasing:
    words: str  # one representative wording
    count: int
    readings: tuple[tuple[str, int], ...]  # the AI's readings, most common first
    corrections: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str  # stable for the same change: "S-" + 6 hex digits
    kind: str  # "queue": a queue override anyone may apply; "retrain": review the corrections
    intent: str  # the AI's reading it concerns
    target: str  # queue name (kind queue) or the intent the producers said it was (kind retrain)
    n: int
    of: int
    text: str

    @property
    def share(self) -> float:
        return self.n / self.of

    @property
    def applicable(self) -> bool:
        return self.kind == "queue"


def misroutes(facts: list[CallFacts], only: tuple[Disposition, ...] = tuple(MISROUTES)) -> list[Misroute]:
    rows = []
    for f in facts:
        d = f.disposition
        if d is None or d.disposition not in only:
            continue
        correction = {Disposition.MISIDENTIFIED: d.intent or "?", Disposition.REROUTED: f"queue {d.queue or '?'}",
                      Disposition.OVER_ESCALATED: "the AI could have served it"}[d.disposition]
        words = f.reading_words or f.request  # the words the AI misread, not always the first request
        rows.append(Misroute(f.call_id, f.started or 0.0, words, f.reading or "none", f.confidence, correction,
                             d.disposition, d.producer, d.caller_repeated))
    return sorted(rows, key=lambda r: (r.disposition != Disposition.MISIDENTIFIED, r.reading, r.started))


def phrasings(rows: list[Misroute], top: int = 10) -> list[Phrasing]:
    """The caller wordings behind the most misroutes (the same words as the model reads them)."""
    groups: dict[str, list[Misroute]] = defaultdict(list)
    for row in rows:
        if key := canonical(row.words):
            groups[key].append(row)
    ranked = sorted(groups.values(), key=lambda g: (-len(g), canonical(g[0].words)))
    return [Phrasing(Counter(r.words for r in g).most_common(1)[0][0], len(g),
                     tuple(Counter(r.reading for r in g).most_common()),
                     tuple(Counter(r.correction for r in g).most_common()))
            for g in ranked[:top] if len(g) > 1 or len(ranked) <= top]


def suggestions(facts: list[CallFacts], queues: dict[str, str] | None = None, min_transfers: int = 5) -> list[Suggestion]:
    """Changes the tags argue for, with the share behind each (most transfers behind them first)."""
    queues = {**DEFAULT_QUEUES, **(queues or {})}
    tagged: dict[str, list[CallFacts]] = defaultdict(list)
    for f in facts:
        if f.disposition is not None and f.reading:
            tagged[f.reading].append(f)
    out = []
    for reading, group in sorted(tagged.items()):
        if len(group) < min_transfers:
            continue
        corrected = Counter(f.disposition.intent for f in group
                            if f.disposition.disposition == Disposition.MISIDENTIFIED and f.disposition.intent)
        for intent, n in corrected.most_common():
            if n / len(group) >= CORRECTION_SHARE:
                out.append(_suggest("retrain", reading, intent, n, len(group),
                                    f"{n / len(group):.0%} of transfers read as {reading} were tagged {intent} by "
                                    f"producers ({n} of {len(group)}): review the corrections "
                                    f"(`warmline feedback review`) and retrain with them"))
        rerouted = Counter(f.disposition.queue for f in group
                           if f.disposition.disposition == Disposition.REROUTED and f.disposition.queue)
        for queue, n in rerouted.most_common(1):
            if n / len(group) >= REROUTE_SHARE and queue != queues.get(reading):
                out.append(_suggest("queue", reading, queue, n, len(group),
                                    f"{n / len(group):.0%} of transfers read as {reading} belonged to queue {queue} "
                                    f"({n} of {len(group)}): route {reading} to {queue} "
                                    f"(now {queues.get(reading, 'service')})"))
    return sorted(out, key=lambda s: (-s.n, s.id))


def _suggest(kind: str, intent: str, target: str, n: int, of: int, text: str) -> Suggestion:
    digest = hashlib.sha256(f"{kind}:{intent}:{target}".encode()).hexdigest()[:6]
    return Suggestion(f"S-{digest}", kind, intent, target, n, of, text)
