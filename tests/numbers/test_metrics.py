"""Tables of calls → the numbers: the fold (one call's stream → its facts) and the summary."""

from __future__ import annotations

import pytest
from warmline.calls.events import (
    CallEnded,
    CallerSpeechStarted,
    CallerUtterance,
    CallStarted,
    EndReason,
    MediaConnected,
    PromptStarted,
    UtteranceCut,
)
from warmline.dialog.events import IdentityChecked, VerifyFailure, VerifyMethod
from warmline.dialog.survey import SurveyAnswered
from warmline.handoff.events import Disposition
from warmline.numbers.facts import CallFold, call_facts
from warmline.numbers.summary import Rate, summarise
from warmline.numbers.synthetic import SyntheticCall, Turn, events_of

T0 = 1_795_000_000.0


def synth(i: int, **kw) -> SyntheticCall:
    return SyntheticCall(call_id=f"c{i}", start=T0 + 600 * i, **kw)


def contained(i, intent="billing_inquiry", **kw):
    return synth(i, intent=intent, outcome="contained", **kw)


def escalated(i, intent="coverage_advice", reason="regulated_intent", **kw):
    return synth(i, intent=intent, outcome="escalated", reason=reason, **kw)


def numbers(calls):
    return summarise(call_facts(c.call_id, events_of(c)) for c in calls)


# --- one call's fold ----------------------------------------------------------------------------

def _utterance(at, end_ms, decode=0.5):
    return CallerUtterance(call_id="x", at=at, start_ms=end_ms - 1500, end_ms=end_ms, text="hi", engine="whisper",
                           decode_seconds=decode, cut=UtteranceCut.SILENCE)


@pytest.mark.parametrize("stream, latencies", [
    # audio time 0 placed by the speech start (at 100.0 + 2.0 s of audio → zero at 98.0): speech ended at
    # audio 3.0 s = wall 101.0; the reply started at 102.5
    ([CallerSpeechStarted(call_id="x", at=100.0, at_ms=2000), _utterance(101.9, 3000),
      PromptStarted(call_id="x", at=102.5, prompt="reply")], [1.5]),
    # a late detection (zero 98.2) does not move the clock later than the earliest one
    ([CallerSpeechStarted(call_id="x", at=100.0, at_ms=2000), CallerSpeechStarted(call_id="x", at=110.2, at_ms=12000),
      _utterance(115.0, 14000), PromptStarted(call_id="x", at=113.0, prompt="reply")], [1.0]),
    # no speech start known: media connection is audio time 0
    ([MediaConnected(call_id="x", at=50.0, transport="websocket", audio_format="slin16"), _utterance(55.0, 4000),
      PromptStarted(call_id="x", at=55.2, prompt="reply")], [pytest.approx(1.2)]),
    # a prompt with no utterance before it (the greeting), and two utterances before one prompt: the last counts
    ([PromptStarted(call_id="x", at=10.0, prompt="greeting"),
      CallerSpeechStarted(call_id="x", at=20.0, at_ms=20000),
      _utterance(21.0, 20500), _utterance(23.0, 22000), PromptStarted(call_id="x", at=23.5, prompt="reply"),
      PromptStarted(call_id="x", at=30.0, prompt="anything_else")], [1.5]),
])
def test_turn_latency_runs_from_the_end_of_speech_to_the_next_prompt(stream, latencies):
    facts = call_facts("x", stream)
    assert facts.turn_latencies == latencies
    assert facts.decode_seconds == [e.decode_seconds for e in stream if isinstance(e, CallerUtterance)]


def _check(attempt, verified):
    return IdentityChecked(call_id="x", verified=verified, attempt=attempt,
                           method=VerifyMethod.POLICY_AND_ZIP if verified else VerifyMethod.NONE,
                           contact_id="c" if verified else None, policy_id=None, name="",
                           why=VerifyFailure.NONE if verified else VerifyFailure.NO_SUCH_POLICY)


