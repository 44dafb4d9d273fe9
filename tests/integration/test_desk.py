"""The producer console's hands on the sandbox Asterisk (ari_app/desk.py): queue pauses for wrap-up,
a supervisor's own phone snooped or bridged into a live call, a take-over of an AI call, and the
queue's own agent or the call-back box reported on the call's stream.

The console itself is not here: a recording DeskHost stands in for it, as serve would pass it.
Asterisk's own word is the proof: `queue show`, its channels and bridges, its AMI events.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import pytest
from warmline.ari_app.app import StasisApp
from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.ari_app.supervise import Supervision
from warmline.ari_app.talk import Talk
from warmline.calls.session import CallSession
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.handoff.payload import load_payload
from warmline.handoff.routing import Producer
from warmline.pbx import DeskActions, SuperviseMode
from warmline.speech.services import build_services

from .conftest import of, sandbox_cmd, wait_until_empty
from .test_transfer import REGULATED, AmiLog, producer

DESK_AGENT = "Local/desk@sandbox-queue-agent/n"  # in warmline-desk-a and warmline-desk-b (queues.conf)
QUEUES = ("warmline-desk-a", "warmline-desk-b")
QUEUE_AGENT = "Local/s@sandbox-queue-agent/n"  # the member of warmline-licensed
SUPERVISOR_PHONE = "PJSIP/silent@producer-phones"  # answers at once and stays on


class RecordingDesk:
    """The console's side of the desk, as serve hands it to the plugin: what it was given, and when."""

    def __init__(self, wrap_up: frozenset[str] = frozenset()) -> None:
        self.attached: list[DeskActions | None] = []
        self.ready = asyncio.Event()
        self.wrap_up = wrap_up

    def attach(self, actions: DeskActions | None) -> None:
        self.attached.append(actions)
        if actions is not None:
            self.ready.set()

    def in_wrap_up(self) -> frozenset[str]:
        return self.wrap_up

    @property
    def actions(self) -> DeskActions:
        assert self.attached and self.attached[-1] is not None, "the plugin attached no desk actions"
        return self.attached[-1]


async def cli(sandbox, command: str) -> str:
    done = await asyncio.to_thread(sandbox_cmd, "cli", "--name", sandbox.name, command, timeout=30)
    return done.stdout


async def member_state(sandbox, queue: str, interface: str) -> str:
    """The member's line of `queue show`: "(paused:wrap-up was 0 secs ago)" or "(Not in use)"..."""
    shown = await cli(sandbox, f"queue show {queue}")
    return next((line for line in shown.splitlines() if interface in line), "")


def paused(line: str) -> bool:
    return bool(re.search(r"\(paused", line))


@contextlib.asynccontextmanager
async def running_with_desk(settings, session_factory, listeners, desk) -> AsyncIterator[StasisApp]:
    """The Stasis app as serve runs it with a console: the desk handed in, attached once connected."""
    app = StasisApp(settings, session_factory, listeners, desk)
    stop = asyncio.Event()
    task = asyncio.create_task(app.run(stop), name="test-desk-app")
    try:
        await asyncio.wait_for(desk.ready.wait(), 15)
        if app.ami is not None:
            await asyncio.wait_for(app.ami.logged_in.wait(), 10)
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def desk_call(sandbox, ari, kit, voices, tmp_path, producers, *, script=REGULATED, during=None,
                    desk: RecordingDesk | None = None, **handoff):
    """One call with this console attached; `during(sim, call, journals, ami, app, desk)` acts while it runs.
    Returns every event of the call, including those recorded after it left Warmline."""
    handoff = sandbox.settings.handoff.model_copy(update={"producers": tuple(producers), "ring_timeout_s": 6,
                                                          "accept_timeout_s": 3.0, **handoff})
    settings = sandbox.settings.model_copy(update={"handoff": handoff})
    services = build_services(settings.vad, settings.stt)
    journals, store = Journals(), EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    desk = desk or RecordingDesk()
    try:
        async with AmiLog(sandbox.state) as ami, \
                running_with_desk(settings, kit.sessions(services), [journals, store.record], desk) as app, \
                CallerSimulator(ari) as sim:
            call = await sim.place()
            task = asyncio.create_task(converse(sim, journals, voices, call, script, turn_timeout_s=90))
            if during is not None:
                await during(sim, call, journals, ami, app, desk)
            await task
            assert await wait_until_empty(ari, timeout=30) == ([], []), "legs or bridges left behind"
            await asyncio.sleep(0.5)  # the last AMI events, and what the desk records from them
        events = list(journals.of(call.caller_channel_id).events)
        stored = load_payload(store, events[0].call_id)
        stored_events = store.events(events[0].call_id)
    finally:
        store.close()
        services.close()
    return events, ami, stored, stored_events


