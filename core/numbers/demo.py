"""`warmline numbers seed-demo`: a few weeks of synthetic calls and dispositions for the demo agency.

Written through the real event types into the real event store, so `warmline report` and /metrics
read them exactly as live calls. Clearly marked: every call's id starts with `demo-` and its
CallStarted says `pbx = "demo"`; the report says how many of its calls are demo data.

The story the history tells (deterministic for a seed): containment of billing and policy-service
calls climbing towards the 50% target over the weeks as corrections are fed back; producers
tagging a share of transfers read as policy_change as billing disputes; complaints mostly
rerouted to the service queue; repeat explanation falling; the escalation CSAT gap closing.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, tzinfo

from warmline.calls.events import CallEvent
from warmline.calls.store import EventStore
from warmline.handoff.events import Disposition
from warmline.nlu.taxonomy import CONTAIN, DEFAULT_QUEUES
from warmline.numbers.facts import DEMO_PBX, call_type
from warmline.numbers.history import Week
from warmline.numbers.synthetic import SyntheticCall, Turn, events_of

PREFIX = "demo-"
SEED = 20261202

# (intent, share of calls)
MIX = (
    ("billing_inquiry", 17), ("make_payment", 7), ("billing_dispute", 5), ("policy_details", 9), ("id_card", 9),
    ("update_contact", 5), ("policy_change", 8), ("cancel_policy", 3), ("claim_status", 7), ("file_claim", 5),
    ("claim_dispute", 2), ("coverage_advice", 5), ("new_quote", 4), ("agency_info", 5),
    ("schedule_appointment", 4), ("human_request", 3), ("complaint", 4),
)
WORDS = {
    "billing_inquiry": ("what's my balance", "how much do I owe this month", "when is my next payment due",
                        "can you tell me my bill amount"),
    "make_payment": ("I'd like to make a payment", "I want to pay my bill", "can I pay over the phone"),
    "billing_dispute": ("you charged me twice this month", "there's a fee on my bill I don't recognize",
                        "I was overcharged on my auto policy"),
    "policy_details": ("what's my deductible", "when does my policy renew", "is my policy still active"),
    "id_card": ("I need a copy of my insurance card", "can you send me proof of insurance",
                "I lost my ID card"),
    "update_contact": ("I have a new phone number", "I need to update my email address", "I moved, new zip code"),
    "policy_change": ("I want to add my daughter to my car insurance", "I need to add a vehicle to my policy",
                      "can I change my coverage on the truck"),
    "cancel_policy": ("I want to cancel my policy", "I'm switching companies and need to cancel"),
    "claim_status": ("what's the status of my claim", "has my claim been approved yet"),
    "file_claim": ("I was in an accident and need to file a claim", "a tree fell on my house"),
    "claim_dispute": ("I don't agree with the claim decision", "my claim was denied and that's wrong"),
    "coverage_advice": ("should I add more coverage", "do I need umbrella insurance"),
    "new_quote": ("I'd like a quote for home insurance", "how much would it cost to insure a second car"),
    "agency_info": ("what are your office hours", "where is your office"),
    "schedule_appointment": ("I'd like to book an appointment", "can I meet with an agent next week"),
    "human_request": ("can I talk to a real person", "agent please"),
    "complaint": ("I want to file a complaint about how I was treated", "I'm very unhappy with the service"),
}
# Phrasings the AI reads as policy_change that producers keep tagging as billing disputes, and
# other recurring misreadings the review should surface.
MISREAD = {
    "policy_change": ("billing_dispute", 0.34, (
        "I need to change my payment, you took it out twice",
        "I want to change my bill, the amount is wrong",
        "change my policy payment because I was charged a late fee I shouldn't have",
        "I need to change the charge on my account, it's not right")),
    "coverage_advice": ("policy_change", 0.2, (
        "I need more coverage on my house because we built a garage",
        "add coverage for my new boat")),
    "billing_dispute": ("billing_inquiry", 0.22, (
        "why is my bill higher this month",
        "my payment went up, what's the amount now")),
}
REROUTE = {"complaint": ("service", 0.6), "cancel_policy": ("service", 0.25)}
PRODUCERS = {"licensed": "Dana Reyes", "retention": "Dana Reyes", "service": "Sam Ortiz", "claims": "Alex Kim",
             "complex": "Alex Kim"}
ROUTINE_FAILURES = (("resolution_failed", 5), ("identity_not_verified", 3), ("negative_sentiment", 2),
                    ("regulated_intent", 3), ("caller_requested_human", 3), ("crm_data_missing", 1))


def seed(store: EventStore, until: Week, weeks: int = 8, *, tz: tzinfo | None = None, now: datetime | None = None,
         calls_per_day: int = 60, seed: int = SEED) -> int:
    """Record the demo weeks ending with `until` (not past `now`); calls already there are kept. → calls written."""
    now = now or datetime.now(tz)
    first = until.shifted(-(weeks - 1))
    since, _ = first.bounds(tz)
    _, end = until.bounds(tz)
    existing = {c for c in store.call_ids(since, end) if c.startswith(PREFIX)}
    written = 0
    for i in range(weeks):
        week = first.shifted(i)
        progress = i / max(1, weeks - 1)  # 0 in the first week, 1 in the last
        rng = random.Random(f"{seed}:{week}")
        for call in week_calls(week, progress, rng, tz, calls_per_day):
            if call.call_id in existing or call.start >= now.timestamp():
                continue
            for event in events_of(call):
                if event.at < now.timestamp():  # a call still "in progress" now keeps its later events unwritten
                    store.record(event)
            written += 1
    store.flush(60.0)
    return written


def week_calls(week: Week, progress: float, rng: random.Random, tz: tzinfo | None, per_day: int) -> list[SyntheticCall]:
    out = []
    intents, weights = zip(*MIX)
    for day in range(6):  # Monday to Saturday (Saturday mornings are quiet)
        count = per_day if day < 5 else per_day // 4
        opening = datetime.combine(week.monday + timedelta(days=day), time(8, 0), tz).timestamp()
        hours = 10 if day < 5 else 4
        starts = sorted(opening + rng.random() * hours * 3600 for _ in range(rng.randint(count - 6, count + 6)))
        for n, start in enumerate(starts):
            intent = rng.choices(intents, weights)[0]
            out.append(demo_call(f"{PREFIX}{week}-{day}{n:03d}", start, intent, progress, rng))
    return out


def demo_call(call_id: str, start: float, intent: str, progress: float, rng: random.Random) -> SyntheticCall:
    turns = tuple(Turn(6.0 + 14 * k, latency=rng.lognormvariate(0.25, 0.3), decode=rng.lognormvariate(-0.9, 0.35))
                  for k in range(rng.randint(1, 3)))
    base = dict(call_id=call_id, start=start, pbx=DEMO_PBX, turns=turns, confidence=round(rng.uniform(0.55, 0.99), 2),
                text=rng.choice(WORDS[intent]))
    if rng.random() < 0.03:
        return SyntheticCall(intent=intent, outcome="abandoned", **base)
    routine = intent in CONTAIN
    verified = rng.random() < 0.93 if intent not in ("agency_info", "make_payment", "human_request") else None
    if routine:
        contain = _contain_chance(intent, progress)
        if verified is not False and rng.random() < contain:
            survey = _score(rng, 0.83) if rng.random() < 0.45 else None
            return SyntheticCall(intent=intent, outcome="contained", verified=verified, survey=survey,
                                 failed_checks=int(rng.random() < 0.1), duration=rng.uniform(45, 150), **base)
        reasons, w = zip(*ROUTINE_FAILURES)
        reason = "identity_not_verified" if verified is False else rng.choices(reasons, w)[0]
        queue = "complex" if reason == "negative_sentiment" else "service"
    else:
        reason = "caller_requested_human" if intent == "human_request" else "regulated_intent"
        queue = DEFAULT_QUEUES.get(intent, "service")
    return _escalated(base, intent, reason, queue, verified, progress, rng)


def _contain_chance(intent: str, progress: float) -> float:
    """Of the routine calls of each type, the share the AI resolves: climbing as the loop closes."""
    kind = call_type(intent)
    start, end = {"billing": (0.5, 0.78), "policy_service": (0.52, 0.8)}.get(kind, (0.7, 0.82))
    return start + (end - start) * progress


def _escalated(base: dict, intent: str, reason: str, queue: str, verified: bool | None, progress: float,
               rng: random.Random) -> SyntheticCall:
    call = dict(base, intent=intent, outcome="escalated", reason=reason, queue=queue, verified=verified,
                failed_checks=3 if verified is False else 0, producer=PRODUCERS.get(queue, "Sam Ortiz"))
    roll = rng.random()
    if roll < 0.05:
        return SyntheticCall(lost=True, **call)
    if roll < 0.10:
        return SyntheticCall(**call)  # nobody free: on to the agency's queue
    disposition, corrected, rerouted = _disposition(intent, reason, rng)
    if disposition == Disposition.MISIDENTIFIED and corrected:
        call["text"] = rng.choice(MISREAD[intent][2])
    survey = _score(rng, 0.6 + 0.15 * progress) if rng.random() < 0.4 else None
    return SyntheticCall(hold=rng.lognormvariate(3.0, 0.5), handle=rng.lognormvariate(5.7 - 0.25 * progress, 0.4),
                         disposition=disposition, corrected=corrected, rerouted_to=rerouted,
                         repeated=rng.random() < 0.1 - 0.08 * progress, survey=survey, **call)


def _disposition(intent: str, reason: str, rng: random.Random) -> tuple[Disposition, str, str]:
    if intent in MISREAD and rng.random() < MISREAD[intent][1]:
        return Disposition.MISIDENTIFIED, MISREAD[intent][0], ""
    if intent in REROUTE and rng.random() < REROUTE[intent][1]:
        return Disposition.REROUTED, "", REROUTE[intent][0]
    roll = rng.random()
    if roll < 0.05:
        return Disposition.OVER_ESCALATED, "", ""
    if roll < 0.10:
        return Disposition.LACKED_KNOWLEDGE, "", ""
    if roll < 0.12 or reason == "crm_data_missing":
        return Disposition.INTEGRATION_FAILURE, "", ""
    if roll < 0.16:
        return Disposition.CONFIRMATION_ONLY, "", ""
    return Disposition.RESOLVED, "", ""


def _score(rng: random.Random, satisfied: float) -> int:
    """A 1-5 answer, satisfied (4-5) with this probability."""
    if rng.random() < satisfied:
        return 5 if rng.random() < 0.6 else 4
    return rng.choice((1, 2, 2, 3, 3, 3))


def events_for_week(week: Week, progress: float = 0.5, seed: int = SEED, tz: tzinfo | None = None) -> list[CallEvent]:
    """One demo week's events (for tests and benches), without a store."""
    rng = random.Random(f"{seed}:{week}")
    return [e for call in week_calls(week, progress, rng, tz, 34) for e in events_of(call)]
