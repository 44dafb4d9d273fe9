"""The conversation end to end on the sandbox Asterisk: callers speak (flite at 8 kHz) and key
digits through a real PBX; Warmline hears them, serves or hands off, and the event stream and
the PBX's own events say what happened."""

from __future__ import annotations

import pytest
from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.crm.seed import DEMO_CALLER

from .conftest import (PbxObserver, assert_balance_read_and_contained, assert_stored_in_order, of, running_app,
                       wait_until_empty)

POLICY_KEYS = f"keys:{DEMO_CALLER.policy_number}#"


async def call_with(sandbox, ari, kit, voices, tmp_path, script, *, no_input_ms: int = 8000):
    settings = sandbox.settings.model_copy(update={"vad": sandbox.settings.vad.model_copy(update={"no_input_ms": no_input_ms})})
    from warmline.speech.services import build_services

    services = build_services(settings.vad, settings.stt)
    journals, store = Journals(), EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    try:
        async with running_app(settings, kit.sessions(services), [journals, store.record]), \
                CallerSimulator(ari) as sim, PbxObserver(ari) as pbx:
            call = await sim.place()
            await pbx.watch(call.caller_channel_id)
            events = await converse(sim, journals, voices, call, script)
            # a handed-off caller may still be in the agency queue or the call-back box: let them finish
            assert await wait_until_empty(ari, timeout=45) == ([], []), "legs or bridges left behind"
        stored = store.events(next(e.call_id for e in events))
    finally:
        store.close()
        services.close()
    assert_stored_in_order(stored, events)
    return events, pbx


async def test_a_contained_call_verifies_reads_the_balance_and_hangs_up(sandbox, ari, kit, voices, tmp_path):
    events, pbx = await call_with(sandbox, ari, kit, voices, tmp_path, [
        ("how_can_i_help", "Hi, I'd like to know my current balance."),
        ("verify_policy", POLICY_KEYS),
        ("verify_dob", DEMO_CALLER.date_of_birth_spoken),
        ("did_that_help", "Yes, thank you."),
        ("anything_else", "No, that's all."),
    ])
    assert_balance_read_and_contained(events)


ESCALATIONS = [
    # (trigger family, caller script, reason code, queue)
    ("explicit ask", [("how_can_i_help", "Can I speak to a real person, please?")], "caller_requested_human", "service"),
    ("zero pressed", [("how_can_i_help", "keys:0")], "caller_pressed_zero", "service"),
    ("regulated", [("how_can_i_help", "Should I add full coverage to my car?")], "regulated_intent", "licensed"),
    ("out of scope", [("how_can_i_help", "What's the weather going to be like this weekend?"),
                      ("clarify", "Can you recommend a good pizza place?")], "out_of_scope", "service"),
    ("frustrated", [("how_can_i_help", "What's my balance?"),
                    ("verify_policy", "This is ridiculous. I hate these stupid machines."),
                    ("didnt_catch", "This is terrible, awful and useless.")], "negative_sentiment", "complex"),
    ("opt-out", [("how_can_i_help", "Please stop calling me.")], "opt_out", "service"),
    ("identity", [("how_can_i_help", "What's my balance?"), ("verify_policy", "keys:99999999#"),
                  ("verify_policy_retry", "keys:88888888#"), ("verify_policy_retry", "keys:77777777#")],
     "identity_not_verified", "service"),
    ("no input", [("how_can_i_help", "silence"), ("still_there", "silence"), ("still_there", "silence")],
     "no_input", "service"),
]


@pytest.mark.parametrize("family,script,reason,queue", ESCALATIONS, ids=[e[0] for e in ESCALATIONS])
async def test_each_trigger_family_hands_the_caller_off_with_its_reason(
        sandbox, ari, kit, voices, tmp_path, family, script, reason, queue):
    events, pbx = await call_with(sandbox, ari, kit, voices, tmp_path, script, no_input_ms=2500)
    [decided] = of(events, "EscalationDecided")
    assert (decided.reason, decided.queue) == (reason, queue)
    ended = of(events, "CallEnded")[0]
    assert (ended.reason, ended.queue) == ("handed_to", queue)
    # the PBX's view: the variables were on the caller's channel before it entered the hand-off context
    caller = of(events, "CallStarted")[0].channel_id
    sets = {e["variable"]: e["value"] for e in pbx.of("ChannelVarset", channel__id=caller)}
    assert sets.get("__WARMLINE_REASON") == reason and sets.get("__WARMLINE_QUEUE") == queue
    assert len(sets.get("__WARMLINE_SUMMARY", "")) <= 200
    entered = pbx.of("ChannelDialplan", channel__id=caller, channel__dialplan__context="warmline-handoff")
    assert entered and entered[0]["channel"]["dialplan"]["exten"] == queue