# --- wrap-up: paused in every queue, then back --------------------------------------------------------


async def test_the_desk_is_attached_while_connected_and_pauses_a_producer_in_all_their_queues(sandbox):
    desk_agent = Producer(name="Dee Agent", endpoint="PJSIP/accept@producer-phones", queues=("licensed",),
                          queue_member=DESK_AGENT)
    lonely = Producer(name="Lonely", endpoint="PJSIP/nobody@producer-phones", queues=("licensed",))
    handoff = sandbox.settings.handoff.model_copy(update={"producers": (desk_agent, lonely)})
    settings = sandbox.settings.model_copy(update={"handoff": handoff})
    desk = RecordingDesk()
    async with running_with_desk(settings, CallSession, (), desk):
        for queue in QUEUES:
            assert not paused(await member_state(sandbox, queue, DESK_AGENT))
        try:
            await desk.actions.pause_producer("Dee Agent", True, "wrap-up")
            for queue in QUEUES:
                line = await member_state(sandbox, queue, DESK_AGENT)
                assert paused(line) and "wrap-up" in line, line
        finally:
            await desk.actions.pause_producer("Dee Agent", False, "")
        for queue in QUEUES:
            assert not paused(await member_state(sandbox, queue, DESK_AGENT))
        await desk.actions.pause_producer("Lonely", True, "wrap-up")  # in no queue: nothing to do, no error
    assert desk.attached[0] is not None and desk.attached[-1] is None  # detached once ARI is gone


async def test_routing_skips_a_producer_the_console_holds_in_wrap_up(sandbox, ari, kit, voices, tmp_path):
    async def hang_up_when_bridged(sim, call, journals, ami, app, desk):
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TransferBridged", 90)
        await sim.hang_up(call)

    desk = RecordingDesk(wrap_up=frozenset({"tagging"}))
    events, _, _, _ = await desk_call(sandbox, ari, kit, voices, tmp_path,
                                      [producer("accept", "tagging"), producer("accept", "free")],
                                      desk=desk, during=hang_up_when_bridged)
    [planned] = of(events, "TransferPlanned")
    assert planned.ring == ("free",) and ("tagging", "wrap_up") in planned.skipped
    assert of(events, "TransferBridged")[0].producer == "free"


# --- supervisors ---------------------------------------------------------------------------------------


