"""Scripted dialogues as tables: caller turns in, events and the decision out.

Every flow and every trigger family has a row. The classifier, flows and SQLite CRM are the
real ones; the caller is a script (see conftest)."""

from __future__ import annotations

import pytest
from warmline.crm.base import CrmError
from warmline.crm.seed import DEMO_CALLER, DEMO_NO_BILLING
from warmline.dialog.triggers import TriggerSettings
from warmline.nlu.classify import Classifier
from warmline.nlu.policy import NluSettings

POLICY = f"keys:{DEMO_CALLER.policy_number}#"
DOB = DEMO_CALLER.date_of_birth_spoken
VERIFY = [POLICY, DOB]

CONTAINED = [
    # (name, caller turns, the flow step that served them, prompts the caller must hear)
    ("balance", ["hi um what's my current balance", *VERIFY, "yes", "no that's all thanks"],
     "read_balance", ["your_balance_is number:{} dollars and_cents number:{} cents".format(
         *divmod(DEMO_CALLER.balance_cents, 100))]),
    ("id_card", ["I need a copy of my insurance card for the DMV", *VERIFY, "yes", "no thanks"],
     "send_id_card", ["id_card_sent"]),
    ("appointment", ["can I set up an appointment with my agent", *VERIFY, "no", "yes", "yes", "that's all"],
     "book_appointment", ["appointment_booked"]),
    ("policy_details", ["what is my deductible", *VERIFY, "yes", "nope"],
     "read_policy", [f"your_policy_number_is digits:{DEMO_CALLER.policy_number}"]),
    ("claim_status", ["I'm calling to check on the status of my claim", *VERIFY, "yes", "no"],
     "read_claim_status", ["claim_number_is"]),
    ("office_info", ["what time does your office close today", "yes", "no that is all"],
     "office_info", ["office_hours"]),
    ("update_contact", ["I need to update my email address", *VERIFY, "jane dot doe at example dot com",
                        "yes", "yes", "no"], "update_contact", ["contact_updated"]),
    ("zip_by_keys", ["I moved and need to change my zip code", POLICY, f"keys:{DEMO_CALLER.zip}#", "keys:04101#", "yes",
                     "yes", "no"], "update_contact", ["contact_updated"]),
    ("two_requests", ["what's my balance", *VERIFY, "yes", "yes", "what are your hours", "yes", "no"],
     "office_info", ["your_balance_is", "office_hours"]),
]


@pytest.mark.parametrize("name,turns,step,prompts", CONTAINED, ids=[c[0] for c in CONTAINED])
async def test_contained_calls_are_served_without_a_person(play, name, turns, step, prompts):
    played = await play(turns)
    assert played.ending.outcome == "contained", played.of("EscalationDecided")
    assert played.ending.target is None
    assert [a.action for a in played.of("ActionTaken") if a.ok][-1] == step
    said = " | ".join(played.caller.heard)
    assert all(p in said for p in prompts), said
    assert played.caller.heard[0] == "greeting" and played.caller.heard[-1] == "goodbye"
    assert played.of("ConversationEnded")[0].outcome == "contained"
    assert not played.of("EscalationDecided")


async def test_verified_identity_is_recorded_with_its_method(play):
    played = await play(["what's my balance", *VERIFY, "yes", "no"])
    [check] = played.of("IdentityChecked")
    assert check.verified and check.method == "policy_number+date_of_birth"
    assert check.contact_id == DEMO_CALLER.contact_id


async def test_payment_goes_to_the_payment_line_with_listening_paused(play):
    played = await play(["I'd like to pay my bill with a card"])
    assert (played.ending.outcome, played.ending.target) == ("contained", "payment")
    assert played.caller.paused  # card digits keyed on the payment line are never transcribed
    assert "payment_handoff" in played.caller.heard


async def test_booking_writes_the_appointment_to_the_crm(play, crm):
    await play(["can I set up an appointment with my agent", *VERIFY, "yes", "yes", "no"])
    [booked] = await crm.appointments_of(DEMO_CALLER.contact_id)
    assert booked.status == "booked"
    assert await crm.free_slots(booked.start, limit=1) and (await crm.free_slots(booked.start, limit=1))[0].start != booked.start


