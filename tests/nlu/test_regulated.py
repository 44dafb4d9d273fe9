"""The regulated-topic veto as tables: words in, signal out; and how the policy uses it (sans-IO)."""

import pytest
from warmline.nlu.model import Scores
from warmline.nlu.policy import IntentPolicy, NluSettings
from warmline.nlu.regulated import SIGNALS, regulated_signal
from warmline.nlu.taxonomy import ESCALATE, INTENTS

# The failure patterns seen on real customers' words (issue 17), in this file's own phrasings.
CAUGHT = [
    ("I need a refund for the payment that went through twice", "refund"),
    ("can u waive the late fee this one time", "fee_waiver"),
    ("why is there a $25 fee on my account", "fee_why"),
    ("looks like a duplicate payment came out of my checking", "double_charge"),
    ("you drafted me twice this month", "double_charge"),
    ("why was I charged for the month after I switched", "why_charged"),
    ("I never authorized that withdrawal", "wrong_charge"),
    ("can I cancel that payment I made this morning", "undo_payment"),
    ("I'm not happy with how my claim is going", "claim_unhappy"),
    ("there is a problem with my claim", "claim_unhappy"),
    ("am I covered if my basement floods", "is_it_covered"),
    ("does my policy have glass coverage", "does_it_cover"),
    ("what is the time limit for filing a claim", "claim_time_limit"),
    ("should I get more liability coverage", "coverage_need"),
    ("how much more would I pay to increase my life insurance", "price_of_coverage"),
    ("what would auto insurance cost for my daughter", "what_would_cost"),
    ("can I get a quote on a boat", "quote"),
    ("my car is paid off now, there is no lienholder", "lien_paid_off"),
    ("we bought a new house last month", "sold_or_bought"),
    ("I just got divorced", "household_change"),
    ("my ex-husband's name needs to come off", "household_change"),
    ("my daughter just got her license", "driver_change"),
    ("I want to raise my deductible", "deductible_change"),
    ("I'd like to cancel my policy, I found cheaper", "cancel_policy"),
    ("this is the worst service I've ever had", "complaint"),
]

# Routine requests that must keep being served by the AI.
LEFT_ALONE = [
    "what's my balance", "when is my payment due", "I'd like to pay my bill", "what is my deductible",
    "can I get a copy of my insurance card", "I need to update my email address", "what are your hours",
    "I'm calling to check on the status of my claim", "when will I get my refund check",
    "I got married and need to change my last name", "cancel the automatic payments, not the insurance",
    "why is my bill higher than last month", "how much do I owe", "what's the minimum payment",
    "can I set up an appointment with my agent", "what's my policy number", "is the office open saturday",
    "I want to double check my mailing address",
]


@pytest.mark.parametrize("text, name", CAUGHT)
def test_regulated_phrasings_are_caught(text, name):
    signal = regulated_signal(text)
    assert signal is not None and signal.name == name, signal


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_routine_requests_are_left_alone(text):
    assert regulated_signal(text) is None


def test_every_signal_points_to_an_escalate_class_intent():
    assert {s.intent for s in SIGNALS} <= set(ESCALATE)


def test_a_signal_whose_intent_the_agency_contains_is_not_used():
    assert regulated_signal("I need a refund", {"complaint"}) is None
    assert regulated_signal("I need a refund, this is terrible service", {"complaint"}).intent == "complaint"


def contained(intent: str) -> Scores:
    rest = 0.02 / (len(INTENTS) - 1)
    return Scores({i: 0.98 if i == intent else rest for i in INTENTS})


POLICY = IntentPolicy(NluSettings())


@pytest.mark.parametrize("scores, text, decided", [
    (contained("policy_details"), "does my policy have glass coverage", ("coverage_advice", "escalate", "licensed", "does_it_cover")),
    (contained("billing_inquiry"), "why was I charged twice", ("billing_dispute", "escalate", "service", "double_charge")),
    (contained("policy_details"), "", ("policy_details", "contain", None, None)),  # no words: the model alone
    (contained("policy_details"), "what's my deductible", ("policy_details", "contain", None, None)),
    (contained("complaint"), "this is terrible", ("complaint", "escalate", "complex", None)),  # escalated already
    (contained("out_of_scope"), "I want a refund from the airline", ("out_of_scope", "clarify", "service", None)),
])
def test_the_policy_vetoes_contain_only(scores, text, decided):
    d = POLICY.decide(scores, text)
    assert (d.intent, d.action, d.queue, d.signal) == decided


def test_the_veto_follows_the_agency_configuration():
    policy = IntentPolicy(NluSettings(actions={"billing_dispute": "contain"}, queues={"coverage_advice": "owner"}))
    assert policy.decide(contained("billing_inquiry"), "I want a refund").action == "contain"
    assert policy.decide(contained("policy_details"), "am I covered if it floods").queue == "owner"
    off = IntentPolicy(NluSettings(regulated_veto=False))
    assert off.decide(contained("policy_details"), "am I covered if it floods").action == "contain"
