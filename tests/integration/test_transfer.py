"""The warm transfer on the sandbox Asterisk, against simulated producers' desk phones.

The producers are PJSIP calls from the sandbox to itself (dialplan/sandbox/pjsip_local.conf.in):
Warmline's INVITE comes back in and lands in [sandbox-producer], whose extension says how the
"producer" behaves and which reports, as a user event, the SIP headers and caller-id name it
received. Order is proven from the PBX's own AMI event log (panoramisk), not from our code.
"""

from __future__ import annotations

import asyncio

from panoramisk import Manager
from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.ari_app.talk import Talk
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.handoff.payload import load_payload
from warmline.handoff.routing import Producer
from warmline.speech.services import build_services

from .conftest import of, running_app, wait_until_empty

REGULATED = [("how_can_i_help", "Should I add full coverage to my car?")]  # → licensed, not verified


def producer(behaviour: str, name: str | None = None, **kw) -> Producer:
    return Producer(name=name or behaviour, endpoint=f"PJSIP/{behaviour}@producer-phones",
                    queues=("licensed", "service"), states=("MA",), **kw)


class AmiLog:
    """Every AMI event, in the order Asterisk sent them."""

    def __init__(self, state: dict) -> None:
        self.manager = Manager(host=state["ami_host"], port=state["ami_port"], username=state["ami_username"],
                               secret=state["ami_password"], ping_delay=86400, reconnect_timeout=86400)
        self.events: list[dict] = []

    async def __aenter__(self) -> "AmiLog":
        self.manager.register_event("*", lambda _m, msg: self.events.append(dict(msg)))
        await self.manager.connect()
        await asyncio.wait_for(self.manager.authenticated_future, 5)
        return self

    async def __aexit__(self, *exc) -> None:
        self.manager.close()

    def index(self, event: str, **match: str) -> int:
        for i, e in enumerate(self.events):
            if e.get("Event") == event and all(e.get(k) == v for k, v in match.items()):
                return i
        raise AssertionError(f"no AMI {event} {match}")

    def of(self, event: str, **match: str) -> list[dict]:
        return [e for e in self.events if e.get("Event") == event and all(e.get(k) == v for k, v in match.items())]

    async def wait_for(self, event: str, timeout: float = 20, **match: str) -> dict:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := self.of(event, **match)):
            assert asyncio.get_running_loop().time() < deadline, f"no AMI {event} {match} in {timeout} s"
            await asyncio.sleep(0.1)
        return found[0]


async def transfer_call(sandbox, ari, kit, voices, tmp_path, producers, *, script=REGULATED, during=None, **handoff):
    """One escalated call with these producers; `during(sim, call, journals, ami)` acts while it runs."""
    handoff = sandbox.settings.handoff.model_copy(update={"producers": tuple(producers), "ring_timeout_s": 6,
                                                          "accept_timeout_s": 3.0, **handoff})
    settings = sandbox.settings.model_copy(update={"handoff": handoff})
    services = build_services(settings.vad, settings.stt)
    journals, store = Journals(), EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    try:
        async with AmiLog(sandbox.state) as ami, running_app(settings, kit.sessions(services),
                                                              [journals, store.record]) as app, \
                CallerSimulator(ari) as sim:
            call = await sim.place()
            task = asyncio.create_task(converse(sim, journals, voices, call, script, turn_timeout_s=90))
            if during is not None:
                await during(sim, call, journals, ami, app)
            events = await task
            assert await wait_until_empty(ari, timeout=30) == ([], []), "legs or bridges left behind"
            await asyncio.sleep(0.3)  # the last AMI events
        call_id = events[0].call_id
        stored = load_payload(store, call_id)
    finally:
        store.close()
        services.close()
    return events, ami, stored


