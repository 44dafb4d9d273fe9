"""Real SIP callers on the sandbox Asterisk: SIPp places the call (tests/integration/sip_phone.py).

Unlike the Local-channel callers of the other tests, these come in through PJSIP as a phone on
the PSTN side of a PBX does: an INVITE from their own UDP port, identified as the sip-caller
endpoint by address and port and challenged for digest credentials, G.711 μ-law or A-law over
RTP both ways, digits as SIP INFO, and a BYE from either side. What happened is asserted from
Warmline's journal and event store and from the PBX (AMI), as in the other integration tests,
and every call must leave no channel or bridge behind.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from warmline.ari_app.scripted import Journals
from warmline.ari_app.talk import Talk
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.crm.seed import DEMO_CALLER
from warmline.handoff.routing import Producer
from warmline.speech.services import build_services

from .conftest import assert_balance_read_and_contained, assert_stored_in_order, of, running_app, wait_until_empty
from .sip_phone import SipPhone, converse, free_udp_port, phrases_of, why_no_sipp
from .test_transfer import AmiLog


LAW = {"PCMU": "ulaw", "PCMA": "alaw"}
ASK_FOR_A_PERSON = "Can I speak to a real person, please?"
REGULATED = "Should I add full coverage to my car?"  # → licensed, not verified


def producer(behaviour: str) -> Producer:
    return Producer(name=behaviour, endpoint=f"PJSIP/{behaviour}@producer-phones",
                    queues=("licensed", "service"), states=("MA",))


def need_sipp() -> None:
    if reason := why_no_sipp():  # as for the sandbox itself (conftest): CI must run these
        pytest.fail(f"CI must run the SIP tests, but {reason}") if os.environ.get("CI") else pytest.skip(reason)


@pytest.mark.parametrize("stranger", ["another port", "a wrong password"])
async def test_only_the_callers_port_with_its_credentials_gets_a_call_in(sandbox, ari, tmp_path, stranger):
    need_sipp()
    phone = SipPhone(sandbox.state, tmp_path, from_port=free_udp_port() if stranger == "another port" else None,
                     password="not-the-password" if stranger == "a wrong password" else None)
    async with phone:
        await phone.finished(30)
    assert phone.log.events == ["refused"]
    codes = phone.responses()
    assert codes and 200 not in codes and codes[-1] in (401, 403), codes  # challenged, never answered
    assert await wait_until_empty(ari) == ([], [])


async def sip_call(sandbox, ari, kit, tmp_path, script, *, codec: str, producers=(), no_input_ms: int = 8000,
                   during=None, **handoff):
    """One call from the SIP phone playing `script`; `during(phone, journals, ami, app)` acts meanwhile.
    Returns the call's events (as the journal had them, checked against the store), the AMI log
    and the phone."""
    need_sipp()
    vad = sandbox.settings.vad.model_copy(update={"no_input_ms": no_input_ms})
    handoff = sandbox.settings.handoff.model_copy(update={"producers": tuple(producers), "ring_timeout_s": 6,
                                                          "accept_timeout_s": 3.0, **handoff})
    settings = sandbox.settings.model_copy(update={"vad": vad, "handoff": handoff})
    services = build_services(settings.vad, settings.stt)
    says, keys = phrases_of(script)
    phone = SipPhone(sandbox.state, tmp_path, codec=codec, says=says, keys=keys)
    journals, store = Journals(), EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    try:
        async with AmiLog(sandbox.state) as ami, \
                running_app(settings, kit.sessions(services), [journals, store.record, phone]) as app:
            async with phone:
                channel_id = await phone.answered()
                # the PBX's view of the caller: our SIP endpoint (not a producer's), in the law we offered
                channel = await ari.get(f"/channels/{channel_id}")
                assert channel["name"].startswith("PJSIP/sip-caller-"), channel["name"]
                assert channel["caller"]["number"] == phone.caller_number
                assert await phone.pbx_codec(ari) == LAW[codec]
                talk = asyncio.create_task(converse(phone, journals, script, turn_timeout_s=90))
                try:
                    if during is not None:
                        await during(phone, journals, ami, app)
                    events = await talk
                finally:
                    talk.cancel()
                assert await phone.finished(60) == 0, f"SIPp reports a failed call (see {phone.folder})"
            assert await wait_until_empty(ari, timeout=45) == ([], []), "legs or bridges left behind"
            await asyncio.sleep(0.3)  # the last AMI events
        call_id = events[0].call_id
        stored = store.events(call_id)
    finally:
        store.close()
        services.close()
    assert_stored_in_order(stored, events)
    assert_stored_in_order(phone.events, events)  # the phone's listener saw the same stream (and what AMI told after)
    return events, ami, phone


async def test_a_sip_caller_is_served_to_the_end(sandbox, ari, kit, tmp_path):
    # about a minute of conversation: μ-law only (the A-law path is the escalation's, the greeting's
    # and the hold's, each of which also has its words recognised)
    events, ami, phone = await sip_call(sandbox, ari, kit, tmp_path, [
        ("how_can_i_help", "Hi, I'd like to know my current balance."),
        ("verify_policy", f"keys:{DEMO_CALLER.policy_number}#"),
        ("verify_dob", DEMO_CALLER.date_of_birth_spoken),
        ("did_that_help", "Yes, thank you."),
        ("anything_else", "No, that's all."),
    ], codec="PCMU")
    assert_balance_read_and_contained(events)  # verified: the INFO digits arrived
    assert phone.log.events[-1] == "bye"  # Warmline hung up: the phone got the BYE and answered it


async def test_an_escalated_sip_caller_is_bridged_to_a_sip_producer(sandbox, ari, kit, tmp_path):
    async def watch_the_bridge(phone, journals, ami, app):
        await journals.wait(phone.channel_id, lambda e: type(e).__name__ == "TransferBridged", 90)
        bridge_id = next(t.bridge_id for t in app.channels.owners(Talk))
        for _ in range(200):  # ARI's addChannel only queues the join: wait (10 s under CI load) for Asterisk to show both
            watch_the_bridge.members = set((await ari.get(f"/bridges/{bridge_id}"))["channels"])
            if len(watch_the_bridge.members) >= 2:
                break
            await asyncio.sleep(0.05)

    events, ami, phone = await sip_call(sandbox, ari, kit, tmp_path, [("how_can_i_help", REGULATED)], codec="PCMA",
                                        producers=[producer("accept")], during=watch_the_bridge)
    [decided] = of(events, "EscalationDecided")
    assert (decided.reason, decided.queue) == ("regulated_intent", "licensed")
    [dialled] = of(events, "ProducerDialled")
    assert watch_the_bridge.members == {phone.channel_id, dialled.channel_id}  # one bridge: caller and producer
    assert ami.of("MusicOnHoldStart", Uniqueid=phone.channel_id)  # hold music, on the SIP channel
    # the producer's INVITE came back in as the producer's phone, not as the SIP caller
    seen = ami.of("UserEvent", UserEvent="SandboxProducer", Behaviour="accept")
    assert [e["CallId"] for e in seen] == [events[0].call_id]
    ended = of(events, "CallEnded")[0]
    assert (ended.reason, ended.queue) == ("handed_to", "licensed")
    assert phone.log.events[-1] == "bye"  # the producer hung up, and so Warmline hung the caller up


async def test_a_slow_caller_is_heard_out_not_taken_for_silence(sandbox, ari, kit, tmp_path):
    # 2 s before a word, then 4.4 s of speech at 0.6x tempo: it runs past the 4 s no-input deadline
    events, ami, phone = await sip_call(sandbox, ari, kit, tmp_path,
                                        [("how_can_i_help", f"wait:2|slow:{ASK_FOR_A_PERSON}")],
                                        codec="PCMU", no_input_ms=4000)
    [question] = [e for e in of(events, "PromptEnded") if e.prompt.startswith("how_can_i_help")]
    # a slow caller may pause inside the sentence ("...a real person? ... please"): the first part
    # can end the turn at the pause; every word is still heard
    heard = of(events, "CallerUtterance")
    assert "person" in " ".join(u.text for u in heard).lower()  # slowed speech: "a real" may come back "Regal"
    assert heard[-1].at - question.at > 4.0, "the premise: the answer is only in after the no-input deadline"
    assert not [e for e in of(events, "PromptStarted") if e.prompt.startswith("still_there")]
    [decided] = of(events, "EscalationDecided")
    assert decided.reason != "no_input"
    assert (decided.reason, decided.queue) == ("caller_requested_human", "service")
    ended = of(events, "CallEnded")[0]
    assert (ended.reason, ended.queue) == ("handed_to", "service")


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_words_said_over_the_greeting_answer_the_open_question(sandbox, ari, kit, tmp_path, codec):
    events, ami, phone = await sip_call(sandbox, ari, kit, tmp_path, [
        ("during:greeting", "What's my current balance?"),
        ("verify_policy", "hangup"),
    ], codec=codec)
    [greeting] = [e for e in of(events, "PromptEnded") if e.prompt.startswith("greeting")]
    assert greeting.outcome == "finished"  # the AI disclosure is played whole, even over speech
    [media] = of(events, "MediaConnected")
    heard = of(events, "CallerUtterance")[0]
    assert media.at + heard.end_ms / 1000 < greeting.at, "the premise: the caller spoke over the greeting"
    asked = [e.prompt.split()[0] for e in of(events, "PromptStarted")]
    assert "how_can_i_help" not in asked, asked  # the caller had already said it
    assert asked[asked.index("greeting") + 1] == "verify_policy"  # answered: verification for the balance
    first = of(events, "CallerTurn")[0]
    assert "balance" in first.text.lower() and first.intent == "billing_inquiry", first
    assert of(events, "ConversationEnded")[0].outcome == "abandoned"
    assert of(events, "CallEnded")[0].reason == "caller_hangup"
    assert phone.log.events[-1] == "hungup"


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_a_sip_caller_who_hangs_up_on_hold_is_recorded_as_abandoned(sandbox, ari, kit, tmp_path, codec):
    async def hang_up_while_ringing(phone, journals, ami, app):
        await journals.wait(phone.channel_id, lambda e: type(e).__name__ == "ProducerRinging", 90)
        await ami.wait_for("MusicOnHoldStart", Uniqueid=phone.channel_id)
        await asyncio.sleep(1)
        await phone.hang_up()

    events, ami, phone = await sip_call(sandbox, ari, kit, tmp_path, [("how_can_i_help", REGULATED)], codec=codec,
                                        producers=[producer("ringout")], ring_timeout_s=30,
                                        during=hang_up_while_ringing)
    [decided] = of(events, "EscalationDecided")
    assert (decided.reason, decided.queue) == ("regulated_intent", "licensed")
    assert [(e.producer, e.why) for e in of(events, "ProducerLost")] == [("ringout", "caller_gone")]
    assert not of(events, "TransferBridged")
    assert of(events, "CallEnded")[0].reason == "abandoned"
    assert phone.log.events[-1] == "hungup"