async def test_id_card_is_queued_once_in_the_crm(play, crm):
    played = await play(["send me my proof of insurance", *VERIFY, "yes", "no"])
    assert "queued by email" in played.of("ActionTaken")[-1].result


async def test_contact_change_is_written_only_after_read_back(play, crm):
    await play(["I need to update my email address", *VERIFY, "jane dot doe at example dot com", "no", "no", "no"])
    assert (await crm.contact(DEMO_CALLER.contact_id)).email != "jane.doe@example.com"
    await play(["I need to update my email address", *VERIFY, "jane dot doe at example dot com", "yes", "yes", "no"])
    assert (await crm.contact(DEMO_CALLER.contact_id)).email == "jane.doe@example.com"


ESCALATED = [
    # (name, caller turns, reason code, queue, final)
    ("asks_for_person", ["can I just talk to a real person please"], "caller_requested_human", "service", True),
    ("presses_zero", ["keys:0"], "caller_pressed_zero", "service", True),
    ("zero_mid_verification", ["what's my balance", "keys:0"], "caller_pressed_zero", "service", True),
    ("person_mid_verification", ["what's my balance", POLICY, "I want to speak to an agent"],
     "caller_requested_human", "service", True),
    ("coverage_advice", ["should I add full coverage to my car"], "regulated_intent", "licensed", False),
    ("cancel", ["I want to cancel my policy"], "regulated_intent", "retention", False),
    ("new_claim", ["I was in an accident this morning and need to file a claim"], "regulated_intent", "claims", False),
    ("billing_dispute", ["you charged me twice this month"], "regulated_intent", "service", False),
    ("out_of_scope", ["what's the weather going to be like this weekend", "can you recommend a good pizza place"],
     "out_of_scope", "service", False),
    ("resolution_failed", ["what's my balance", *VERIFY, "no", "what do I owe", "no"],
     "resolution_failed", "service", False),
    ("identity_not_verified", ["what's my balance", POLICY, "january first nineteen ninety",
                               POLICY, "february second nineteen ninety", POLICY, "march third nineteen ninety"],
     "identity_not_verified", "service", False),
    ("unknown_policy", ["what's my balance", "keys:99999999#", "keys:88888888#", "keys:77777777#"],
     "identity_not_verified", "service", False),
    ("negative_sentiment", ["what's my balance", "this is ridiculous, I hate these stupid machines",
                            "this is terrible, awful and useless"], "negative_sentiment", "complex", False),
    ("no_input", ["silence", "silence", "silence"], "no_input", "service", False),
    ("speech_not_decoded", ["unheard"], "system_error", "service", False),
    ("speech_not_decoded_mid_flow", ["what's my balance", "unheard"], "system_error", "service", False),
    ("no_match", ["what's my balance", POLICY, "purple", "banana", "elephant"], "no_match", "service", False),
    ("opt_out", ["please stop calling me"], "opt_out", "service", False),
    ("address_change", ["I moved, I need to change my street address", *VERIFY],
     "resolution_failed", "service", False),
]


@pytest.mark.parametrize("name,turns,reason,queue,final", ESCALATED, ids=[e[0] for e in ESCALATED])
async def test_escalations_fire_on_the_turn_with_their_reason(play, name, turns, reason, queue, final):
    played = await play(turns)
    assert played.ending.outcome == "escalated", played.kinds()
    [decided] = played.of("EscalationDecided")
    assert (decided.reason, decided.queue, decided.final) == (reason, queue, final)
    assert played.ending.target == queue
    assert not played.caller.turns, "the escalation came late: the script had turns left"
    expected = "warm_transfer" if queue in ("licensed", "retention") else "transfer_to_person"
    assert played.caller.heard[-1] == expected


async def test_low_confidence_escalates_after_two_unsure_turns(play, flows):
    unsure = Classifier(NluSettings(clarify_threshold=0.99, contain_threshold=0.995))
    played = await play(["um so about my thing", "the thing with the stuff"], classifier_=unsure)
    [decided] = played.of("EscalationDecided")
    assert decided.reason == "low_confidence"


