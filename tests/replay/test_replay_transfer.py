"""The warm transfer, replayed: accepted, busy and declined producers, the caller leaving on hold,
a broken producer address (→ fallback) and a phone that rings out (→ the dialplan's queue)."""

from __future__ import annotations

from .checks import calls, created_and_deleted, first, story
from .harness import journal_summary, run_replay

TRANSFER_EVENTS = ("HandoffPrepared", "TransferPlanned", "ProducerDialled", "ProducerRinging", "ProducerAnswered",
                   "ProducerLost", "TransferBridged", "CallFailed")


def transfer_story(log) -> list[str]:
    return [k for k in log.kinds() if k in TRANSFER_EVENTS]


async def replay(transcript, name, tmp_path):
    recorded = transcript(name)
    result = await run_replay(recorded, tmp_path)
    result.assert_complete()
    assert story(journal_summary(result.log.events)) == story(recorded.meta["journal"])
    call_id = result.log.of("CallStarted")[0].call_id
    return recorded, result, call_id, recorded.meta["caller"]


def assert_nothing_left(sent, caller: str) -> None:
    created, deleted = created_and_deleted(sent)
    assert created and created <= deleted, f"created but never deleted: {created - deleted}"


async def test_an_accepted_transfer_puts_the_context_on_the_leg_before_the_dial_then_bridges(transcript, tmp_path):
    recorded, result, call_id, caller = await replay(transcript, "transfer_accepted", tmp_path)
    log, sent = result.log, result.fake.requests
    leg, hold, talk = f"wl-{call_id}-p1", f"wl-{call_id}-hold", f"wl-{call_id}-talk"
    assert transfer_story(log) == ["HandoffPrepared", "TransferPlanned", "ProducerDialled", "ProducerRinging",
                                   "ProducerAnswered", "TransferBridged"]

    # Warmline's ears leave the call before anyone else picks up
    assert first(sent, "DELETE", f"/bridges/wl-{call_id}") < first(sent, "POST", "/bridges", start=4)
    # hold, the leg created in the app with the context on it, the screen pop, and only then the dial
    steps = [first(sent, "POST", f"/bridges/{hold}/addChannel"), first(sent, "POST", f"/channels/{caller}/moh"),
             first(sent, "POST", "/channels/create"), first(sent, "POST", "/events/user/WarmlineHandoff"),
             first(sent, "POST", f"/channels/{leg}/dial")]
    assert steps == sorted(steps)
    create = sent[steps[2]]
    assert create["query"]["channelId"] == leg and create["query"]["app"] == "warmline"
    assert create["query"]["endpoint"] == "PJSIP/accept@producer-phones"
    variables = create["body"]["variables"]
    assert variables["__WARMLINE_PAYLOAD_ID"] == f"hp-{call_id}" and variables["__WARMLINE_CALL_ID"] == call_id
    assert variables["__WARMLINE_INTENT"] == "coverage_advice" and variables["__WARMLINE_REASON"] == "regulated_intent"
    assert variables["PJSIP_HEADER(add,X-Warmline-Call-Id)"] == call_id
    assert "CALLERID(name)" in variables and "CONNECTEDLINE(num)" in variables
    assert sent[steps[3]]["body"]["variables"]["ProducerChannel"] == leg

    # the whisper on the producer's leg, cut by the key; then one bridge for caller and producer
    whisper = first(sent, "POST", f"/channels/{leg}/play")
    assert "transfer_whisper" in sent[whisper]["query"]["media"]
    bridged = first(sent, "POST", f"/bridges/{talk}/addChannel")
    assert sent[bridged]["query"]["channel"] == f"{caller},{leg}"
    assert whisper < first(sent, "POST", "/bridges", start=whisper) < first(sent, "DELETE", f"/bridges/{hold}") < bridged
    assert log.of("TransferBridged")[0].producer == "accept"

    # the caller hangs up: the producer's leg and the talk bridge go too
    assert calls(sent)[bridged + 1:] == [("DELETE", f"/channels/{caller}"), ("DELETE", f"/channels/{leg}"),
                                         ("DELETE", f"/bridges/{talk}")]
    assert_nothing_left(sent, caller)
    assert (log.of("CallEnded")[0].reason, log.of("CallEnded")[0].queue) == ("handed_to", "licensed")
    assert not result.app.channels.ids()  # no talk or producer leg left followed


