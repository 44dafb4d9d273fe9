"""Escalation triggers as tables: scripted observations in, at most one reason out (sans-IO)."""

import pytest
from warmline.dialog.triggers import (
    DEFAULT_OPT_OUT,
    FINAL,
    FROM_OUTSIDE,
    Escalation,
    Reason,
    Triggers,
    TriggerSettings,
    Turn,
    normalize,
)


def say(text, intent, action="contain", sentiment=0.0, confidence=0.9):
    """A caller turn as the observation tuple ("turn", text, intent, confidence, action, sentiment)."""
    return ("turn", text, intent, confidence, action, sentiment)


def answer(text, intent="out_of_scope", action="clarify", sentiment=0.0, confidence=0.9):
    """A turn spoken in answer to a specific question (a date, yes/no...)."""
    return ("answer", text, intent, confidence, action, sentiment)


def unsure(text="umm the thing with the", intent="billing_inquiry"):
    return say(text, intent, "clarify", confidence=0.2)


OOS = say("what's the weather tomorrow", "out_of_scope", "clarify")
BILL = say("what do I owe", "billing_inquiry")
R = Reason


def observe(triggers: Triggers, observation: tuple) -> Escalation | None:
    kind, *args = observation
    if kind in ("turn", "answer"):
        return getattr(triggers, f"on_{kind}")(Turn(*args))
    return getattr(triggers, f"on_{kind}")(*args)


def play(overrides: dict, observations: list) -> list[tuple[int, Escalation]]:
    """Every (index, escalation) returned while playing the script."""
    triggers = Triggers(TriggerSettings(**overrides))
    results = [(i, observe(triggers, o)) for i, o in enumerate(observations)]
    return [(i, e) for i, e in results if e is not None]


