"""The attended transfer over ARI: hold music, producers rung in turn, whisper, one bridge.

The caller waits in a holding bridge with music on hold. Each producer's channel is created in
Warmline's Stasis app with the context already on it — inherited `__WARMLINE_*` variables,
caller-id name (and connected line, which is what a SIP phone shows), `X-Warmline-*` headers
for the INVITE — and only then dialled, after the WarmlineHandoff user event and the console
push. A producer who answers hears a whisper and presses 1 (or is accepted automatically);
then caller and producer share a mixing bridge that Asterisk mixes natively, and Warmline's
media is long gone. Busy, no answer, a decline or a hang-up moves to the next producer; when
none is left the caller continues into the dialplan's queue, the variables travelling with them.

Every leg created here is hung up when the transfer does not use it, whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from warmline.ari_app.client import AriError, ari_object
from warmline.ari_app.context import AppContext
from warmline.ari_app.presence import availability, state_device
from warmline.ari_app.talk import Talk
from warmline.ari_app.voice import AriVoice
from warmline.calls.events import CallJournal
from warmline.handoff.events import (
    ProducerAnswered,
    ProducerDialled,
    ProducerLost,
    ProducerRinging,
    TransferBridged,
    TransferPlanned,
)
from warmline.handoff.payload import HandoffPayload
from warmline.handoff.routing import Availability, Producer, RoutePlan, plan, with_wrap_up
from warmline.speech.prompts import Prompt
from warmline.tasks import first_done

log = logging.getLogger(__name__)

PRODUCER_ROLE = "producer"  # appArgs of producer legs: what the channel is for, to anyone reading it
ANSWER_GRACE_S = 5.0  # beyond the ring timeout, for Asterisk to report how the dial ended
IN_APP_TIMEOUT_S = 2.0  # from create to the leg's StasisStart
DIAL_STATUS = {"BUSY": "busy", "NOANSWER": "no_answer", "CONGESTION": "unavailable", "CHANUNAVAIL": "unavailable"}
HANGUP_CAUSES = {17: "busy", 21: "rejected", 18: "no_answer", 19: "no_answer", 20: "unavailable", 3: "unreachable"}
ACCEPT, DECLINE = "1", "2"


@dataclass(frozen=True, slots=True)
class CallView:
    """What a transfer may see of its call."""

    call_id: str
    caller: str  # the caller's channel id
    journal: CallJournal
    caller_gone: asyncio.Event
    sound_dir: str
    hold_bridge_id: str
    talk_bridge_id: str


class ProducerLeg:
    """One producer's channel as the Stasis app reports it."""

    bridge_ids: tuple[str, ...] = ()

    def __init__(self, channel_id: str, producer: Producer) -> None:
        self.channel_id = channel_id
        self.producer = producer
        self.in_app = asyncio.Event()  # StasisStart seen: only now may it be dialled
        self.ringing = asyncio.Event()
        self.answered = asyncio.Event()
        self.gone = asyncio.Event()
        self.cause = 0
        self.dial_status = ""  # Asterisk's DIALSTATUS for this leg: BUSY, NOANSWER, ANSWER...
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.voice: AriVoice | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "StasisStart":
            self.in_app.set()
        elif kind == "ChannelStateChange":
            state = (event.get("channel") or {}).get("state")
            if state in ("Ringing", "Ring"):
                self.ringing.set()
            elif state == "Up":
                self.answered.set()
        elif kind == "ChannelHangupRequest" and event.get("cause"):
            self.cause = int(event["cause"])  # comes before StasisEnd: why the dial failed
        elif kind == "Dial" and event.get("dialstatus"):
            self.dial_status = event["dialstatus"]
        elif kind == "ChannelDtmfReceived":
            self.keys.put_nowait(event.get("digit", ""))
        elif kind == "PlaybackFinished" and self.voice is not None:
            self.voice.on_playback_finished(event.get("playback") or {})
        elif kind in ("ChannelDestroyed", "StasisEnd"):
            self.cause = self.cause or int(event.get("cause", 0) or 0)
            if self.voice is not None:
                self.voice.on_caller_gone()
            self.gone.set()