@pytest.mark.parametrize("checks, identity, observed", [
    ([], None, []),
    ([_check(1, False)], False, ["failed"]),
    ([_check(1, False), _check(2, True)], True, ["failed", "verified"]),
    ([_check(1, True)], True, ["verified"]),
])
def test_identity_check_result_per_call(checks, identity, observed):
    fold = CallFold("x")
    seen = [dict(o.labels)["result"] for e in checks for o in fold.feed(e)]
    assert fold.facts.identity is identity
    assert seen == observed


def test_the_fold_observes_what_the_live_exporter_counts():
    fold = CallFold("c1")
    observed = [o for e in events_of(escalated(1, hold=25.0, handle=300.0, disposition=Disposition.RESOLVED,
                                                repeated=True, survey=4)) for o in fold.feed(e)]
    names = [o.metric for o in observed]
    for name in ("call_started", "escalation", "conversation", "hold_seconds", "call_ended", "handle_seconds",
                 "disposition", "caller_repeated", "survey_score", "turn_latency_seconds", "stt_decode_seconds"):
        assert name in names, name
    by = {o.metric: o for o in observed}
    assert by["hold_seconds"].value == pytest.approx(25.0)
    assert by["handle_seconds"].value == pytest.approx(300.0)
    assert dict(by["escalation"].labels) == {"reason": "regulated_intent", "intent": "coverage_advice",
                                             "queue": "service"}
    assert dict(by["disposition"].labels) == {"disposition": "resolved", "intent": "coverage_advice"}
    assert dict(by["survey_score"].labels) == {"after": "escalated"} and by["survey_score"].value == 4


def test_a_later_request_that_went_to_a_person_is_the_reading_judged():
    events = events_of(escalated(1, intent="policy_change", text="I need to change my car"))
    facts = call_facts("c1", events)
    assert (facts.reading, facts.request, facts.confidence) == ("policy_change", "I need to change my car", 0.92)


def test_a_call_that_never_reached_the_conversation_counts_as_a_call_only():
    stream = [CallStarted(call_id="f", at=1.0, pbx="asterisk", channel_id="ch", caller_number="", caller_name="",
                          dialed="7000"),
              CallEnded(call_id="f", at=2.0, reason=EndReason.HANDED_TO_FALLBACK)]
    n = summarise([call_facts("f", stream)])
    assert (n.calls, n.conversations, n.containment) == (1, 0, Rate(0, 0))
    assert n.containment.value is None and n.containment.percent() == "—"


# --- the summary, table by table ---------------------------------------------------------------

def test_containment_overall_per_intent_and_per_call_type():
    calls = [contained(1), contained(2), escalated(3, intent="billing_dispute", queue="service"),
             contained(4, intent="id_card"), escalated(5, intent="policy_change", queue="licensed"),
             escalated(6, intent="policy_details", reason="resolution_failed"),
             synth(7, intent="agency_info", outcome="abandoned"),
             escalated(8, intent=None, reason="caller_pressed_zero", text="")]
    n = numbers(calls)
    assert (n.calls, n.conversations, n.contained, n.escalated, n.abandoned) == (8, 8, 3, 4, 1)
    assert n.containment == Rate(3, 8)
    assert n.containment_by_intent == {
        "billing_inquiry": Rate(2, 2), "billing_dispute": Rate(0, 1), "id_card": Rate(1, 1),
        "policy_change": Rate(0, 1), "policy_details": Rate(0, 1), "agency_info": Rate(0, 1), "none": Rate(0, 1)}
    assert n.containment_by_type == {"billing": Rate(2, 3), "policy_service": Rate(1, 3), "general": Rate(0, 2),
                                     "claims": Rate(0, 0), "sales_advice": Rate(0, 0)}
    assert n.escalation_rate == Rate(4, 8)
    assert n.escalation_reasons == {"regulated_intent": 2, "resolution_failed": 1, "caller_pressed_zero": 1}


