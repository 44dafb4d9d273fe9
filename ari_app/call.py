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
from typing import TYPE_CHECKING, Any

from warmline.calls.events import (
    CallEnded,
    CallFailed,
    CallJournal,
    CallStarted,
    MediaConnected,
    MediaEnded,
)
from warmline.privacy import mask_number
from warmline.calls.session import CallInfo, CallSession, SessionResult
from warmline.handoff.payload import load_payload_from
from warmline.logs import call_id_var
from warmline.ari_app.media import MediaLeg, make_leg
from warmline.ari_app.transfer import AttendedTransfer
from warmline.ari_app.voice import AriVoice

if TYPE_CHECKING:
    from warmline.ari_app.app import StasisApp

log = logging.getLogger(__name__)

SESSION_DRAIN_S = 2.0  # after hang-up, time the session gets to finish with the audio it has


def new_call_id() -> str:
    return uuid.uuid4().hex[:12]


class CallHandler:
    def __init__(self, app: "StasisApp", channel: dict[str, Any]) -> None:
        self.app = app
        self.client = app.client
        self.call_id = new_call_id()
        self.channel_id: str = channel["id"]
        caller = channel.get("caller") or {}
        self.info = CallInfo(
            call_id=self.call_id,
            caller_number=caller.get("number", ""),
            caller_name=caller.get("name", ""),
            dialed=(channel.get("dialplan") or {}).get("exten", ""),
        )
        self.journal = CallJournal(self.call_id, app.listeners)
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
        prompts = app.settings.prompts
        self.voice = AriVoice(self.client, self.channel_id, prompts.asterisk_dir or prompts.dir)

    # --- events from the Stasis app ----------------------------------------------------------

    def on_caller_gone(self, reason: str = "caller_hangup") -> None:
        """The caller's channel left Stasis: hung up, or continued to the dialplan by us."""
        if not self.caller_gone.is_set():
            self.end_reason = self.end_reason or reason
            self.caller_gone.set()
            self.voice.on_caller_gone()

    def on_dtmf(self, digit: str) -> None:
        if self.session is not None and digit:
            self.session.on_dtmf(digit)

    def on_owned_stasis_start(self, channel_id: str) -> None:
        if event := self.in_stasis.get(channel_id):
            event.set()

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
            leg = make_leg(self.app.settings.media.transport, self.client, self.media_channel_id,
                           self.app.settings.media.rtp_bind_host)
            await asyncio.wait_for(self._connect_media(leg), self.app.settings.media.connect_timeout_s)
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
            "type": "mixing", "bridgeId": self.bridge_id, "name": f"{self.app.settings.ari.app}:{self.call_id}",
        })

    async def _connect_media(self, leg: MediaLeg) -> None:
        self.app.media_owner[leg.channel_id] = self  # before open: StasisStart can beat the reply
        await leg.open()
        await self.in_stasis[leg.channel_id].wait()
        await self.client.post(f"/bridges/{self.bridge_id}/addChannel", params={"channel": leg.channel_id})
        started = getattr(leg, "started", None)
        if started is not None:
            await started.wait()
        self.app.media_owner[self.snoop_channel_id] = self
        await self.client.post(f"/channels/{self.channel_id}/snoop", params={
            "spy": "in", "app": self.app.settings.ari.app, "snoopId": self.snoop_channel_id,
        })
        await self.in_stasis[self.snoop_channel_id].wait()
        await self.client.post(f"/bridges/{self.bridge_id}/addChannel", params={"channel": self.snoop_channel_id})
        await self.client.post(f"/channels/{self.channel_id}/variable",
                               params={"variable": "WARMLINE_CALL_ID", "value": self.call_id})

    async def _converse(self, leg: MediaLeg) -> SessionResult | None:
        session = self.session = self.app.session_factory(self.info, self.journal, self.voice)
        session_task = asyncio.create_task(session.run(leg.chunks()), name=f"session-{self.call_id}")
        gone_task = asyncio.create_task(self.caller_gone.wait(), name=f"hangup-watch-{self.call_id}")
        try:
            await asyncio.wait({session_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
            if self.caller_gone.is_set():
                await leg.close()  # ends the audio; the session finishes what it heard
                done, _ = await asyncio.wait({session_task}, timeout=SESSION_DRAIN_S)
                return session_task.result() if done else None
            return session_task.result()  # re-raises a crashed session
        finally:
            for task in (session_task, gone_task):
                task.cancel()
            await asyncio.gather(session_task, gone_task, return_exceptions=True)

    async def _follow(self, result: SessionResult | None) -> None:
        """Hang up a contained call; hand anyone else to a producer, or on into the dialplan."""
        if self.caller_gone.is_set():
            return
        if not self.app.connected.is_set():
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
            return
        handoff = self.app.settings.handoff
        await self.client.post(f"/channels/{self.channel_id}/continue", missing_ok=True, params={
            "context": handoff.context, "extension": route.target, "priority": 1,
        })
        log.info("caller handed to the dialplan", extra={"target": route.target})

    async def _transfer(self, target: str, variables: dict[str, str]) -> bool:
        """Ring producers ourselves (transfer mode): True once the caller is with one, or gone."""
        payload = load_payload_from(self.journal)
        if self.app.settings.handoff.mode != "transfer" or target == "payment" or payload is None:
            return False
        return await AttendedTransfer(self, payload, variables).run()

    async def _to_fallback(self, reason: str) -> None:
        """Send the caller to the human fallback in the dialplan (never leave them in silence)."""
        if self.caller_gone.is_set():
            return
        fb = self.app.settings.fallback
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
        self.app.media_owner.pop(self.media_channel_id, None)
        self.app.media_owner.pop(self.snoop_channel_id, None)
        try:
            await self.client.delete(f"/channels/{self.snoop_channel_id}", missing_ok=True)
        except Exception as exc:  # PBX gone, or the snoop died with the caller
            log.debug("snoop cleanup: %s", exc)
        try:
            await self.client.delete(f"/bridges/{self.bridge_id}", missing_ok=True)
        except Exception as exc:  # PBX gone: nothing left to delete there
            log.debug("bridge cleanup: %s", exc)

    async def _teardown(self, leg: MediaLeg | None, result: SessionResult | None) -> None:
        await self._release_media(leg)
        frames = result.frames if result else 0
        seconds = result.audio_seconds if result else 0.0
        self.journal.emit(MediaEnded(call_id=self.call_id, frames=frames, audio_seconds=seconds))
        reason = self.end_reason or "caller_hangup"
        self.journal.emit(CallEnded(call_id=self.call_id, reason=reason))
        log.info("call ended", extra={"reason": reason, "frames": frames,
                                      "dropped": getattr(leg, "dropped", 0)})
        self.app.forget(self)


def _is_expected(exc: Exception) -> bool:
    from warmline.errors import PbxError

    return isinstance(exc, (PbxError, TimeoutError))