class AttendedTransfer:
    def __init__(self, ctx: AppContext, call: CallView, payload: HandoffPayload, variables: dict[str, str],
                 only: Producer | None = None) -> None:
        """`only`: ring this one person, not the routing's producers (a supervisor taking the call over,
        who asked for it: accepted without a key)."""
        self.ctx = ctx
        self.call = call
        self.client = ctx.client
        self.only = only
        self.settings = ctx.settings.handoff if only is None else ctx.settings.handoff.model_copy(
            update={"accept": "auto"})
        self.payload = payload
        self.variables = variables
        self.call_id = call.call_id
        self.caller = call.caller
        self.hold_id = call.hold_bridge_id
        self.talk_id = call.talk_bridge_id
        self.held = False

    async def run(self) -> bool:
        """True when the caller is bridged to a producer (or has hung up); False: go on to the queue."""
        route = await self._plan()
        if not route.ring:
            return False
        await self._hold()
        try:
            for attempt, producer in enumerate(route.ring, start=1):
                if self.call.caller_gone.is_set():
                    return True
                if await self._try(attempt, producer):
                    return True
            return self.call.caller_gone.is_set()
        finally:
            await self._unhold()

    # --- who to ring -------------------------------------------------------------------------

    async def _plan(self) -> RoutePlan:
        skills = self.payload.skills
        if self.only is not None:
            route = RoutePlan((self.only,), ())
        else:
            producers = self.settings.producers
            states = await asyncio.gather(*(self._availability(p) for p in producers))
            pbx = dict(zip((p.name for p in producers), states))
            route = plan(producers, queue=skills.queue, line=skills.line, state=skills.state,
                         licensed_queues=self.settings.licensed_queues,
                         availability=with_wrap_up(pbx, self.ctx.in_wrap_up()),  # the console's wrap-up
                         limit=self.settings.max_producers)
        self.call.journal.emit(TransferPlanned(
            call_id=self.call_id, queue=skills.queue, ring=tuple(p.name for p in route.ring), skipped=route.skipped))
        return route

    async def _availability(self, producer: Producer) -> Availability:
        state, dnd = "UNKNOWN", False
        device = state_device(producer)
        try:
            if device:
                path = f"/deviceStates/{quote(device, safe='')}"
                state = ari_object(await self.client.get(path), path, {"state": str}).get("state", "UNKNOWN")
            if producer.dnd:  # AstDB, read through the caller's channel: ARI has no AstDB resource
                path = f"/channels/{self.caller}/variable"
                got = await self.client.get(path, params={"variable": f"DB({producer.dnd})"})
                dnd = bool(ari_object(got or {}, path, {"value": str}).get("value"))
        except AriError as exc:
            log.warning("availability of %s unknown: %s", producer.name, exc)
        return availability(state, dnd)

    # --- the caller on hold ------------------------------------------------------------------

    async def _hold(self) -> None:
        app = self.ctx.app_name
        await self.client.post("/bridges", params={"type": "holding", "bridgeId": self.hold_id,
                                                   "name": f"{app}:{self.call_id}:hold"})
        self.held = True
        await self.client.post(f"/bridges/{self.hold_id}/addChannel",
                               params={"channel": self.caller, "role": "participant"})
        await self.client.post(f"/channels/{self.caller}/moh", missing_ok=True)

    async def _unhold(self) -> None:
        if not self.held:
            return
        self.held = False
        await self.client.delete(f"/channels/{self.caller}/moh", missing_ok=True)
        await self.client.delete(f"/bridges/{self.hold_id}", missing_ok=True)

    # --- one producer ------------------------------------------------------------------------

    async def _try(self, attempt: int, producer: Producer) -> bool:
        leg = ProducerLeg(f"wl-{self.call_id}-p{attempt}", producer)
        self.ctx.channels.claim(leg.channel_id, leg)  # before create: its StasisStart can beat the reply
        bridged = False
        try:
            await self._ring(attempt, leg)
            why = await self._answer(leg)
            if why is None:
                why = await self._whisper(leg)
            if why is None:
                await self._bridge(leg)
                bridged = True
                return True
            self.call.journal.emit(ProducerLost(call_id=self.call_id, producer=producer.name, why=why))
            log.info("producer did not take the call", extra={"producer": producer.name, "why": why})
            return why == "caller_gone"
        finally:
            if not bridged:
                self.ctx.channels.release(leg, leg.channel_id)
                await self.client.delete(f"/channels/{leg.channel_id}", missing_ok=True)

    async def _ring(self, attempt: int, leg: ProducerLeg) -> None:
        """Create the leg with every piece of context on it, announce it, then dial."""
        await self.client.post("/channels/create", body={"variables": self._leg_variables(leg.producer)}, params={
            "endpoint": leg.producer.endpoint, "app": self.ctx.app_name,
            "appArgs": f"{PRODUCER_ROLE},{self.call_id}", "channelId": leg.channel_id,
            "originator": self.caller,
        })
        self.call.journal.emit(ProducerDialled(call_id=self.call_id, producer=leg.producer.name,
                                                  endpoint=leg.producer.endpoint, attempt=attempt,
                                                  channel_id=leg.channel_id))
        await self._announce(leg)
        await asyncio.wait_for(leg.in_app.wait(), IN_APP_TIMEOUT_S)  # the create reply can beat StasisStart
        await self.client.post(f"/channels/{leg.channel_id}/dial", params={"timeout": self.settings.ring_timeout_s})

    def _leg_variables(self, producer: Producer) -> dict[str, str]:
        p = self.payload
        values = {f"__{k}": v for k, v in self.variables.items()}
        name = p.caller_name or p.caller_number
        values |= {"CALLERID(name)": name, "CALLERID(num)": p.caller_number,
                   "CONNECTEDLINE(name)": name, "CONNECTEDLINE(num)": p.caller_number}
        if producer.endpoint.upper().startswith("PJSIP/"):
            values |= {f"PJSIP_HEADER(add,{h})": v for h, v in sip_headers(self.variables).items()}
        return values

    async def _announce(self, leg: ProducerLeg) -> None:
        """The screen pop: one user event (ARI and AMI both see it) and the console push."""
        fields = {"ProducerChannel": leg.channel_id, "Producer": leg.producer.name} | {
            _camel(k): v for k, v in self.variables.items()}
        await self.client.post("/events/user/WarmlineHandoff", body={"variables": fields}, params={
            "application": self.ctx.app_name,
            "source": f"channel:{self.caller},channel:{leg.channel_id}"})
        if self.ctx.console is not None:
            await self.ctx.console.push(self.payload, leg.producer.name)

    async def _answer(self, leg: ProducerLeg) -> str | None:
        """None once answered; otherwise why not (busy, no answer, the caller left...)."""
        ringing = asyncio.create_task(self._report_ringing(leg), name=f"ringing-{leg.channel_id}")
        try:
            outcome = await self._first(leg.answered, leg.gone,
                                        timeout=self.settings.ring_timeout_s + ANSWER_GRACE_S)
        finally:
            ringing.cancel()
        if outcome is leg.answered and not leg.gone.is_set():
            self.call.journal.emit(ProducerAnswered(call_id=self.call_id, producer=leg.producer.name))
            return None
        if self.call.caller_gone.is_set():
            return "caller_gone"
        return DIAL_STATUS.get(leg.dial_status) or HANGUP_CAUSES.get(leg.cause, "no_answer")

    async def _report_ringing(self, leg: ProducerLeg) -> None:
        await leg.ringing.wait()
        self.call.journal.emit(ProducerRinging(call_id=self.call_id, producer=leg.producer.name))

    async def _whisper(self, leg: ProducerLeg) -> str | None:
        """None once the producer accepts; otherwise declined / hung_up / no_decision / caller_gone."""
        leg.voice = AriVoice(self.client, leg.channel_id, self.call.sound_dir)
        dtmf = self.settings.accept == "dtmf"
        speaking = asyncio.create_task(leg.voice.play(whisper(self.payload, ask=dtmf)), name=f"whisper-{leg.channel_id}")
        key = asyncio.create_task(_accept_key(leg), name=f"accept-key-{leg.channel_id}")
        try:
            if not dtmf:
                await self._first(speaking, leg.gone)
                return self._lost(leg) or None
            done = await self._first(key, speaking, leg.gone)
            if done is speaking and not key.done():
                await self._first(key, leg.gone, timeout=self.settings.accept_timeout_s)
            if lost := self._lost(leg):
                return lost
            if not key.done():
                return "no_decision"
            return None if key.result() == ACCEPT else "declined"
        finally:
            if not speaking.done():
                await leg.voice.stop()  # a key cut the whisper short, or someone left
            for task in (speaking, key):
                task.cancel()
            await asyncio.gather(speaking, key, return_exceptions=True)

    def _lost(self, leg: ProducerLeg) -> str | None:
        if self.call.caller_gone.is_set():
            return "caller_gone"
        return "hung_up" if leg.gone.is_set() else None

    async def _bridge(self, leg: ProducerLeg) -> None:
        app = self.ctx.app_name
        await self.client.post("/bridges", params={"type": "mixing", "bridgeId": self.talk_id,
                                                   "name": f"{app}:{self.call_id}:talk"})
        Talk(self.ctx, self.talk_id, (self.caller, leg.channel_id),  # either leaving ends it
             call_id=self.call_id, producer=leg.producer.name)
        await self._unhold()
        await self.client.post(f"/bridges/{self.talk_id}/addChannel",
                               params={"channel": f"{self.caller},{leg.channel_id}"})
        self.call.journal.emit(TransferBridged(call_id=self.call_id, producer=leg.producer.name,
                                                  bridge_id=self.talk_id))
        log.info("caller bridged to a producer", extra={"producer": leg.producer.name})

    # --- waiting -------------------------------------------------------------------------------

    async def _first(self, *waits: asyncio.Event | asyncio.Task, timeout: float | None = None):
        """The first of these events or tasks, or the caller hanging up, to finish; None on timeout.
        The tasks stay their owner's to cancel."""
        return await first_done(*waits, self.call.caller_gone, timeout=timeout, cancel_rest=False)


