"""Dialogue-level safety: a regulated request the AI misread as routine still reaches a person.

Each row is a licensed request said the way real customers put it (issue 17's failure
patterns), then what a caller does when the AI answers another question. Played twice: with
the regulated-topic veto (the shipped default: the first turn already escalates) and with the
intent model alone (the veto off), where the dialogue itself must hand the caller on — at the
"did that answer your question?" step, on "no, that's not what I asked", or on the request said
again. The dialogue-level leak (regulated requests that end "contained" without a person) is 0.
"""

from __future__ import annotations

import pytest
from warmline.nlu.classify import Classifier
from warmline.nlu.policy import NluSettings

from .test_dialogues import VERIFY

MISREAD = [
    # (name, the request, what the caller says after the AI's answer)
    ("coverage_said_again", "does my policy have glass coverage",
     [*VERIFY, "no, I wanted to know if a cracked windshield is covered"]),
    ("coverage_not_what_i_asked", "does my policy have glass coverage", [*VERIFY, "no, that's not what I asked"]),
    ("time_limit_bare_no", "what is the time limit for filing a claim",
     [*VERIFY, "no", "how long do I have to report the accident before it's too late"]),
    ("claim_unhappy_said_again", "I'm not happy with how my claim is going",
     [*VERIFY, "no, I think the adjuster lowballed me and I want to dispute it"]),
    ("claim_unhappy_no_twice", "I'm not happy with how my claim is going", [*VERIFY, "no", "my claim", *VERIFY, "no"]),
]

# Unverified callers are asked twice more, and some flows ask more: a caller who runs out of
# scripted turns hangs up, which would be "abandoned", never "contained".
SETTINGS = {"veto": NluSettings(), "model_alone": NluSettings(regulated_veto=False)}


@pytest.mark.parametrize("layer", SETTINGS)
@pytest.mark.parametrize("name, request_, after", MISREAD, ids=[m[0] for m in MISREAD])
async def test_a_misread_regulated_request_reaches_a_person(play, layer, name, request_, after):
    played = await play([request_, *after], classifier_=Classifier(SETTINGS[layer]))
    assert played.ending.outcome == "escalated", (played.caller.heard, played.of("CallerTurn"))
    assert not [e for e in played.of("ConversationEnded") if e.outcome == "contained"]
    [decided] = played.of("EscalationDecided")
    if layer == "veto":  # caught on the first turn: no flow answered the wrong question
        assert decided.reason == "regulated_intent" and not played.of("ActionTaken")
        assert played.caller.heard[-1] in ("warm_transfer", "transfer_to_person")


async def test_a_no_that_restates_a_routine_request_is_served_as_it(play):
    # "no, I meant my due date": the restated request runs its own flow, no new open question
    played = await play(["what's my policy number", *VERIFY, "no, I meant when is my payment due", "yes", "no thanks"],
                        classifier_=Classifier(NluSettings()))
    assert played.ending.outcome == "contained"
    assert [e.intent for e in played.of("IntentResolved")] == ["policy_details", "billing_inquiry"]
    assert [e.resolved for e in played.of("IntentResolved")] == [False, True]
    assert "clarify" not in played.caller.heard