async def test_crm_without_the_data_escalates(play):
    played = await play(["what's my balance", f"keys:{DEMO_NO_BILLING.policy_number}#",
                         DEMO_NO_BILLING.date_of_birth_spoken])
    [decided] = played.of("EscalationDecided")
    assert (decided.reason, decided.intent) == ("crm_data_missing", "billing_inquiry")


class FailingWrites:
    """The seeded CRM, except that every write fails as an unreachable system would."""

    def __init__(self, crm):
        self._crm = crm

    def __getattr__(self, name):
        return getattr(self._crm, name)

    async def queue_message(self, *args, **kwargs):
        raise CrmError("CRM did not answer queue_message within 1.5 s")


async def test_a_failed_action_escalates(play, crm):
    played = await play(["I need a copy of my insurance card", *VERIFY], crm_=FailingWrites(crm))
    [decided] = played.of("EscalationDecided")
    assert (decided.reason, decided.intent) == ("action_failed", "id_card")


async def test_a_caller_who_hangs_up_is_abandoned_quietly(play):
    played = await play(["what's my balance", "hangup"])
    assert played.ending.outcome == "abandoned"
    assert not played.of("EscalationDecided")


async def test_make_payment_can_be_configured_to_escalate(play, flows):
    strict = flows.model_copy(update={"triggers": TriggerSettings(intents={"make_payment": {"escalate": True}})})
    played = await play(["I'd like to pay my bill"], flows_=strict)
    [decided] = played.of("EscalationDecided")
    assert (decided.reason, decided.intent) == ("regulated_intent", "make_payment")


async def test_every_turn_is_in_the_event_stream(play):
    turns = ["what's my balance", *VERIFY, "yes", "no that's all"]
    played = await play(turns)
    said = [t.text for t in played.of("CallerTurn")]
    assert said == [t for t in turns if not t.startswith("keys:")]
    assert [k.digits for k in played.of("KeysPressed")] == [DEMO_CALLER.policy_number]


class FrontDeskFirst:
    """The real CRM, with the front desk booking the caller's chosen slot a moment before them."""

    def __init__(self, crm):
        self.crm, self.raced = crm, False

    async def book_appointment(self, contact_id, slot, topic, *, key, call_id):
        if not self.raced:
            self.raced = True
            await self.crm.book_appointment("C1004", slot, "walk-in", key="front-desk", call_id="desk")
        return await self.crm.book_appointment(contact_id, slot, topic, key=key, call_id=call_id)

    def __getattr__(self, name):
        return getattr(self.crm, name)


async def test_a_slot_taken_while_the_caller_chose_is_offered_again(play, crm):
    played = await play(["can I set up an appointment with my agent", *VERIFY, "yes", "yes", "yes", "no"],
                        crm_=FrontDeskFirst(crm))
    said = " | ".join(played.caller.heard)
    assert "appointment_taken" in said and played.ending.outcome == "contained"
    [mine] = await crm.appointments_of(DEMO_CALLER.contact_id)
    [desk] = await crm.appointments_of("C1004")
    assert mine.status == desk.status == "booked" and mine.start != desk.start
    assert [a.ok for a in played.of("ActionTaken") if a.action == "book_appointment"] == [True]


# --- the post-call survey (the flow file's `survey:`) ----------------------------------------------

OFFICE = ["what time does your office close today", "yes", "no that's all"]  # contained, no account
SURVEY = [
    # (name, survey on, the caller's answer to the survey question, the score recorded, what they hear last)
    ("by_key", True, "keys:4", 4, ["survey_question", "survey_thanks", "goodbye"]),
    ("by_word", True, "four", 4, ["survey_question", "survey_thanks", "goodbye"]),
    ("in_a_sentence", True, "I'd give it a five", 5, ["survey_question", "survey_thanks", "goodbye"]),
    ("no_answer", True, "silence", None, ["survey_question", "goodbye"]),  # asked once: no "are you still there?"
    ("garbage", True, "purple elephant", None, ["survey_question", "goodbye"]),
    ("out_of_range_key", True, "keys:9", None, ["survey_question", "goodbye"]),
    ("zero_is_no_person_now", True, "keys:0", None, ["survey_question", "goodbye"]),
    ("speech_not_decoded", True, "unheard", None, ["survey_question", "goodbye"]),
    ("hangs_up", True, "hangup", None, ["survey_question"]),  # still contained: they were served
    ("disabled", False, "keys:4", None, ["goodbye"]),  # the packaged default: no question
]