async def test_a_supervisor_listens_whispers_and_barges_into_a_live_bridged_call(
        sandbox, ari, kit, voices, tmp_path):
    seen: dict[str, dict] = {}

    async def supervise_each_way(sim, call, journals, ami, app, desk):
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TransferBridged", 90)
        talk = next(t for t in app.channels.owners(Talk))
        call_id = talk.bridge_id.removeprefix("wl-").removesuffix("-talk")
        producer_leg = next(c for c in talk.members if c.startswith(f"wl-{call_id}-p"))
        for mode in (SuperviseMode.LISTEN, SuperviseMode.WHISPER, SuperviseMode.BARGE):
            await desk.actions.supervise(call_id, SUPERVISOR_PHONE, mode, supervisor="pat")
            [sup] = app.channels.owners(Supervision)
            leg = await sim.client.get(f"/channels/{sup.leg_id}")
            before = await _sent_packets(sim.client, sup.leg_id)
            await asyncio.sleep(1.0)
            after = await _sent_packets(sim.client, sup.leg_id)
            record = {"leg": leg, "sent": (before, after)}
            if mode == SuperviseMode.BARGE:
                record["talk"] = set((await sim.client.get(f"/bridges/{talk.bridge_id}"))["channels"])
            else:
                record["snoop"] = await sim.client.get(f"/channels/{sup.snoop_id}")
                record["bridge"] = set((await sim.client.get(f"/bridges/{sup.bridge_id}"))["channels"])
                record["producer"] = await sim.client.get(f"/channels/{producer_leg}")
            record["ids"] = (sup.leg_id, sup.snoop_id, sup.bridge_id, producer_leg, talk.members)
            seen[mode.value] = record
            await sim.client.delete(f"/channels/{sup.leg_id}")  # the supervisor hangs up: their parts go
            for _ in range(50):
                if not app.channels.owners(Supervision):
                    break
                await asyncio.sleep(0.1)
            assert not app.channels.owners(Supervision)
            assert await sim.client.get(f"/channels/{sup.snoop_id}", missing_ok=True) is None
            assert await sim.client.get(f"/bridges/{sup.bridge_id}", missing_ok=True) is None
            talking = set((await sim.client.get(f"/bridges/{talk.bridge_id}"))["channels"])
            assert talking == set(talk.members)  # the call itself goes on
        await sim.hang_up(call)

    await sim_talk_long(sandbox)
    try:
        events, ami, _, stored = await desk_call(sandbox, ari, kit, voices, tmp_path, [producer("accept")],
                                                 during=supervise_each_way)
    finally:
        await sim_talk_long(sandbox, seconds="4")
    for mode in ("listen", "whisper"):
        got = seen[mode]
        leg_id, snoop_id, bridge_id, producer_leg, _ = got["ids"]
        assert got["leg"]["state"] == "Up"
        # the snoop is on the producer's channel, and bridged with the supervisor's leg only
        assert got["snoop"]["name"].startswith(f"Snoop/{producer_leg}-")  # Asterisk names it by its spyee's id
        assert got["producer"]["name"].startswith("PJSIP/")  # ... the producer's own SIP leg
        assert got["bridge"] == {leg_id, snoop_id}
        before, after = got["sent"]
        assert after > before, f"{mode}: no audio reached the supervisor's phone ({before} → {after} packets)"
    barge = seen["barge"]
    leg_id, _, _, producer_leg, members = barge["ids"]
    assert barge["talk"] == {*members, leg_id}  # all three in the call's own bridge
    assert barge["sent"][1] > barge["sent"][0]
    # the phone Warmline rang was the supervisor's: the sandbox phone saw three calls for this call
    assert len(ami.of("UserEvent", UserEvent="SandboxProducer", Behaviour="silent")) == 3
    joined = [(e.supervisor, e.mode) for e in events if type(e).__name__ == "SupervisorJoined"]
    assert joined == [("pat", "listen"), ("pat", "whisper"), ("pat", "barge")]
    assert [type(e).__name__ for e in stored].count("SupervisorJoined") == 3  # on the stored stream too
    # the caller hung up: the talk's end (the producer's wrap-up starts now) comes after Warmline's own end
    [talk], [bridged], [ended] = of(events, "TalkEnded"), of(events, "TransferBridged"), of(events, "CallEnded")
    assert (talk.producer, talk.ended_by) == (bridged.producer, "caller") and talk.at > ended.at
    assert talk.talk_seconds >= 3  # three supervisions of a second each, at least


async def _sent_packets(client, channel_id: str) -> int:
    stats = await client.get(f"/channels/{channel_id}/rtp_statistics", missing_ok=True)
    return int((stats or {}).get("txcount", 0))


async def sim_talk_long(sandbox, seconds: str = "30") -> None:
    """The sandbox's accepting producer stays on the line this long (global SANDBOX_TALK_S)."""
    await cli(sandbox, f"dialplan set global SANDBOX_TALK_S {seconds}")


