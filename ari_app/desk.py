"""The desk's hands on Asterisk: what the producer console asks of the PBX (`DeskActions`), and
what AMI reports of calls in the agency's queues, recorded on the calls' streams.

Pausing is AMI's QueuePause on the producer's queue-member interface, in every queue Asterisk has
them in (no Queue header: Asterisk finds the queues). Supervision and take-over go through ARI:
the supervisor's own phone is rung in Warmline's Stasis app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from panoramisk.message import Message
from pydantic import ValidationError
from warmline.ari_app.ami import AmiError, AmiLink, one_line
from warmline.ari_app.context import AppContext
from warmline.ari_app.queues import (APP_VARIABLE, CALL_ID_VARIABLE, agent_answered, agent_completed, callback_requested,
                                     owned_by, queue_member, survey_answered)
from warmline.ari_app.supervise import Supervision, SupervisionError
from warmline.calls.events import CallEvent, CallJournal, Listener
from warmline.errors import PbxError
from warmline.handoff.events import SupervisorJoined
from warmline.handoff.routing import Producer
from warmline.pbx import SuperviseMode

log = logging.getLogger(__name__)

MAP_WAIT_S = 5.0  # an AgentComplete waits this long for its AgentConnect to be mapped
MAX_TALKING = 10_000  # queue calls remembered between AgentConnect and AgentComplete
NOT_A_MEMBER = "interface not found"  # QueuePause's answer when the member is in no queue


class DeskError(PbxError):
    """The console asked for something this PBX cannot do right now."""


def record(listeners: Sequence[Listener], event: CallEvent) -> None:
    """One event on a call's stream from outside the call's own handler (it may have left Stasis)."""
    CallJournal(event.call_id, list(listeners)).emit(event)


def pause_action(interface: str, paused: bool, reason: str) -> dict[str, str]:
    return {"Action": "QueuePause", "Interface": interface, "Paused": "true" if paused else "false",
            "Reason": one_line(reason)}


class AsteriskDesk:
    """`DeskActions` over one Asterisk, while the Stasis app is connected."""

    def __init__(self, ctx: AppContext, ami: AmiLink | None, take_over: Callable[[str, Producer], None]) -> None:
        self.ctx = ctx
        self.ami = ami
        self._take_over = take_over  # the Stasis app hands the call's handler the supervisor

    def producer(self, name: str) -> Producer:
        found = next((p for p in self.ctx.settings.handoff.producers if p.name == name), None)
        if found is None:
            raise DeskError(f"no producer {name!r} in [handoff] producers: the console's --producer must be "
                            "one of their names")
        return found

    async def pause_producer(self, producer: str, paused: bool, reason: str) -> None:
        interface = queue_member(self.producer(producer))
        if self.ami is None:
            raise DeskError("AMI is off ([ami] enabled = false): producers cannot be paused in Asterisk's "
                            "queues; turn it on")
        reply = await self.ami.send(pause_action(interface, paused, reason))
        if reply.success:
            log.info("producer %s in the queues", "paused" if paused else "unpaused",
                     extra={"producer": producer})
        elif NOT_A_MEMBER in str(reply.get("Message", "")).lower():
            log.info("producer is in no Asterisk queue: nothing to pause", extra={"producer": producer})
        else:
            raise DeskError(f"Asterisk refused QueuePause for {interface}: {one_line(str(reply.get('Message')))}")

    async def supervise(self, call_id: str, supervisor_endpoint: str, mode: SuperviseMode,
                        supervisor: str = "") -> None:
        """`supervisor` names them on the call's stream (the console account); else their endpoint."""
        supervision = Supervision(self.ctx, call_id, _dial_string(supervisor_endpoint), SuperviseMode(mode))
        await supervision.start()
        record(self.ctx.listeners, SupervisorJoined(call_id=call_id, supervisor=supervisor or supervisor_endpoint,
                                                    mode=supervision.mode))

    async def take_over(self, call_id: str, supervisor: str, supervisor_endpoint: str) -> None:
        """The call leaves the AI now; its handler escalates it and rings the supervisor."""
        try:
            target = Producer(name=supervisor, endpoint=supervisor_endpoint, queues=("supervisor",))
        except ValidationError as exc:
            raise DeskError(f"take-over: {exc.errors()[0]['msg']}") from None
        self._take_over(call_id, target)