# (name, settings overrides, observations, reason the row is about, index it fires at; None = nothing fires)
TABLE = [
    # a person asked for: immediate, final
    ("human", {}, [say("can I talk to a real person", "human_request", "escalate")], R.CALLER_REQUESTED_HUMAN, 0),
    ("human-after-billing", {}, [BILL, say("agent please", "human_request", "escalate")], R.CALLER_REQUESTED_HUMAN, 1),
    ("human-unsure-is-not-a-request", {}, [unsure("a person maybe", "human_request")], R.CALLER_REQUESTED_HUMAN, None),
    ("human-off-globally", {"disabled": ["caller_requested_human"]},
     [say("operator", "human_request", "escalate")], R.CALLER_REQUESTED_HUMAN, None),
    ("human-beats-sentiment", {}, [say("useless", "billing_inquiry", sentiment=-0.8),
                                   say("get me a human now", "human_request", "escalate", sentiment=-0.9)],
     R.CALLER_REQUESTED_HUMAN, 1),
    ("human-ignores-per-intent-enabled", {"intents": {"human_request": {"enabled": ["action_failed"]}}},
     [say("a person", "human_request", "escalate")], R.CALLER_REQUESTED_HUMAN, 0),
    # 0 pressed: immediate, final
    ("zero", {}, [("dtmf", "0")], R.CALLER_PRESSED_ZERO, 0),
    ("zero-mid-billing", {}, [BILL, ("dtmf", "0")], R.CALLER_PRESSED_ZERO, 1),
    ("other-keys", {}, [("dtmf", "5"), ("dtmf", "#"), ("dtmf", "*")], R.CALLER_PRESSED_ZERO, None),
    ("zero-off", {"dtmf_zero": False}, [("dtmf", "0")], R.CALLER_PRESSED_ZERO, None),
    ("zero-disabled", {"disabled": ["caller_pressed_zero"]}, [("dtmf", "0")], R.CALLER_PRESSED_ZERO, None),
    ("zero-ignores-per-intent-enabled", {"intents": {"billing_inquiry": {"enabled": ["no_input"]}}},
     [BILL, ("dtmf", "0")], R.CALLER_PRESSED_ZERO, 1),
    # escalate-class intents: immediate
    ("file-claim", {}, [say("I was in an accident", "file_claim", "escalate")], R.REGULATED_INTENT, 0),
    ("regulated-after-contained", {}, [BILL, say("that charge is wrong", "billing_dispute", "escalate")],
     R.REGULATED_INTENT, 1),
    ("routine-contained", {}, [BILL, say("when is it due", "billing_inquiry")], R.REGULATED_INTENT, None),
    ("make-payment-forced", {"intents": {"make_payment": {"escalate": True}}},
     [say("I want to pay my bill", "make_payment")], R.REGULATED_INTENT, 0),
    ("cancel-not-regulated-here", {"intents": {"cancel_policy": {"escalate": False}}},
     [say("cancel my policy", "cancel_policy", "escalate")], R.REGULATED_INTENT, None),
    ("policy-guard", {}, [say("about my bill", "billing_inquiry", "escalate")], R.REGULATED_INTENT, 0),
    ("regulated-but-unsure", {}, [unsure("change something maybe", "policy_change")], R.REGULATED_INTENT, None),
    ("regulated-disabled-for-intent", {"intents": {"file_claim": {"enabled": ["action_failed"]}}},
     [say("I had a crash", "file_claim", "escalate")], R.REGULATED_INTENT, None),
    # out of scope: counted since the caller was last understood
    ("out-of-scope-twice", {}, [OOS, OOS], R.OUT_OF_SCOPE, 1),
    ("out-of-scope-once", {}, [OOS, BILL], R.OUT_OF_SCOPE, None),
    ("out-of-scope-reset-by-understood", {}, [OOS, BILL, OOS], R.OUT_OF_SCOPE, None),
    ("out-of-scope-not-reset-by-unsure", {}, [OOS, unsure(), OOS], R.OUT_OF_SCOPE, 2),
    ("out-of-scope-limit-1", {"out_of_scope_limit": 1}, [OOS], R.OUT_OF_SCOPE, 0),
    ("out-of-scope-limit-3", {"out_of_scope_limit": 3}, [OOS, OOS], R.OUT_OF_SCOPE, None),
    ("out-of-scope-disabled", {"intents": {"out_of_scope": {"enabled": ["no_input"]}}}, [OOS, OOS, OOS],
     R.OUT_OF_SCOPE, None),
    # unsure turns
    ("unsure-twice", {}, [unsure(), unsure()], R.LOW_CONFIDENCE, 1),
    ("unsure-reset-by-understood", {}, [unsure(), BILL, unsure()], R.LOW_CONFIDENCE, None),
    ("unsure-limit-3", {"low_confidence_limit": 3}, [unsure(), unsure()], R.LOW_CONFIDENCE, None),
    ("unsure-limit-3-fires", {"low_confidence_limit": 3}, [unsure(), OOS, unsure(), unsure()], R.LOW_CONFIDENCE, 3),
    # failed resolutions, per intent
    ("faq-fails-twice", {}, [BILL, ("resolution", "billing_inquiry", False), ("resolution", "billing_inquiry", False)],
     R.RESOLUTION_FAILED, 2),
    ("faq-fails-once", {}, [("resolution", "billing_inquiry", False)], R.RESOLUTION_FAILED, None),
    ("faq-resolved-resets", {}, [("resolution", "id_card", False), ("resolution", "id_card", True),
                                 ("resolution", "id_card", False)], R.RESOLUTION_FAILED, None),
    ("failures-are-per-intent", {}, [("resolution", "id_card", False), ("resolution", "claim_status", False)],
     R.RESOLUTION_FAILED, None),
    ("billing-dispute-default-1", {}, [("resolution", "billing_dispute", False)], R.RESOLUTION_FAILED, 0),
    ("billing-dispute-configurable", {"intents": {"billing_dispute": {"attempts": 3}}},
     [("resolution", "billing_dispute", False)] * 2, R.RESOLUTION_FAILED, None),
    ("attempts-override", {"intents": {"agency_info": {"attempts": 1}}}, [("resolution", "agency_info", False)],
     R.RESOLUTION_FAILED, 0),
    ("global-attempts", {"resolution_attempts": 3}, [("resolution", "id_card", False)] * 3, R.RESOLUTION_FAILED, 2),
    ("resolution-disabled-for-intent", {"intents": {"claim_status": {"enabled": ["action_failed"]}}},
     [("resolution", "claim_status", False)] * 4, R.RESOLUTION_FAILED, None),
    # CRM gaps and failed actions: immediate
    ("crm-missing", {}, [BILL, ("crm_missing", "billing_inquiry", "balance")], R.CRM_DATA_MISSING, 1),
    ("crm-missing-disabled-for-intent", {"intents": {"agency_info": {"enabled": ["action_failed"]}}},
     [("crm_missing", "agency_info", "office hours")], R.CRM_DATA_MISSING, None),
    ("action-failed", {}, [("action_failed", "update_contact", "write_email")], R.ACTION_FAILED, 0),
    ("action-failed-disabled-for-intent", {"intents": {"id_card": {"enabled": ["crm_data_missing"]}}},
     [("action_failed", "id_card", "send_id_card")], R.ACTION_FAILED, None),
    ("action-failed-disabled", {"disabled": ["action_failed"]}, [("action_failed", "id_card", "send_id_card")],
     R.ACTION_FAILED, None),
    # identity
    ("unverified-3", {}, [("verification", False)] * 3, R.IDENTITY_NOT_VERIFIED, 2),
    ("unverified-2", {}, [("verification", False)] * 2, R.IDENTITY_NOT_VERIFIED, None),
    ("verified-resets", {}, [("verification", False), ("verification", False), ("verification", True),
                             ("verification", False), ("verification", False)], R.IDENTITY_NOT_VERIFIED, None),
    ("verification-attempts-1", {"verification_attempts": 1}, [("verification", False)], R.IDENTITY_NOT_VERIFIED, 0),
    # sentiment: consecutive caller turns strictly below the threshold
    ("negative-twice", {}, [say("this is ridiculous", "billing_inquiry", sentiment=-0.71),
                            say("useless", "billing_inquiry", sentiment=-0.64)], R.NEGATIVE_SENTIMENT, 1),
    ("negative-not-consecutive", {}, [say("ridiculous", "billing_inquiry", sentiment=-0.7), BILL,
                                      say("useless", "billing_inquiry", sentiment=-0.6)], R.NEGATIVE_SENTIMENT, None),
    ("at-threshold-is-not-below", {}, [say("hm", "billing_inquiry", sentiment=-0.5)] * 2, R.NEGATIVE_SENTIMENT, None),
    ("negative-across-timeouts", {}, [say("ugh", "id_card", sentiment=-0.6), ("no_input",),
                                      say("ugh", "id_card", sentiment=-0.6)], R.NEGATIVE_SENTIMENT, 2),
    ("threshold-setting", {"sentiment_threshold": -0.3}, [say("meh", "id_card", sentiment=-0.4)] * 2,
     R.NEGATIVE_SENTIMENT, 1),
    ("turns-setting", {"sentiment_turns": 3}, [say("bad", "id_card", sentiment=-0.9)] * 3, R.NEGATIVE_SENTIMENT, 2),
    ("sentiment-beats-out-of-scope", {}, [say("this is a joke", "out_of_scope", "clarify", sentiment=-0.8),
                                          say("nonsense", "out_of_scope", "clarify", sentiment=-0.8)],
     R.NEGATIVE_SENTIMENT, 1),  # both reach their limit on this turn: sentiment is checked first
    ("sentiment-disabled-for-intent", {"intents": {"make_payment": {"enabled": ["action_failed"]}}},
     [say("ugh", "make_payment", sentiment=-0.9)] * 3, R.NEGATIVE_SENTIMENT, None),
    # no input in a row, reset by any caller input
    ("no-input-3", {}, [("no_input",)] * 3, R.NO_INPUT, 2),
    ("no-input-reset-by-speech", {}, [("no_input",), ("no_input",), BILL, ("no_input",), ("no_input",)],
     R.NO_INPUT, None),
    ("no-input-reset-by-keys", {}, [("no_input",), ("no_input",), ("dtmf", "1"), ("no_input",), ("no_input",)],
     R.NO_INPUT, None),
    ("no-input-reset-by-answer", {}, [("no_input",), ("no_input",), ("no_match",), ("no_input",), ("no_input",)],
     R.NO_INPUT, None),
    ("no-input-limit-1", {"no_input_limit": 1}, [("no_input",)], R.NO_INPUT, 0),
    # answers not understood in a row, reset by a matched answer
    ("no-match-3", {}, [("no_match",)] * 3, R.NO_MATCH, 2),
    ("no-match-reset", {}, [("no_match",), ("no_match",), ("matched",), ("no_match",), ("no_match",)], R.NO_MATCH, None),
    ("no-match-limit-2", {"no_match_limit": 2}, [("matched",), ("no_match",), ("no_match",)], R.NO_MATCH, 2),
    # opt-out: whole normalised phrases, checked first
    ("opt-out", {}, [say("please stop calling me", "out_of_scope", "clarify")], R.OPT_OUT, 0),
    ("opt-out-contraction", {}, [say("Don't call me again!", "out_of_scope", "clarify")], R.OPT_OUT, 0),
    ("opt-out-no-apostrophe", {}, [say("dont call me again", "out_of_scope", "clarify")], R.OPT_OUT, 0),
    ("opt-out-curly-apostrophe", {}, [say("I said don\u2019t call me anymore.", "complaint", "escalate")], R.OPT_OUT, 0),
    ("opt-out-list", {}, [BILL, say("Take me off your list, please.", "out_of_scope", "clarify")], R.OPT_OUT, 1),
    ("opt-out-beats-human", {}, [say("stop calling me, get me a person", "human_request", "escalate")], R.OPT_OUT, 0),
    ("not-opt-out-stop-my-policy", {}, [say("I don't want to stop my policy", "policy_details")], R.OPT_OUT, None),
    ("not-opt-out-stopped-calling", {}, [say("the adjuster stopped calling me", "claim_status")], R.OPT_OUT, None),
    ("not-opt-out-paper-bills", {}, [say("how do I unsubscribe from paper bills", "billing_inquiry")], R.OPT_OUT, None),
    ("not-opt-out-new-number", {}, [say("remove my number from the account, it changed", "update_contact")],
     R.OPT_OUT, None),
    ("not-opt-out-call-me-at-work", {}, [say("do not call me at work", "update_contact")], R.OPT_OUT, None),
    ("not-opt-out-inside-a-word", {}, [say("nonstop calling memos", "agency_info")], R.OPT_OUT, None),
    ("opt-out-custom", {"opt_out_phrases": ["leave me alone"]}, [say("Leave me ALONE!", "out_of_scope", "clarify")],
     R.OPT_OUT, 0),
    ("opt-out-custom-replaces", {"opt_out_phrases": ["leave me alone"]},
     [say("stop calling me", "out_of_scope", "clarify")], R.OPT_OUT, None),
    ("opt-out-off", {"opt_out_phrases": []}, [say("stop calling me", "agency_info")], R.OPT_OUT, None),
    # answers to a specific question: only opt-out, a person asked for and sentiment count
    ("answer-opt-out", {}, [answer("no, and stop calling me")], R.OPT_OUT, 0),
    ("answer-human", {}, [answer("I want a real person", "human_request", "escalate")], R.CALLER_REQUESTED_HUMAN, 0),
    ("answer-sentiment", {}, [say("ugh", "id_card", sentiment=-0.8), answer("whatever", sentiment=-0.7)],
     R.NEGATIVE_SENTIMENT, 1),
    ("answers-are-not-out-of-scope", {}, [answer("march fifth 1980")] * 3, R.OUT_OF_SCOPE, None),
    ("answers-are-not-unsure", {}, [answer("yeah i guess", "billing_inquiry", confidence=0.2)] * 3,
     R.LOW_CONFIDENCE, None),
    ("answers-are-not-regulated", {}, [answer("my claim number", "file_claim", "escalate")], R.REGULATED_INTENT, None),
    ("answer-resets-no-input", {}, [("no_input",), ("no_input",), answer("yes"), ("no_input",), ("no_input",)],
     R.NO_INPUT, None),
    # the engine's own failure
    ("system-error", {}, [BILL, ("system_error", "flow raised")], R.SYSTEM_ERROR, 1),
    # escalated stays escalated: later observations answer None
    ("stays-escalated", {}, [("dtmf", "0"), say("a person", "human_request", "escalate"), ("system_error", "x"),
                             ("no_input",), ("no_input",), ("no_input",)], R.CALLER_PRESSED_ZERO, 0),
]