def test_misroutes_and_repeat_explanation_are_shares_of_tagged_transfers():
    calls = [escalated(1, hold=10, disposition=Disposition.RESOLVED),
             escalated(2, hold=10, disposition=Disposition.MISIDENTIFIED, corrected="billing_dispute", repeated=True),
             escalated(3, hold=10, disposition=Disposition.REROUTED, rerouted_to="claims"),
             escalated(4, hold=10, disposition=Disposition.OVER_ESCALATED),
             escalated(5, hold=10, disposition=Disposition.LACKED_KNOWLEDGE, repeated=True),
             escalated(6, hold=10, disposition=Disposition.CONFIRMATION_ONLY),
             escalated(7, hold=10),  # not tagged (yet)
             contained(8)]
    n = numbers(calls)
    assert n.tagged == 6
    assert n.misroutes == Rate(3, 6)
    assert n.repeat_explanation == Rate(2, 6)
    assert n.dispositions == {"resolved": 1, "misidentified": 1, "rerouted": 1, "over_escalated": 1,
                              "lacked_knowledge": 1, "confirmation_only": 1}


def test_hold_lost_callers_and_handle_time():
    calls = [escalated(1, hold=10.0, handle=200.0), escalated(2, hold=30.0, handle=400.0),
             escalated(3, hold=50.0, handle=600.0), escalated(4, lost=True), escalated(5),  # 5: on to the queue
             contained(6)]
    n = numbers(calls)
    assert (n.hold_seconds.n, n.hold_seconds.p50, n.hold_seconds.p95) == (3, pytest.approx(30.0), pytest.approx(50.0))
    assert n.hold_seconds.mean == pytest.approx(30.0)
    assert n.lost_on_hold == Rate(1, 5)
    assert (n.handle_seconds.n, n.handle_seconds.mean) == (3, pytest.approx(400.0))


def test_turn_latency_and_decode_time_over_every_turn():
    calls = [contained(1, turns=(Turn(6.0, latency=1.0, decode=0.3), Turn(20.0, latency=2.0, decode=0.5))),
             contained(2, turns=(Turn(7.0, latency=4.0, decode=1.5),))]
    n = numbers(calls)
    assert n.turn_latency_seconds.n == 3
    assert n.turn_latency_seconds.p50 == pytest.approx(2.0, abs=0.01)
    assert n.turn_latency_seconds.p95 == pytest.approx(4.0, abs=0.01)
    assert n.stt_decode_seconds.mean == pytest.approx((0.3 + 0.5 + 1.5) / 3)


def test_identity_check_success_is_per_call():
    calls = [contained(1, verified=True), contained(2, verified=True, failed_checks=2),
             escalated(3, reason="identity_not_verified", verified=False, failed_checks=3), contained(4, intent="agency_info")]
    assert numbers(calls).identity_checks == Rate(2, 3)


def test_csat_is_the_share_of_four_and_five_and_the_gap_is_in_points():
    calls = [contained(1, survey=5), contained(2, survey=4), contained(3, survey=2), contained(4, survey=5),
             escalated(5, hold=5, survey=5), escalated(6, hold=5, survey=3), contained(7)]
    n = numbers(calls)
    assert n.csat_ai == Rate(3, 4) and n.csat_escalated == Rate(1, 2)
    assert n.csat_gap == pytest.approx(25.0)
    assert n.surveys == {"ai": 4, "escalated": 2}


def test_demo_calls_are_counted_apart():
    n = numbers([contained(1, pbx="demo"), contained(2)])
    assert (n.calls, n.demo_calls) == (2, 1)


@pytest.mark.parametrize("score", [0, 6, True, 2.5])
def test_a_survey_score_outside_one_to_five_is_refused(score):
    with pytest.raises(ValueError, match="score"):
        SurveyAnswered(call_id="x", score=score, after="ai")