def _dial_string(endpoint: str) -> str:
    try:
        return Producer(name="supervisor", endpoint=endpoint, queues=("supervisor",)).endpoint
    except ValidationError as exc:
        raise SupervisionError(f"supervisor endpoint: {exc.errors()[0]['msg']}") from None


class QueueWatch:
    """AMI events about Warmline's calls in the dialplan's queues, as events on their streams."""

    EVENTS = ("AgentConnect", "AgentComplete", "UserEvent")

    def __init__(self, producers: Sequence[Producer], listeners: Sequence[Listener],
                 spawn: Callable[..., None], app: str = "") -> None:
        self.producers = producers
        self.app = app  # this Warmline's Stasis app: another box's calls are its own to record
        self._talking: dict[str, tuple[str, bool]] = {}  # caller's channel -> (call id, ours), answered till ended
        self._connecting: dict[str, asyncio.Event] = {}  # answers whose Getvars are in flight
        self.listeners = listeners
        self.spawn = spawn
        self.ami: AmiLink | None = None  # set once the link exists: AgentConnect needs a Getvar

    def handlers(self) -> dict[str, Callable[[Message], None]]:
        return {"AgentConnect": self.on_agent_connect, "AgentComplete": self.on_agent_complete,
                "UserEvent": self.on_user_event}

    def on_user_event(self, message: Message) -> None:
        for event in (callback_requested(message, self.app), survey_answered(message, self.app)):
            if event is not None:
                record(self.listeners, event)

    def on_agent_connect(self, message: Message) -> None:
        self.spawn(self._queue_call(dict(message), agent_answered), f"queue-agent-{message.get('Uniqueid', '')}")

    def on_agent_complete(self, message: Message) -> None:
        self.spawn(self._queue_call(dict(message), agent_completed), f"queue-agent-end-{message.get('Uniqueid', '')}")

    async def _queue_call(self, message: dict[str, str], to_event: Callable[..., CallEvent]) -> None:
        channels = (message.get("Channel", ""), message.get("DestChannel", ""))
        key = channels[0]  # the caller's channel: one agent at a time talks to it
        if to_event is agent_answered:
            mapped = self._connecting.setdefault(key, asyncio.Event())
            try:
                call_id, ours = await self._whose(channels)
                if call_id and ours:
                    self._talking[key] = (call_id, ours)
                    while len(self._talking) > MAX_TALKING:  # an AgentComplete AMI never sent: forget the oldest
                        self._talking.pop(next(iter(self._talking)))
            finally:
                mapped.set()
                self._connecting.pop(key, None)
        else:
            if (mapped := self._connecting.get(key)) is not None:  # its answer is still being mapped
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(mapped.wait(), MAP_WAIT_S)
            # the caller's channel may be gone by now: the answer's mapping, else its variables
            call_id, ours = self._talking.pop(key) if key in self._talking else await self._whose(channels)
        if call_id and ours:  # a call that never was this Warmline's is none of its business
            record(self.listeners, to_event(message, call_id, self.producers))

    async def _whose(self, channels: tuple[str, str]) -> tuple[str, bool]:
        """(the Warmline call id, whether this box owns it) from the channels' variables."""
        for channel in channels:
            if call_id := await self._getvar(channel, CALL_ID_VARIABLE):
                return call_id, owned_by(await self._getvar(channel, APP_VARIABLE), self.app)
        return "", False

    async def _getvar(self, channel: str, variable: str) -> str:
        if not channel or self.ami is None:
            return ""
        try:
            reply = await self.ami.send({"Action": "Getvar", "Channel": channel, "Variable": variable})
        except AmiError as exc:
            log.warning("queue call not mapped to its Warmline call: %s", exc)
            return ""
        return str(reply.get("Value", "") or "").strip() if reply.success else ""


async def run_ami(link: AmiLink, stop: asyncio.Event) -> None:
    try:
        await link.run(stop)
    except Exception as exc:  # the calls go on without AMI: only the desk's extras are lost
        log.error("AMI link stopped: %s", exc)