async def hang_up_when_bridged(sim, call, journals, ami, app, talk_s: float = 1.5):
    """The caller talks to the producer a moment (bridge checked on the PBX), then hangs up."""
    await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TransferBridged", 90)
    bridge_id = next(t.bridge_id for t in app.channels.owners(Talk))
    bridge = await sim.client.get(f"/bridges/{bridge_id}")
    hang_up_when_bridged.members = set(bridge["channels"])
    await asyncio.sleep(talk_s)
    await sim.hang_up(call)


async def test_the_producer_gets_the_context_before_the_ring_then_talks_to_the_caller(
        sandbox, ari, kit, voices, tmp_path):
    events, ami, stored = await transfer_call(sandbox, ari, kit, voices, tmp_path, [producer("accept")],
                                              during=hang_up_when_bridged)
    call_id = events[0].call_id
    caller = of(events, "CallStarted")[0].channel_id
    [dialled] = of(events, "ProducerDialled")
    assert [type(e).__name__ for e in events if type(e).__name__.startswith(("Producer", "Transfer", "Handoff"))] == [
        "HandoffPrepared", "TransferPlanned", "ProducerDialled", "ProducerRinging", "ProducerAnswered",
        "TransferBridged"]
    # the payload was stored, and it is the full record
    assert stored is not None and stored.payload_id == f"hp-{call_id}"
    assert stored.intent == "coverage_advice" and stored.reason == "regulated_intent"
    assert stored.stated_reason.lower().startswith("should i") and not stored.authenticated
    assert stored.consent_reference and stored.consent_reference.startswith("disclosure:greeting@")
    # caller and producer shared one bridge; Warmline's media and snoop were not in it
    assert hang_up_when_bridged.members == {caller, dialled.channel_id}
    assert ami.of("MusicOnHoldStart", Uniqueid=caller)  # the caller heard hold music while it rang
    # AMI, in Asterisk's order: variables, the user event, then the dial and the ring
    leg = ami.of("Newchannel", Uniqueid=dialled.channel_id)[0]["Channel"]
    var_at = ami.index("VarSet", Channel=leg, Variable="__WARMLINE_PAYLOAD_ID", Value=f"hp-{call_id}")
    pop_at = ami.index("UserEvent", UserEvent="WarmlineHandoff", ProducerChannel=dialled.channel_id)
    dial_at = ami.index("DialBegin", DestChannel=leg)
    ring_at = ami.index("Newstate", Channel=leg, ChannelStateDesc="Ringing")
    assert var_at < pop_at < dial_at < ring_at
    popped = ami.of("UserEvent", UserEvent="WarmlineHandoff", ProducerChannel=dialled.channel_id)[0]
    assert popped["PayloadId"] == f"hp-{call_id}" and popped["Intent"] == "coverage_advice"
    # the phone's own view of the INVITE: headers and caller-id name
    seen = ami.of("UserEvent", UserEvent="SandboxProducer", Behaviour="accept")[0]
    assert seen["CallId"] == call_id and seen["Intent"] == "coverage_advice"
    assert seen["Reason"] == "regulated_intent" and seen["Auth"] == "not_verified"
    assert seen["Payload"] == f"hp-{call_id}"
    caller_number = of(events, "CallStarted")[0].caller_number
    assert seen["CallerIdName"] == (stored.caller_name or caller_number)
    ended = of(events, "CallEnded")[0]
    assert (ended.reason, ended.queue) == ("handed_to", "licensed")


async def test_decline_busy_and_a_hang_up_mid_whisper_move_on_to_the_next_producer(
        sandbox, ari, kit, voices, tmp_path):
    producers = [producer("busy"), producer("decline"), producer("hangup"), producer("accept")]
    events, ami, _ = await transfer_call(sandbox, ari, kit, voices, tmp_path, producers, max_producers=4,
                                         during=hang_up_when_bridged)
    assert [(e.producer, e.why) for e in of(events, "ProducerLost")] == [
        ("busy", "busy"), ("decline", "declined"), ("hangup", "hung_up")]
    assert of(events, "TransferBridged")[0].producer == "accept"
    # each producer's phone got the context on its own INVITE
    seen = {e["Behaviour"]: e for e in ami.of("UserEvent", UserEvent="SandboxProducer")}
    assert set(seen) == {"busy", "decline", "hangup", "accept"}
    assert {e["CallId"] for e in seen.values()} == {events[0].call_id}