@pytest.mark.parametrize(("overrides", "observations", "reason", "at"),
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_triggers(overrides, observations, reason, at):
    fired = play(overrides, observations)
    if at is None:
        assert fired == []
        return
    assert [(i, e.reason) for i, e in fired] == [(at, reason)]  # and nothing after it
    assert fired[0][1].final == (reason in FINAL)


def test_the_table_fires_and_withholds_every_reason():
    fires = {row[3] for row in TABLE if row[4] is not None}
    withholds = {row[3] for row in TABLE if row[4] is None}
    assert fires == set(Reason) - FROM_OUTSIDE  # a supervisor's take-over is not the triggers' to fire
    assert withholds == set(Reason) - {Reason.SYSTEM_ERROR} - FROM_OUTSIDE  # the engine's own failure never is


def test_reason_codes_are_the_fixed_taxonomy():
    assert [r.value for r in Reason] == [
        "caller_requested_human", "caller_pressed_zero", "regulated_intent", "out_of_scope", "low_confidence",
        "resolution_failed", "crm_data_missing", "action_failed", "identity_not_verified", "negative_sentiment",
        "no_input", "no_match", "opt_out", "system_error", "supervisor_takeover"]


@pytest.mark.parametrize(("observations", "expected"), [
    ([OOS, OOS], Escalation(R.OUT_OF_SCOPE, "out_of_scope", "2 out-of-scope turns")),
    ([BILL, unsure(), unsure()], Escalation(R.LOW_CONFIDENCE, "billing_inquiry", "2 unsure turns")),
    ([say("ridiculous", "id_card", sentiment=-0.71), say("useless", "id_card", sentiment=-0.6449)],
     Escalation(R.NEGATIVE_SENTIMENT, "id_card", "sentiment -0.71,-0.64")),
    ([say("talk to a human", "human_request", "escalate")],
     Escalation(R.CALLER_REQUESTED_HUMAN, "human_request", "caller asked for a person", final=True)),
    ([BILL, ("dtmf", "0")], Escalation(R.CALLER_PRESSED_ZERO, "billing_inquiry", "caller pressed 0", final=True)),
    ([("no_input",)] * 3, Escalation(R.NO_INPUT, None, "3 no-input timeouts in a row")),
    ([say("new car", "new_quote", "escalate")], Escalation(R.REGULATED_INTENT, "new_quote", "new_quote is escalate-class")),
    ([("resolution", "id_card", False)] * 2, Escalation(R.RESOLUTION_FAILED, "id_card", "2 failed attempts")),
    ([("crm_missing", "billing_inquiry", "balance")], Escalation(R.CRM_DATA_MISSING, "billing_inquiry", "CRM has no balance")),
    ([BILL, say("stop calling me", "out_of_scope", "clarify")],
     Escalation(R.OPT_OUT, "billing_inquiry", 'opt-out phrase "stop calling me"')),
], ids=["out-of-scope", "unsure", "sentiment", "human", "zero", "no-input", "regulated", "resolution", "crm", "opt-out"])
def test_escalation_says_which_intent_and_why(observations, expected):
    assert play({}, observations) == [(len(observations) - 1, expected)]


def test_an_answer_keeps_the_intent_in_play():
    assert play({}, [BILL, answer("it's in my other account", "update_contact", "contain"), ("dtmf", "0")]) == [
        (2, Escalation(R.CALLER_PRESSED_ZERO, "billing_inquiry", "caller pressed 0", final=True))]


def test_a_failure_without_an_intent_names_the_one_in_play():
    assert play({}, [BILL, ("action_failed", "", "crm_read")]) == [
        (1, Escalation(R.ACTION_FAILED, "billing_inquiry", "crm_read failed"))]
    assert play({}, [("crm_missing", None, "policy")]) == [(0, Escalation(R.CRM_DATA_MISSING, None, "CRM has no policy"))]


def test_the_fired_escalation_is_kept():
    triggers = Triggers(TriggerSettings())
    assert triggers.escalation is None
    first = triggers.on_dtmf("0")
    assert triggers.on_turn(Turn("file a claim", "file_claim", 0.9, "escalate", 0.0)) is None
    assert triggers.escalation == first


@pytest.mark.parametrize(("text", "expected"), [
    ("Don't call me again!", "do not call me again"),
    ("I WON'T, can't; didnt.", "i will not cannot did not"),
    ("they\u2019re here, I'm sure", "they are here i am sure"),
    ("the agency's  number?!", "the agencys number"),
    ("caf\u00e9 -- ok", "cafe ok"),
    ("", ""),
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_default_phrases_are_already_normal():
    assert all(normalize(p) == p for p in DEFAULT_OPT_OUT)


def test_defaults():
    s = TriggerSettings()
    assert (s.out_of_scope_limit, s.low_confidence_limit, s.resolution_attempts, s.verification_attempts,
            s.sentiment_threshold, s.sentiment_turns, s.no_input_limit, s.no_match_limit) == (2, 2, 2, 3, -0.5, 2, 3, 3)
    assert s.dtmf_zero and s.disabled == frozenset() and s.intents["billing_dispute"].attempts == 1


def test_settings_take_toml_shaped_data():
    s = TriggerSettings(disabled=["no_match"], intents={"make_payment": {"escalate": True, "enabled": ["action_failed"]}})
    assert s.disabled == {Reason.NO_MATCH}
    assert s.intents["make_payment"].enabled == {Reason.ACTION_FAILED}


@pytest.mark.parametrize(("settings", "message"), [
    ({"intents": {"billing_enquiry": {}}}, r"unknown intent\(s\) billing_enquiry; the intents are: billing_inquiry, "),
    ({"intents": {"id_card": {"enabled": ["low_confidance"]}}}, r"cannot include low_confidance; choose from: action_failed, "),
    ({"intents": {"id_card": {"enabled": ["caller_pressed_zero"]}}}, r"cannot include caller_pressed_zero; choose from: "),
    ({"disabled": ["negative_sentimnet"]}, r"disabled cannot include negative_sentimnet; choose from: action_failed, "),
    ({"disabled": ["system_error"]}, r"disabled cannot include system_error"),
    ({"intents": {"human_request": {"escalate": False}}}, r"intents.human_request.escalate cannot be set"),
    ({"opt_out_phrases": ["stop calling me", "?!"]}, r"opt-out phrase '\?!' has no words"),
    ({"no_input_limit": 0}, r"greater than or equal to 1"),
    ({"intents": {"id_card": {"attempts": 0}}}, r"greater than or equal to 1"),
    ({"sentiment_threshold": -1.5}, r"greater than -1"),
    ({"dtmf_zeros": False}, r"Extra inputs are not permitted"),
], ids=["intent", "reason", "caller-reason-per-intent", "disabled-reason", "system-error", "human-escalate",
        "empty-phrase", "limit", "attempts", "threshold", "extra-key"])
def test_settings_validation(settings, message):
    with pytest.raises(ValueError, match=message) as caught:
        TriggerSettings(**settings)
    assert all("\n" not in error["msg"] for error in caught.value.errors())


def test_settings_are_frozen():
    with pytest.raises(ValueError):
        TriggerSettings().no_input_limit = 5