async def _accept_key(leg: ProducerLeg) -> str:
    while True:
        digit = await leg.keys.get()
        if digit in (ACCEPT, DECLINE):
            return digit


def whisper(payload: HandoffPayload, *, ask: bool) -> Prompt:
    """'Warmline transfer. Coverage question. Caller verified. Asked about a regulated topic. Press 1…'"""
    media = ["transfer_whisper", f"whisper_{payload.intent or 'out_of_scope'}",
             "whisper_verified" if payload.authenticated else "whisper_not_verified",
             f"whisper_reason_{payload.reason or 'system_error'}"]
    return Prompt.say(*media, *(["whisper_press"] if ask else []), barge_in=False)


def sip_headers(variables: dict[str, str]) -> dict[str, str]:
    """X-Warmline-* headers from the hand-off variables (SIP header values: one line, ASCII)."""
    names = {"WARMLINE_CALL_ID": "X-Warmline-Call-Id", "WARMLINE_PAYLOAD_ID": "X-Warmline-Payload-Id",
             "WARMLINE_INTENT": "X-Warmline-Intent", "WARMLINE_REASON": "X-Warmline-Reason",
             "WARMLINE_AUTH": "X-Warmline-Auth", "WARMLINE_QUEUE": "X-Warmline-Queue"}
    return {h: _header_safe(variables[k]) for k, h in names.items() if variables.get(k)}


def _header_safe(value: str) -> str:
    return "".join(ch for ch in value if 32 <= ord(ch) < 127)[:200]


def _camel(name: str) -> str:
    """WARMLINE_CALLER_NAME → CallerName (AMI event keys)."""
    return "".join(part.capitalize() for part in name.removeprefix("WARMLINE_").split("_"))
