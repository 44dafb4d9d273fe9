"""The hand-off payload: built from typed events only, strict, stored before any dial, read back."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from warmline.calls.events import (
    CallEnded,
    CallJournal,
    CallStarted,
    PromptEnded,
    PromptStarted,
)
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.dialog.events import (
    ActionTaken,
    CallerTurn,
    EscalationDecided,
    IdentityChecked,
    KeysPressed,
)
from warmline.errors import WarmlineError
from warmline.handoff.errors import HandoffError
from warmline.handoff.events import HandoffPrepared
from warmline.handoff.payload import (
    SCHEMA_VERSION,
    ActionRecord,
    HandoffPayload,
    Skills,
    TranscriptLine,
    build_payload,
    load_payload,
    load_payload_from,
    parse_payload,
    prepare,
)

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
CALL = "c-42"


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def started(caller_name="D SMITH"):
    return CallStarted(call_id=CALL, at=T0, pbx="asterisk", channel_id="ch-1", caller_number="6175550142",
                       caller_name=caller_name, dialed="100")


def prompt(at, media):
    return PromptStarted(call_id=CALL, at=T0 + at, prompt=media)


def turn(at, n, text, intent, *, answer=False, action="contain", confidence=0.9, sentiment=0.0):
    return CallerTurn(call_id=CALL, at=T0 + at, turn=n, text=text, answer=answer, intent=intent,
                      confidence=confidence, action=action, entities=(), sentiment=sentiment)


def keys(at, digits):
    return KeysPressed(call_id=CALL, at=T0 + at, digits=digits)


def identity(at, verified=True):
    if verified:
        return IdentityChecked(call_id=CALL, at=T0 + at, verified=True, method="policy_number+date_of_birth",
                               attempt=1, contact_id="ct-17", policy_id="po-4417", name="Dana Smith", why="",
                               state="MA", line="auto")
    return IdentityChecked(call_id=CALL, at=T0 + at, verified=False, method="", attempt=1, contact_id=None,
                           policy_id=None, name="", why="second_factor_mismatch")


def escalation(at, intent="billing_dispute"):
    return EscalationDecided(call_id=CALL, at=T0 + at, reason="regulated_intent", intent=intent,
                             detail="billing_dispute is handled by staff", final=False, queue="service")


def call(verified=True):
    """A billing call: greeting, a balance read to a verified caller, then a dispute that escalates."""
    return [
        started(),
        prompt(1, "greeting"),
        PromptEnded(call_id=CALL, at=T0 + 5, prompt="greeting", outcome="finished"),  # not a transcript line
        prompt(6, "how_can_i_help"),
        turn(9, 1, "I have a question about my bill", "billing_inquiry", confidence=0.91),
        prompt(10, "verify_policy"),
        keys(14, "44170021"),
        prompt(15, "verify_dob"),
        keys(19, "****"),  # keyed privately: the dialogue masks it before the event exists
        identity(20, verified),
        prompt(21, "verified"),
        prompt(22, "your_balance_is number:128 dollars"),
        ActionTaken(call_id=CALL, at=T0 + 23, intent="billing_inquiry", action="read_balance", ok=True,
                    result="balance $128.40 due 2026-12-01"),
        turn(30, 2, "that's wrong I already paid this", "billing_dispute", action="escalate", confidence=0.82,
             sentiment=-0.6),
        escalation(31),
    ]


def test_every_field_of_a_verified_escalation():
    payload = build_payload(call(), queue="service", now=T0 + 32)
    assert payload == HandoffPayload(
        schema_version=1, payload_id="hp-c-42", call_id=CALL, caller_number="6175550142", dialed="100",
        caller_name="Dana Smith", contact_id="ct-17", policy_id="po-4417", authenticated=True,
        auth_method="policy_number+date_of_birth", stated_reason="I have a question about my bill",
        intent="billing_dispute", confidence=0.82, reason="regulated_intent",
        reason_detail="billing_dispute is handled by staff",
        actions=(ActionRecord(at=utc(23), intent="billing_inquiry", action="read_balance", ok=True,
                              result="balance $128.40 due 2026-12-01"),),
        transcript=(
            TranscriptLine(at=utc(1), speaker="warmline", text="greeting"),
            TranscriptLine(at=utc(6), speaker="warmline", text="how_can_i_help"),
            TranscriptLine(at=utc(9), speaker="caller", text="I have a question about my bill"),
            TranscriptLine(at=utc(10), speaker="warmline", text="verify_policy"),
            TranscriptLine(at=utc(14), speaker="caller", text="keyed 44170021"),
            TranscriptLine(at=utc(15), speaker="warmline", text="verify_dob"),
            TranscriptLine(at=utc(19), speaker="caller", text="keyed ****"),
            TranscriptLine(at=utc(21), speaker="warmline", text="verified"),
            TranscriptLine(at=utc(22), speaker="warmline", text="your_balance_is number:128 dollars"),
            TranscriptLine(at=utc(30), speaker="caller", text="that's wrong I already paid this"),
        ),
        sentiment_trend=(0.0, -0.6),
        consent_reference="disclosure:greeting@2027-01-15T08:00:01+00:00",
        skills=Skills(queue="service", line="auto", state="MA"),
        started_at=utc(0), escalated_at=utc(31), prepared_at=utc(32),
    )
    assert payload.schema_version == SCHEMA_VERSION
    assert all(line.at.tzinfo is not None for line in payload.transcript)


def test_unverified_caller():
    payload = build_payload(call(verified=False), queue="service", now=T0 + 32)
    assert (payload.authenticated, payload.auth_method, payload.contact_id, payload.policy_id) == (False, "", None, None)
    assert payload.caller_name == "D SMITH"  # the caller-id name: nobody vouched for more
    assert payload.skills == Skills(queue="service", line=None, state=None)


def test_no_name_at_all():
    events = [started(caller_name=""), turn(9, 1, "hello", "out_of_scope", action="clarify")]
    assert build_payload(events, queue="service").caller_name == ""


def test_private_keys_stay_masked():
    text = build_payload(call(), queue="service", now=T0 + 32).model_dump_json()
    assert "keyed ****" in text
    assert "1980" not in text  # no date of birth: the events never carry one


# (name, events, expected intent, confidence)
INTENTS = [
    ("escalation-intent", [turn(1, 1, "my bill", "billing_inquiry", confidence=0.9),
                           turn(2, 2, "that's wrong", "billing_dispute", action="escalate", confidence=0.7),
                           escalation(3)], "billing_dispute", 0.7),
    ("latest-turn-of-that-intent", [turn(1, 1, "dispute a charge", "billing_dispute", action="escalate",
                                         confidence=0.6),
                                    turn(2, 2, "the charge is wrong", "billing_dispute", action="escalate",
                                         confidence=0.8), escalation(3)], "billing_dispute", 0.8),
    ("escalation-without-intent", [turn(1, 1, "erm", "billing_inquiry", action="clarify", confidence=0.2),
                                   turn(2, 2, "my balance", "billing_inquiry", confidence=0.95),
                                   escalation(3, intent=None)], "billing_inquiry", 0.95),
    ("no-escalation-first-understood", [turn(1, 1, "hmm", "out_of_scope", action="clarify", confidence=0.3),
                                        turn(2, 2, "yes", "out_of_scope", answer=True, action="contain"),
                                        turn(3, 3, "an id card", "id_card", confidence=0.88),
                                        turn(4, 4, "and my bill", "billing_inquiry")], "id_card", 0.88),
    ("escalated-intent-never-said", [escalation(3, intent="human_request")], "human_request", None),
    ("nothing-understood", [turn(1, 1, "hmm", "out_of_scope", action="clarify", confidence=0.3)], None, None),
    ("silent-call", [started()], None, None),
]


@pytest.mark.parametrize("name,events,intent,confidence", INTENTS, ids=[row[0] for row in INTENTS])
def test_intent_and_confidence(name, events, intent, confidence):
    payload = build_payload(events, queue="service", now=T0)
    assert (payload.intent, payload.confidence) == (intent, confidence)


def test_stated_reason_is_the_first_request_not_an_answer():
    events = [turn(1, 1, "12345", "out_of_scope", answer=True), turn(2, 2, "I need my id card", "id_card")]
    assert build_payload(events, queue="service", now=T0).stated_reason == "I need my id card"
    assert build_payload([started()], queue="service", now=T0).stated_reason == ""


@pytest.mark.parametrize("prompts,consent", [
    (["greeting"], "disclosure:greeting@2027-01-15T08:00:01+00:00"),
    (["still_there", "greeting how_can_i_help"], "disclosure:greeting@2027-01-15T08:00:02+00:00"),
    (["greeting_short"], None),  # only the disclosure prompt itself counts
    (["how_can_i_help"], None),
    ([], None),  # hung up before the greeting
])
def test_consent_reference(prompts, consent):
    events = [started(), *(prompt(i + 1, media) for i, media in enumerate(prompts))]
    assert build_payload(events, queue="service", now=T0).consent_reference == consent


def test_no_escalation_yet():
    payload = build_payload([started()], queue="claims", now=T0)
    assert (payload.reason, payload.reason_detail, payload.escalated_at) == ("", "", None)
    assert payload.started_at == utc(0) and payload.skills.queue == "claims"


def test_extra_fields_are_refused():
    data = build_payload(call(), queue="service", now=T0).model_dump()
    with pytest.raises(ValidationError, match="bogus"):
        HandoffPayload.model_validate({**data, "bogus": 1})
    with pytest.raises(ValidationError, match="bogus"):
        HandoffPayload.model_validate({**data, "skills": {**data["skills"], "bogus": 1}})


def test_frozen():
    payload = build_payload(call(), queue="service", now=T0)
    with pytest.raises(ValidationError):
        payload.reason = "other"


def test_round_trip_through_json():
    payload = build_payload(call(), queue="service", now=T0 + 32)
    assert parse_payload(payload.model_dump_json()) == payload


def edit(**changes) -> str:
    return build_payload(call(), queue="service", now=T0).model_copy(update=changes).model_dump_json()


# (name, text, what the one-line message must name)
BROKEN = [
    ("unknown-field", edit().replace('{"schema_version"', '{"bogus":1,"schema_version"'), ["bogus", "remove it"]),
    ("newer-schema", edit().replace('"schema_version":1', '"schema_version":2'), ["schema_version", "upgrade"]),
    ("missing-field", edit().replace('"reason":"regulated_intent",', ""), ["reason", "Field required"]),
    ("naive-time", edit().replace('"prepared_at":"2027-01-15T08:00:00Z"', '"prepared_at":"2027-01-15T08:00:00"'),
     ["prepared_at", "timezone"]),
    ("nested", edit().replace('"speaker":"caller"', '"speaker":"robot"', 1), ["transcript.2.speaker"]),
    ("not-json", "{not json", ["payload", "JSON"]),
]


@pytest.mark.parametrize("name,text,names", BROKEN, ids=[row[0] for row in BROKEN])
def test_parse_errors_are_one_line(name, text, names):
    with pytest.raises(HandoffError) as caught:
        parse_payload(text)
    message = str(caught.value)
    assert "\n" not in message and all(n in message for n in names), message
    assert isinstance(caught.value, WarmlineError)


def test_stored_before_dial_and_read_back(tmp_path):
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    journal = CallJournal(CALL, [store.record])
    for event in call():
        journal.emit(event)
    payload = prepare(journal, "service")
    stored = journal.events[-1]
    assert isinstance(stored, HandoffPrepared)
    assert (stored.payload_id, stored.queue) == ("hp-c-42", "service")
    journal.emit(CallEnded(call_id=CALL, reason="handed_to_service"))
    store.close()

    reopened = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)  # a fresh reader: what a console or audit would see
    assert [type(e) for e in reopened.events(CALL)].count(HandoffPrepared) == 1
    assert load_payload(reopened, CALL) == payload == load_payload_from(journal)
    assert load_payload(reopened, "no-such-call") is None


def test_the_latest_payload_wins(tmp_path):
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    journal = CallJournal(CALL, [store.record])
    for event in call():
        journal.emit(event)
    prepare(journal, "service")
    again = prepare(journal, "complex")  # re-planned to another queue
    assert load_payload(store, CALL) == again and again.skills.queue == "complex"
    assert load_payload_from(CallJournal("quiet")) is None


def test_a_spoken_second_factor_is_withheld_from_the_transcript():
    """The producer learns the check passed, never the date of birth or ZIP the caller said."""
    events = [started(), prompt(1, "verify_dob"),
              turn(3, 2, "march fifth nineteen eighty", "out_of_scope", answer=True, action="clarify"),
              prompt(4, "verify_zip_retry"), turn(6, 3, "oh two one oh eight", "out_of_scope", answer=True),
              prompt(7, "anything_else"), turn(9, 4, "no that's all", "out_of_scope", answer=True),
              escalation(10)]
    payload = build_payload(events, queue="service", now=T0 + 11)
    said = [line.text for line in payload.transcript if line.speaker == "caller"]
    assert said == ["[identity answer withheld]", "[identity answer withheld]", "no that's all"]
    assert "nineteen eighty" not in payload.model_dump_json()