@pytest.mark.parametrize("name,on,answer,score,last", SURVEY, ids=[s[0] for s in SURVEY])
async def test_the_survey_after_a_contained_call(play, flows, name, on, answer, score, last):
    survey = flows.survey.model_copy(update={"enabled": on})
    played = await play([*OFFICE, answer], flows_=flows.model_copy(update={"survey": survey}))
    assert played.ending.outcome == "contained" and played.ending.target is None
    assert played.caller.heard[-len(last):] == last and played.caller.heard.count("survey_question") == on
    answers = played.of("SurveyAnswered")
    assert [(a.score, a.after) for a in answers] == ([(score, "ai")] if score else [])
    kinds = played.kinds()
    assert kinds[-1] == "ConversationEnded" and not played.of("EscalationDecided")
    if answers:  # recorded before the call's end, after the caller said that's all
        assert kinds.index("SurveyAnswered") > max(i for i, k in enumerate(kinds) if k == "CallerTurn")
    # the survey answer is no caller turn: its words go nowhere but the score
    assert [t.text for t in played.of("CallerTurn")] == OFFICE
    assert list(played.caller.turns) == ([] if on else [answer])  # off: never asked, the answer unused


async def test_the_survey_is_not_asked_after_escalated_or_payment_calls(play, flows):
    on = flows.model_copy(update={"survey": flows.survey.model_copy(update={"enabled": True})})
    for turns in (["can I just talk to a real person please"], ["I'd like to pay my bill with a card"]):
        played = await play(turns, flows_=on)
        assert "survey_question" not in played.caller.heard and not played.of("SurveyAnswered")


async def test_the_survey_only_after_escalated_calls_is_not_asked_by_the_ai(play, flows):
    pbx_only = flows.model_copy(update={"survey": flows.survey.model_copy(update={"enabled": True,
                                                                                 "after": ("escalated",)})})
    played = await play([*OFFICE], flows_=pbx_only)
    assert "survey_question" not in played.caller.heard and played.caller.heard[-1] == "goodbye"


BAD_SURVEYS = [
    # (the survey: section, what the one-line error says)
    ("{enabled: true, after: []}", "survey: survey is enabled but asked after no call"),
    ("{enabled: true, after: [resolved]}", "survey.after.0: Input should be 'contained' or 'escalated'"),
    ("{enabled: true, question: no_such_prompt}", "prompt(s) no_such_prompt are not in the prompt catalog"),
    ("{enabled: yes please}", "survey.enabled: Input should be a valid boolean"),
    ("{enabled: true, ask: twice}", "survey.ask: Extra inputs are not permitted"),
]


@pytest.mark.parametrize("section,says", BAD_SURVEYS, ids=[b[0] for b in BAD_SURVEYS])
def test_a_bad_survey_section_stops_start_up_in_one_line(tmp_path, section, says):
    import yaml
    from warmline.dialog.flows import FlowError, load_flows, packaged_flows
    from warmline.speech.prompts import Catalog, packaged_catalog

    path = tmp_path / "flows.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(packaged_flows().read_text()), "survey": yaml.safe_load(section)}))
    with pytest.raises(FlowError) as caught:
        load_flows(path, set(Catalog.load(packaged_catalog()).texts))
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_the_packaged_survey_is_off_and_would_ask_after_both_kinds_of_call(flows):
    assert not flows.survey.enabled and set(flows.survey.after) == {"contained", "escalated"}
    assert {"survey_question", "survey_thanks"} <= set(flows.model_copy(
        update={"survey": flows.survey.model_copy(update={"enabled": True})}).prompt_keys())
