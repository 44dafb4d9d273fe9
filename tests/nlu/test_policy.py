"""The intent policy as a table: scores in, action out (sans-IO)."""

import pytest
from warmline.nlu.model import Scores
from warmline.nlu.policy import IntentPolicy, NluSettings
from warmline.nlu.taxonomy import INTENTS


def scores(**given: float) -> Scores:
    rest = (1.0 - sum(given.values())) / (len(INTENTS) - len(given))
    return Scores({i: given.get(i, rest) for i in INTENTS})


POLICY = IntentPolicy(NluSettings(contain_threshold=0.6, escalate_guard=0.1, clarify_threshold=0.3))


@pytest.mark.parametrize("probs, action, queue", [
    ({"billing_inquiry": 0.95}, "contain", None),
    ({"billing_inquiry": 0.55, "make_payment": 0.44}, "clarify", None),  # routine but unsure which: ask again
    ({"billing_inquiry": 0.80, "billing_dispute": 0.15}, "escalate", "service"),  # regulated reading close behind
    ({"coverage_advice": 0.45, "policy_details": 0.40}, "escalate", "licensed"),  # regulated top: escalate
    ({"cancel_policy": 0.9}, "escalate", "retention"),
    ({"human_request": 0.99}, "escalate", "service"),
    ({"out_of_scope": 0.9}, "clarify", "service"),
    ({"agency_info": 0.2, "id_card": 0.2}, "clarify", None),  # nothing above the clarify floor
])
def test_decisions(probs, action, queue):
    decision = POLICY.decide(scores(**probs))
    assert (decision.action, decision.queue) == (action, queue)


def test_queues_and_actions_are_configuration():
    policy = IntentPolicy(NluSettings(queues={"complaint": "owner"}, actions={"claim_status": "escalate"}))
    assert policy.decide(scores(complaint=0.9)).queue == "owner"
    assert policy.decide(scores(claim_status=0.95)).action == "escalate"


def test_an_unknown_intent_in_the_configuration_is_named():
    with pytest.raises(ValueError, match="unknown intent.*billing_enquiry"):
        NluSettings(queues={"billing_enquiry": "x"})
