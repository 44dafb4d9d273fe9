"""Calls' facts → the numbers an agency reads (sans-IO): containment, escalations, misroutes, CSAT...

Definitions (the README's "The numbers" section repeats them):
- containment: calls the AI resolved (conversation outcome "contained") / calls that reached the
  conversation; per intent (the caller's first request) and per call type.
- escalation rate: escalated / calls that reached the conversation; reasons: the escalation codes.
- misroutes: transfers the producer tagged rerouted, misidentified or over-escalated, / tagged transfers.
- repeat-explanation rate: tagged transfers where the caller had to repeat what the AI had, / tagged.
- hold: escalation decided (the conversation over) → a person took the caller; lost on hold:
  escalated callers who hung up before anyone took them, / escalated calls.
- handle time: bridged to the producer → hang-up (Warmline's own bridge).
- CSAT: share of survey answers scoring 4 or 5, in percent; the gap is AI CSAT − escalation CSAT.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from warmline.handoff.events import MISROUTES
from warmline.numbers.facts import CALL_TYPES, CallFacts

SATISFIED = 4  # a score of 4 or 5 counts as satisfied (the usual CSAT)


@dataclass(frozen=True, slots=True)
class Rate:
    n: int
    of: int

    @property
    def value(self) -> float | None:
        return self.n / self.of if self.of else None

    def percent(self, digits: int = 1) -> str:
        return "—" if self.value is None else f"{self.value * 100:.{digits}f}%"


@dataclass(frozen=True, slots=True)
class Stats:
    n: int
    mean: float | None
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, values: Iterable[float]) -> "Stats":
        data = sorted(values)
        if not data:
            return cls(0, None, None, None)
        return cls(len(data), sum(data) / len(data), percentile(data, 50), percentile(data, 95))


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100), at least 1
    return sorted_values[int(rank) - 1]


@dataclass(frozen=True)
class Numbers:
    calls: int
    conversations: int
    contained: int
    escalated: int
    abandoned: int
    containment: Rate
    containment_by_intent: dict[str, Rate]
    containment_by_type: dict[str, Rate]
    escalation_rate: Rate
    escalation_reasons: Counter
    tagged: int
    dispositions: Counter
    misroutes: Rate
    repeat_explanation: Rate
    hold_seconds: Stats
    lost_on_hold: Rate
    handle_seconds: Stats
    turn_latency_seconds: Stats
    stt_decode_seconds: Stats
    identity_checks: Rate  # calls verified / calls with an identity check
    csat_ai: Rate
    csat_escalated: Rate
    demo_calls: int = 0
    surveys: Counter = field(default_factory=Counter)  # "ai"/"escalated" -> answers

    @property
    def csat_gap(self) -> float | None:
        """AI CSAT minus escalation CSAT, in points (above 15: the escalation experience needs work)."""
        a, e = self.csat_ai.value, self.csat_escalated.value
        return None if a is None or e is None else (a - e) * 100


def summarise(facts: Iterable[CallFacts]) -> Numbers:
    facts = list(facts)
    talked = [f for f in facts if f.outcome is not None]
    contained = [f for f in talked if f.outcome == "contained"]
    escalated = [f for f in talked if f.outcome == "escalated"]
    tagged = [f for f in facts if f.disposition is not None]
    checked = [f for f in facts if f.identity is not None]
    return Numbers(
        calls=len(facts),
        conversations=len(talked),
        contained=len(contained),
        escalated=len(escalated),
        abandoned=sum(f.outcome == "abandoned" for f in talked),
        containment=Rate(len(contained), len(talked)),
        containment_by_intent=_containment(talked, lambda f: f.intent),
        containment_by_type={kind: rate for kind, rate in _containment(talked, lambda f: f.call_type).items()}
        | {kind: Rate(0, 0) for kind in CALL_TYPES if kind not in {f.call_type for f in talked}},
        escalation_rate=Rate(len(escalated), len(talked)),
        escalation_reasons=Counter(f.reason for f in escalated if f.reason),
        tagged=len(tagged),
        dispositions=Counter(f.disposition.disposition.value for f in tagged),
        misroutes=Rate(sum(f.disposition.disposition in MISROUTES for f in tagged), len(tagged)),
        repeat_explanation=Rate(sum(f.disposition.caller_repeated for f in tagged), len(tagged)),
        hold_seconds=Stats.of(h for f in escalated if (h := f.hold_seconds) is not None),
        lost_on_hold=Rate(sum(f.lost_on_hold for f in escalated), len(escalated)),
        handle_seconds=Stats.of(h for f in facts if (h := f.handle_seconds) is not None),
        turn_latency_seconds=Stats.of(x for f in facts for x in f.turn_latencies),
        stt_decode_seconds=Stats.of(x for f in facts for x in f.decode_seconds),
        identity_checks=Rate(sum(bool(f.identity) for f in checked), len(checked)),
        csat_ai=_csat(facts, "ai"),
        csat_escalated=_csat(facts, "escalated"),
        demo_calls=sum(f.demo for f in facts),
        surveys=Counter(s.after.value for f in facts for s in f.surveys),
    )


def _containment(talked: list[CallFacts], key) -> dict[str, Rate]:
    total, held = Counter(), Counter()
    for f in talked:
        total[key(f)] += 1
        held[key(f)] += f.outcome == "contained"
    return {k: Rate(held[k], total[k]) for k in sorted(total)}


def _csat(facts: list[CallFacts], after: str) -> Rate:
    scores = [s.score for f in facts for s in f.surveys if s.after.value == after]
    return Rate(sum(s >= SATISFIED for s in scores), len(scores))