async def test_a_supervisor_takes_over_a_call_still_with_the_ai(sandbox, ari, kit, voices, tmp_path):
    async def take_it_over(sim, call, journals, ami, app, desk):
        asked = lambda e: type(e).__name__ == "PromptStarted" and e.prompt.split()[0] == "verify_policy"  # noqa: E731
        await journals.wait(call.caller_channel_id, asked, 90)
        call_id = journals.of(call.caller_channel_id).events[0].call_id
        await desk.actions.take_over(call_id, "pat", SUPERVISOR_PHONE)
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TransferBridged", 60)
        with pytest.raises(Exception, match="not with the AI"):
            await desk.actions.take_over(call_id, "pat", SUPERVISOR_PHONE)  # once only
        await asyncio.sleep(1)
        await sim.hang_up(call)

    script = [("how_can_i_help", "What's my balance?")]  # routine: the AI would go on to verify them
    events, ami, stored, _ = await desk_call(sandbox, ari, kit, voices, tmp_path, [producer("accept")],
                                             script=script, during=take_it_over)
    [escalated] = of(events, "EscalationDecided")
    assert escalated.reason == "supervisor_takeover" and escalated.final
    assert [e.supervisor for e in of(events, "CallTakenOver")] == ["pat"]
    assert stored is not None and stored.reason == "supervisor_takeover"  # the payload, like any escalation
    [planned] = of(events, "TransferPlanned")
    assert planned.ring == ("pat",)  # the supervisor, not the routing's producers
    assert [e.endpoint for e in of(events, "ProducerDialled")] == [SUPERVISOR_PHONE]
    assert of(events, "TransferBridged")[0].producer == "pat"
    rang = ami.of("UserEvent", UserEvent="SandboxProducer", Behaviour="silent")
    assert len(rang) == 1 and rang[0]["Reason"] == "supervisor_takeover"
    assert rang[0]["Payload"] == f"hp-{events[0].call_id}"
    assert not ami.of("UserEvent", UserEvent="SandboxProducer", Behaviour="accept")  # no producer was rung


# --- calls in the dialplan's queue ----------------------------------------------------------------------


async def test_a_queue_agent_answering_is_the_mapped_producer_on_the_calls_stream(sandbox, ari, kit, voices, tmp_path):
    async def agent_answers(sim, call, journals, ami, app, desk):
        await ami.wait_for("UserEvent", UserEvent="SandboxQueueAgent", timeout=90)
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "QueueAgentAnswered", 10)
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TalkEnded", 20)  # agent hangs up

    queue_agent = Producer(name="Quinn Agent", endpoint="PJSIP/accept@producer-phones", queues=("licensed",),
                           queue_member=QUEUE_AGENT)
    events, ami, _, stored = await desk_call(sandbox, ari, kit, voices, tmp_path, [queue_agent], mode="dialplan",
                                             during=agent_answers)
    [answered] = of(events, "QueueAgentAnswered")
    assert (answered.producer, answered.queue, answered.member) == ("Quinn Agent", "warmline-licensed", QUEUE_AGENT)
    assert answered.call_id == events[0].call_id
    assert ami.of("AgentConnect", Queue="warmline-licensed")  # Asterisk's own word
    assert [type(e).__name__ for e in stored].count("QueueAgentAnswered") == 1
    # AMI's AgentComplete ends the agent's talk: their wrap-up starts then, not when Warmline let go
    [talk] = of(events, "TalkEnded")
    [complete] = ami.of("AgentComplete", Queue="warmline-licensed")  # Asterisk's word on who hung up, how long
    assert (talk.producer, talk.ended_by, talk.talk_seconds) == (
        "Quinn Agent", {"agent": "producer", "caller": "caller"}[complete["Reason"]], float(complete["TalkTime"]))
    assert talk.at > answered.at
    assert [type(e).__name__ for e in stored].count("TalkEnded") == 1


async def test_a_call_ending_in_the_call_back_box_is_a_call_back_request(sandbox, ari, kit, voices, tmp_path):
    async def leaves_a_message(sim, call, journals, ami, app, desk):
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "CallbackRequested", 90)
        await asyncio.sleep(1)
        await sim.hang_up(call)

    frustrated = [("how_can_i_help", "What's my balance?"),
                  ("verify_policy", "This is ridiculous. I hate these stupid machines."),
                  ("didnt_catch", "This is terrible, awful and useless.")]
    events, _, _, stored = await desk_call(sandbox, ari, kit, voices, tmp_path, [], script=frustrated,
                                           during=leaves_a_message)
    [callback] = of(events, "CallbackRequested")
    started = of(events, "CallStarted")[0]
    assert callback.queue == "complex" and callback.number == started.caller_number
    assert [type(e).__name__ for e in stored].count("CallbackRequested") == 1
