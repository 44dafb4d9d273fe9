"""One caller's call inside the Stasis app: answer, bridge, media, session, teardown.

Warmline hears the caller through a snoop channel (spy on what the caller sends) bridged with
its media channel; the caller's own channel stays out of that bridge. Asterisk stops reading a
bridged channel into the bridge while a playback runs on it, so a bridged caller would go
unheard during prompts; the snoop keeps hearing them, which is what barge-in needs.

Everything this handler creates (bridge, media channel, sockets, tasks) it removes when the call
ends, whatever the reason; if anything fails while the caller is still there, the caller goes to
the configured human fallback rather than hearing silence.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from warmline.ari_app.channels import subject
from warmline.ari_app.context import AppContext
from warmline.ari_app.media import MediaLeg, make_leg
from warmline.ari_app.queues import APP_VARIABLE
from warmline.ari_app.transfer import AttendedTransfer, CallView
from warmline.ari_app.voice import AriVoice
from warmline.calls.events import (
    CallEnded,
    CallFailed,
    CallJournal,
    CallStarted,
    EndReason,
    MediaConnected,
    MediaEnded,
)
from warmline.calls.session import CallInfo, CallSession, SessionResult
from warmline.dialog.dialogue import Ending
from warmline.dialog.events import CallerTurn, ConversationEnded, ConversationOutcome, EscalationDecided
from warmline.dialog.triggers import Escalation, Reason
from warmline.errors import PbxError
from warmline.handoff.events import CallTakenOver, TransferBridged
from warmline.handoff.payload import load_payload_from
from warmline.handoff.route import route_for
from warmline.handoff.routing import Producer
from warmline.logs import call_id_var
from warmline.privacy import mask_number
from warmline.tasks import cancel_all, first_done

log = logging.getLogger(__name__)

SESSION_DRAIN_S = 2.0  # after hang-up, time the session gets to finish with the audio it has
TAKEOVER_QUEUE = "service"  # where a taken-over caller goes if the supervisor does not answer after all


class NotWithTheAi(PbxError):
    """A take-over asked for a call the AI no longer holds."""


def new_call_id() -> str:
    return uuid.uuid4().hex[:12]


class CallHandler:
    def __init__(self, ctx: AppContext, channel: dict[str, Any]) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.call_id = new_call_id()
        self.channel_id: str = channel["id"]
        caller = channel.get("caller") or {}
        self.info = CallInfo(
            call_id=self.call_id,
            caller_number=caller.get("number", ""),
            caller_name=caller.get("name", ""),
            dialed=(channel.get("dialplan") or {}).get("exten", ""),
        )
        self.journal = CallJournal(self.call_id, ctx.listeners)
        self.bridge_id = f"wl-{self.call_id}"
        self.hold_bridge_id = f"wl-{self.call_id}-hold"  # the caller on hold during a transfer
        self.talk_bridge_id = f"wl-{self.call_id}-talk"  # the caller with a producer
        self.media_channel_id = f"wl-{self.call_id}-media"
        self.snoop_channel_id = f"wl-{self.call_id}-snoop"
        self.caller_gone = asyncio.Event()
        self.in_stasis = {self.media_channel_id: asyncio.Event(), self.snoop_channel_id: asyncio.Event()}
        self.end_reason: str | None = None  # first cause wins: a hand-off is not a hang-up
        self.task: asyncio.Task | None = None
        self.media_released = False
        self.session: CallSession | None = None
        self.supervisor: Producer | None = None  # a supervisor took the call from the AI (the desk)
        self.taken_over = asyncio.Event()
        prompts = ctx.settings.prompts
        self.voice = AriVoice(self.client, self.channel_id, prompts.asterisk_dir or prompts.dir)
        ctx.channels.claim(self.channel_id, self)

    @property
    def bridge_ids(self) -> tuple[str, ...]:
        return (self.bridge_id, self.hold_bridge_id)

    # --- events from the Stasis app ----------------------------------------------------------

    def on_caller_gone(self, reason: str = "caller_hangup") -> None:
        """The caller's channel left Stasis: hung up, or continued to the dialplan by us."""
        if not self.caller_gone.is_set():
            self.end_reason = self.end_reason or reason
            self.caller_gone.set()
            self.voice.on_caller_gone()

    def on_event(self, event: dict[str, Any]) -> None:
        kind, channel_id = event.get("type"), subject(event)
        if channel_id != self.channel_id:  # our media or snoop channel
            if kind == "StasisStart" and (arrived := self.in_stasis.get(channel_id)):
                arrived.set()
        elif kind == "PlaybackFinished":
            self.voice.on_playback_finished(event.get("playback") or {})
        elif kind == "ChannelDtmfReceived":
            self.on_dtmf(event.get("digit", ""))
        elif kind == "ChannelHangupRequest" and event.get("soft"):
            # a soft hangup nobody in this call asked for: Asterisk stopping (or an admin), not the caller
            self.end_reason = self.end_reason or EndReason.PBX_LOST
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            self.on_caller_gone()

    def on_dtmf(self, digit: str) -> None:
        if self.session is not None and digit:
            self.session.on_dtmf(digit)

    def take_over(self, supervisor: Producer) -> None:
        """A supervisor takes the call from the AI: the conversation stops, the caller is rung to them."""
        if self.session is None or self.media_released or self.caller_gone.is_set() or self.supervisor:
            raise NotWithTheAi(f"call {self.call_id} is not with the AI any more: it cannot be taken over")
        self.supervisor = supervisor
        self.taken_over.set()

    # --- the call ------------------------------------------------------------------------------

    async def run(self) -> None:
        call_id_var.set(self.call_id)
        self.journal.emit(CallStarted(
            call_id=self.call_id, pbx="asterisk", channel_id=self.channel_id,
            caller_number=self.info.caller_number, caller_name=self.info.caller_name, dialed=self.info.dialed,
        ))
        log.info("call started", extra={"channel": self.channel_id, "caller": mask_number(self.info.caller_number)})
        leg: MediaLeg | None = None
        result: SessionResult | None = None
        stage = "answer"
        try:
            await self.client.post(f"/channels/{self.channel_id}/answer")
            stage = "bridge"
            await self._bridge()
            stage = "media"
            leg = make_leg(self.ctx.settings.media.transport, self.client, self.media_channel_id,
                           self.ctx.settings.media.rtp_bind_host)
            await asyncio.wait_for(self._connect_media(leg), self.ctx.settings.media.connect_timeout_s)
            self.journal.emit(MediaConnected(call_id=self.call_id, transport=leg.transport, audio_format="slin16"))
            log.info("media connected", extra={"transport": leg.transport})
            stage = "session"
            result = await self._converse(leg)
            stage = "handoff"
            await self._release_media(leg)  # Warmline stops listening before anyone else picks up
            await self._follow(result)
        except asyncio.CancelledError:
            await self._to_fallback("warmline_stopping")
            self.end_reason = self.end_reason or "shutdown"
            raise
        except Exception as exc:
            if not self.caller_gone.is_set():
                log.error("call failed at %s: %s", stage, exc, exc_info=not _is_expected(exc))
                self.journal.emit(CallFailed(call_id=self.call_id, stage=stage, error=str(exc)))
                await self._to_fallback(f"warmline_error_{stage}")
        finally:
            await self._teardown(leg, result)

    async def _bridge(self) -> None:
        await self.client.post("/bridges", params={
            "type": "mixing", "bridgeId": self.bridge_id, "name": f"{self.ctx.app_name}:{self.call_id}",
        })

    async def _connect_media(self, leg: MediaLeg) -> None:
        self.ctx.channels.claim(leg.channel_id, self)  # before open: StasisStart can beat the reply
        await leg.open()
        await self.in_stasis[leg.channel_id].wait()
        await self.client.post(f"/bridges/{self.bridge_id}/addChannel", params={"channel": leg.channel_id})
        started = getattr(leg, "started", None)
        if started is not None:
            await started.wait()
        self.ctx.channels.claim(self.snoop_channel_id, self)
        await self.client.post(f"/channels/{self.channel_id}/snoop", params={
            "spy": "in", "app": self.ctx.app_name, "snoopId": self.snoop_channel_id,
        })
        await self.in_stasis[self.snoop_channel_id].wait()
        await self.client.post(f"/bridges/{self.bridge_id}/addChannel", params={"channel": self.snoop_channel_id})
        await self.client.post(f"/channels/{self.channel_id}/variable",
                               params={"variable": "WARMLINE_CALL_ID", "value": self.call_id})
        # which Warmline owns the call: with two boxes on one PBX, only it records what AMI says later
        await self.client.post(f"/channels/{self.channel_id}/variable",
                               params={"variable": APP_VARIABLE, "value": self.ctx.app_name})

    async def _converse(self, leg: MediaLeg) -> SessionResult | None:
        session = self.session = self.ctx.session_factory(self.info, self.journal, self.voice)
        session_task = asyncio.create_task(session.run(leg.chunks()), name=f"session-{self.call_id}")
        try:
            done = await first_done(session_task, self.caller_gone, self.taken_over, cancel_rest=False)
            if done is self.taken_over:
                await cancel_all([session_task])  # the AI stops mid-word: a person has the caller now
                await self.voice.stop()
                return self._taken_over(session)
            if done is self.caller_gone:
                await leg.close()  # ends the audio; the session finishes what it heard
                finished = await first_done(session_task, timeout=SESSION_DRAIN_S)
                return session_task.result() if finished else None
            return session_task.result()  # re-raises a crashed session
        finally:
            await cancel_all([session_task])

    def _taken_over(self, session: CallSession) -> SessionResult:
        """Escalated like any other call, with its own reason code and the payload, to the supervisor."""
        journal, supervisor = self.journal, self.supervisor
        requests = [t for t in journal.of_type(CallerTurn) if not t.answer]
        intent = requests[-1].intent if requests else None
        esc = Escalation(Reason.SUPERVISOR_TAKEOVER, intent, "taken over from the console", final=True)
        journal.emit(EscalationDecided(call_id=self.call_id, reason=esc.reason, intent=intent, detail=esc.detail,
                                       final=True, queue=TAKEOVER_QUEUE))
        journal.emit(CallTakenOver(call_id=self.call_id, supervisor=supervisor.name if supervisor else ""))
        journal.emit(ConversationEnded(call_id=self.call_id, outcome=ConversationOutcome.ESCALATED,
                                       intents=tuple(dict.fromkeys(t.intent for t in requests))))
        route = route_for(Ending(ConversationOutcome.ESCALATED, TAKEOVER_QUEUE, esc), journal)
        heard = getattr(session, "listening", session)  # the dialogue's session counts in its listener
        log.info("call taken over by a supervisor")
        return SessionResult(heard.frames, heard.audio_seconds, "taken over", route)

    async def _follow(self, result: SessionResult | None) -> None:
        """Hang up a contained call; hand anyone else to a producer, or on into the dialplan."""
        if self.caller_gone.is_set():
            return
        if not self.ctx.connected.is_set():
            self.end_reason = self.end_reason or "pbx_lost"  # media ended because Asterisk went away
            return
        route = result.route if result else None
        if route is None:  # the session ended but nobody routed the caller: a person takes over
            await self._to_fallback("session_ended")
            return
        if route.target is None:
            self.end_reason = route.outcome
            await self.client.delete(f"/channels/{self.channel_id}", missing_ok=True)
            return
        variables = dict(route.variables)
        for name, value in variables.items():  # `__`: inherited by every channel dialled from here on
            await self.client.post(f"/channels/{self.channel_id}/variable",
                                   params={"variable": f"__{name}", "value": value}, missing_ok=True)
        self.end_reason = f"handed_to_{route.target}"
        if await self._transfer(route.target, variables):
            if self.caller_gone.is_set() and not self.journal.of_type(TransferBridged):
                self.end_reason = EndReason.ABANDONED  # hung up on hold, before anyone took them
            return
        await self.client.post(f"/channels/{self.channel_id}/continue", missing_ok=True, params={
            "context": self.ctx.settings.dialplan.handoff_context, "extension": route.target, "priority": 1,
        })
        log.info("caller handed to the dialplan", extra={"target": route.target})

    async def _transfer(self, target: str, variables: dict[str, str]) -> bool:
        """Ring producers ourselves (transfer mode): True once the caller is with one, or gone."""
        payload = load_payload_from(self.journal)
        if self.supervisor is not None and payload is not None:  # taken over: the supervisor, whatever the mode
            return await AttendedTransfer(self.ctx, self.view(), payload, variables, only=self.supervisor).run()
        if self.ctx.settings.handoff.mode != "transfer" or target == "payment" or payload is None:
            return False
        return await AttendedTransfer(self.ctx, self.view(), payload, variables).run()

    def view(self) -> CallView:
        """What the transfer may see of this call."""
        return CallView(call_id=self.call_id, caller=self.channel_id, journal=self.journal,
                        caller_gone=self.caller_gone, sound_dir=self.voice.sound_dir,
                        hold_bridge_id=self.hold_bridge_id, talk_bridge_id=self.talk_bridge_id)

    async def _to_fallback(self, reason: str) -> None:
        """Send the caller to the human fallback in the dialplan (never leave them in silence)."""
        if self.caller_gone.is_set() or self.end_reason == EndReason.PBX_LOST:
            return  # gone, or being hung up by Asterisk itself: there is no dialplan to send them to
        fb = self.ctx.settings.fallback
        self.end_reason = "handed_to_fallback"  # before the request: its StasisEnd can arrive first
        try:
            await self.client.post(f"/channels/{self.channel_id}/variable",
                                   params={"variable": "WARMLINE_FALLBACK_REASON", "value": reason}, missing_ok=True)
            await self.client.post(f"/channels/{self.channel_id}/continue", missing_ok=True, params={
                "context": fb.context, "extension": fb.extension, "priority": fb.priority,
            })
            log.warning("caller handed to fallback %s,%s,%s", fb.context, fb.extension, fb.priority,
                        extra={"reason": reason})
        except Exception as exc:
            self.end_reason = None
            log.error("could not hand the caller to the fallback: %s", exc)

    async def _release_media(self, leg: MediaLeg | None) -> None:
        """Warmline's ears off the call: media leg, snoop and their bridge (safe to call twice)."""
        if self.media_released:
            return
        self.media_released = True
        if leg is not None:
            await leg.close()
        self.ctx.channels.release(self, self.media_channel_id, self.snoop_channel_id)
        try:
            await self.client.delete(f"/channels/{self.snoop_channel_id}", missing_ok=True)
        except Exception as exc:  # PBX gone, or the snoop died with the caller
            log.debug("snoop cleanup: %s", exc)
        try:
            await self.client.delete(f"/bridges/{self.bridge_id}", missing_ok=True)
        except Exception as exc:  # PBX gone: nothing left to delete there
            log.debug("bridge cleanup: %s", exc)

    def _waiting_for_a_person(self) -> bool:
        """Escalated, and gone before a producer (or the dialplan's queue) took them."""
        return _escalated(self.journal) and not (self.end_reason or "").startswith("handed_to")

    async def _teardown(self, leg: MediaLeg | None, result: SessionResult | None) -> None:
        await self._release_media(leg)
        frames = result.frames if result else 0
        seconds = result.audio_seconds if result else 0.0
        self.journal.emit(MediaEnded(call_id=self.call_id, frames=frames, audio_seconds=seconds))
        reason = self.end_reason or EndReason.CALLER_HANGUP
        if reason == EndReason.CALLER_HANGUP and not self.ctx.connected.is_set():
            reason = EndReason.PBX_LOST  # Asterisk hangs every channel up as it stops: not the caller's doing
        elif reason == EndReason.CALLER_HANGUP and self._waiting_for_a_person():
            reason = EndReason.ABANDONED  # e.g. during the transfer message
        self.journal.emit(CallEnded(call_id=self.call_id, reason=reason))
        log.info("call ended", extra={"reason": reason, "frames": frames,
                                      "dropped": getattr(leg, "dropped", 0)})
        self.ctx.channels.release(self, self.channel_id)  # unless a talk owns the caller now


def _escalated(journal: CallJournal) -> bool:
    return bool(journal.of_type(EscalationDecided)) and not journal.of_type(TransferBridged)


def _is_expected(exc: Exception) -> bool:
    from warmline.errors import PbxError

    return isinstance(exc, (PbxError, TimeoutError))