async def test_when_no_producer_takes_the_call_the_agency_queue_does_with_the_context(
        sandbox, ari, kit, voices, tmp_path):
    async def queue_agent_answers(sim, call, journals, ami, app):
        agent = await ami.wait_for("UserEvent", UserEvent="SandboxQueueAgent", timeout=90)
        queue_agent_answers.agent = agent

    events, ami, _ = await transfer_call(sandbox, ari, kit, voices, tmp_path, [producer("ringout")],
                                         during=queue_agent_answers)
    assert [(e.producer, e.why) for e in of(events, "ProducerLost")] == [("ringout", "no_answer")]
    agent = queue_agent_answers.agent
    assert agent["CallId"] == events[0].call_id and agent["Intent"] == "coverage_advice"
    assert agent["PayloadId"] == f"hp-{events[0].call_id}"


async def test_an_empty_queue_ends_in_a_call_back_request_with_the_context(sandbox, ari, kit, voices, tmp_path):
    async def leaves_a_message(sim, call, journals, ami, app):
        callback = await ami.wait_for("UserEvent", UserEvent="WarmlineCallback", timeout=90)
        leaves_a_message.callback = callback
        await asyncio.sleep(1)
        await sim.hang_up(call)

    frustrated = [("how_can_i_help", "What's my balance?"),
                  ("verify_policy", "This is ridiculous. I hate these stupid machines."),
                  ("didnt_catch", "This is terrible, awful and useless.")]
    events, ami, _ = await transfer_call(sandbox, ari, kit, voices, tmp_path, [], script=frustrated,
                                         during=leaves_a_message)
    callback = leaves_a_message.callback
    assert callback["CallId"] == events[0].call_id and callback["Queue"] == "complex"
    assert callback["Mailbox"] == "1000@default"


async def test_a_caller_who_hangs_up_on_hold_leaves_nothing_behind(sandbox, ari, kit, voices, tmp_path):
    async def hang_up_while_ringing(sim, call, journals, ami, app):
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "ProducerRinging", 90)
        await sim.hang_up(call)

    events, _, _ = await transfer_call(sandbox, ari, kit, voices, tmp_path, [producer("ringout")],
                                       ring_timeout_s=30, during=hang_up_while_ringing)
    assert [(e.producer, e.why) for e in of(events, "ProducerLost")] == [("ringout", "caller_gone")]
    assert not of(events, "TransferBridged")


async def test_auto_accept_bridges_after_the_whisper(sandbox, ari, kit, voices, tmp_path):
    events, _, _ = await transfer_call(sandbox, ari, kit, voices, tmp_path, [producer("silent")],
                                       accept="auto", during=hang_up_when_bridged)
    assert of(events, "TransferBridged")[0].producer == "silent"


async def test_a_broken_transfer_hands_the_caller_to_the_fallback_within_two_seconds(
        sandbox, ari, kit, voices, tmp_path):
    async def operator_reached(sim, call, journals, ami, app):
        await ami.wait_for("VarSet", Variable="SANDBOX_OPERATOR_REACHED", timeout=90)

    # its phone reports free (so it is rung), but the address cannot be dialled: the create fails
    broken = Producer(name="broken", endpoint="PJSIP/nobody@no-such-endpoint", device="PJSIP/producer-phones",
                      queues=("licensed",), states=("MA",))
    events, _, _ = await transfer_call(sandbox, ari, kit, voices, tmp_path, [broken], during=operator_reached)
    [planned] = of(events, "TransferPlanned")
    [failed] = of(events, "CallFailed")
    assert failed.stage == "handoff" and failed.at - planned.at < 2.0
    assert of(events, "CallEnded")[0].reason == "handed_to_fallback"