async def test_busy_and_declined_producers_are_passed_over_for_the_next(transcript, tmp_path):
    recorded, result, call_id, caller = await replay(transcript, "transfer_busy_decline", tmp_path)
    log, sent = result.log, result.fake.requests
    assert [(e.producer, e.why) for e in log.of("ProducerLost")] == [("busy", "busy"), ("decline", "declined")]
    assert [e.producer for e in log.of("ProducerDialled")] == ["busy", "decline", "accept"]
    # each leg that did not take the call is hung up before the next one is created
    for n in (1, 2):
        assert first(sent, "DELETE", f"/channels/wl-{call_id}-p{n}") < first(sent, "POST", "/channels/create",
                                                                              start=first(sent, "POST", f"/channels/wl-{call_id}-p{n}/dial") + 1)
    assert log.of("TransferBridged")[0].producer == "accept"
    assert sent[first(sent, "POST", f"/bridges/wl-{call_id}-talk/addChannel")]["query"]["channel"] == f"{caller},wl-{call_id}-p3"
    assert_nothing_left(sent, caller)
    assert (log.of("CallEnded")[0].reason, log.of("CallEnded")[0].queue) == ("handed_to", "licensed")


async def test_a_caller_who_hangs_up_on_hold_leaves_no_leg_or_bridge(transcript, tmp_path):
    recorded, result, call_id, caller = await replay(transcript, "transfer_caller_hangs_up_on_hold", tmp_path)
    log, sent = result.log, result.fake.requests
    assert [(e.producer, e.why) for e in log.of("ProducerLost")] == [("ringout", "caller_gone")]
    assert not log.of("TransferBridged")
    ringing_leg = f"wl-{call_id}-p1"
    after = first(sent, "POST", f"/channels/{ringing_leg}/dial")
    assert set(calls(sent)[after + 1:]) >= {("DELETE", f"/channels/{ringing_leg}"), ("DELETE", f"/bridges/wl-{call_id}-hold")}
    assert ("POST", f"/channels/{caller}/continue") not in calls(sent)  # nobody left to hand on
    assert_nothing_left(sent, caller)
    assert log.of("CallEnded")[0].reason == "abandoned"  # hung up on hold, before anyone took them


async def test_a_broken_producer_address_sends_the_caller_to_the_fallback(transcript, tmp_path):
    recorded, result, call_id, caller = await replay(transcript, "transfer_broken", tmp_path)
    log, sent = result.log, result.fake.requests
    create = first(sent, "POST", "/channels/create")  # Asterisk answers 500 "Allocation failed"
    leg, hold = f"wl-{call_id}-p1", f"wl-{call_id}-hold"
    assert calls(sent)[create + 1:] == [  # the leg, the hold music and the hold bridge go; then a person
        ("DELETE", f"/channels/{leg}"), ("DELETE", f"/channels/{caller}/moh"), ("DELETE", f"/bridges/{hold}"),
        ("POST", f"/channels/{caller}/variable"), ("POST", f"/channels/{caller}/continue")]
    [failed] = log.of("CallFailed")
    assert failed.stage == "handoff"
    fallback = first(sent, "POST", f"/channels/{caller}/continue", start=create)
    assert sent[fallback]["query"] == {"context": "warmline-fallback", "extension": "s", "priority": "1"}
    reason = sent[first(sent, "POST", f"/channels/{caller}/variable", start=create)]["query"]
    assert reason == {"variable": "WARMLINE_FALLBACK_REASON", "value": "warmline_error_handoff"}
    assert ("POST", f"/channels/{leg}/dial") not in calls(sent)
    assert_nothing_left(sent, caller)
    assert log.of("CallEnded")[0].reason == "handed_to_fallback"


async def test_a_phone_that_rings_out_hands_the_caller_to_the_queue_with_the_context(transcript, tmp_path):
    recorded, result, call_id, caller = await replay(transcript, "transfer_no_answer", tmp_path)
    log, sent = result.log, result.fake.requests
    assert [(e.producer, e.why) for e in log.of("ProducerLost")] == [("ringout", "no_answer")]
    onward = sent[first(sent, "POST", f"/channels/{caller}/continue")]["query"]
    assert onward == {"context": "warmline-handoff", "extension": "licensed", "priority": "1"}
    inherited = {r["query"]["variable"]: r["query"]["value"] for r in sent
                 if r["path"] == f"/ari/channels/{caller}/variable" and r["query"]["variable"].startswith("__")}
    assert inherited["__WARMLINE_PAYLOAD_ID"] == f"hp-{call_id}" and inherited["__WARMLINE_QUEUE"] == "licensed"
    assert first(sent, "DELETE", f"/channels/wl-{call_id}-p1") < first(sent, "POST", f"/channels/{caller}/continue")
    assert_nothing_left(sent, caller)
    assert (log.of("CallEnded")[0].reason, log.of("CallEnded")[0].queue) == ("handed_to", "licensed")
