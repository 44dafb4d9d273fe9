"""A caller and a producer talking in one bridge that Asterisk mixes by itself."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Any

from warmline.ari_app.client import AriError
from warmline.ari_app.context import AppContext
from warmline.ari_app.settings import AsteriskSettings
from warmline.calls.events import CallJournal
from warmline.conversation.build import flows_path
from warmline.dialog.flows import FlowError, Survey, SurveyAfterCall, load_flows
from warmline.handoff.events import Party, TalkEnded

log = logging.getLogger(__name__)

LEAVING = ("StasisEnd", "ChannelDestroyed")
SURVEY_CONTEXT = "warmline-survey"  # extensions_warmline.conf: the question, Read(), UserEvent(WarmlineSurvey)


class Talk:
    """When either side leaves, the other is hung up and the bridge removed: nobody is left alone
    in a silent bridge. Its end goes on the call's stream (TalkEnded): the producer's wrap-up
    starts then, not when Warmline's own part of the call ended. When the producer hangs up first
    and the flow file asks the survey after escalated calls, the caller is not hung up but sent on
    to the dialplan's survey (the same question the AI asks after the calls it resolves)."""

    def __init__(self, ctx: AppContext, bridge_id: str, members: tuple[str, ...], *,
                 call_id: str = "", producer: str = "") -> None:
        """`members`: the caller first, then the producer's leg."""
        self.ctx = ctx
        self.bridge_id = bridge_id
        self.members = members
        self.call_id = call_id
        self.producer = producer
        self.started = time.monotonic()
        self.ended_by: Party | None = None
        self.ending = False
        for channel_id in self.members:
            ctx.channels.claim(channel_id, self)

    @property
    def bridge_ids(self) -> tuple[str, ...]:
        return (self.bridge_id,)

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in LEAVING and not self.ending:
            channel_id = (event.get("channel") or {}).get("id", "")
            self.ended_by = Party.CALLER if self.members and channel_id == self.members[0] else Party.PRODUCER
            self.ending = True
            self.ctx.spawn(self.end(), f"talk-end-{self.bridge_id}")

    async def end(self) -> None:
        if self.ended_by is None:  # not a leaving channel: Warmline ends it (shutdown)
            self.ended_by = Party.PBX
        self.ending = True
        self.ctx.channels.release(self, *self.members)
        if self.call_id:  # before the cleanup: a failing DELETE must not lose the producer's wrap-up
            CallJournal(self.call_id, list(self.ctx.listeners)).emit(TalkEnded(
                call_id=self.call_id, producer=self.producer, ended_by=self.ended_by,
                talk_seconds=round(time.monotonic() - self.started, 3)))
        survey = escalated_survey(self.ctx.settings) if self.ended_by == Party.PRODUCER and self.call_id else None
        hang_up = list(self.members)
        if survey is not None and self.members and await self._to_survey(self.members[0], survey):
            hang_up.remove(self.members[0])
        for channel_id in hang_up:
            await self.ctx.client.delete(f"/channels/{channel_id}", missing_ok=True)
        await self.ctx.client.delete(f"/bridges/{self.bridge_id}", missing_ok=True)
        log.info("transferred call ended", extra={"bridge": self.bridge_id})

    async def _to_survey(self, caller: str, survey: Survey) -> bool:
        """The caller on to the dialplan's survey, with where its sounds are; False when that failed
        (the caller is then hung up, as without a survey)."""
        prompts = self.ctx.settings.prompts
        variables = {"WARMLINE_SOUNDS": (prompts.asterisk_dir or prompts.dir).rstrip("/"),
                     "WARMLINE_SURVEY_QUESTION": survey.question, "WARMLINE_SURVEY_THANKS": survey.thanks}
        try:
            for name, value in variables.items():
                await self.ctx.client.post(f"/channels/{caller}/variable", missing_ok=True,
                                           params={"variable": name, "value": value})
            await self.ctx.client.post(f"/channels/{caller}/continue", missing_ok=True,
                                       params={"context": SURVEY_CONTEXT, "extension": "s", "priority": 1})
        except AriError as exc:
            log.warning("caller not sent to the survey: %s", exc, extra={"bridge": self.bridge_id})
            return False
        log.info("caller sent to the survey", extra={"bridge": self.bridge_id})
        return True


def escalated_survey(settings: AsteriskSettings) -> Survey | None:
    """The flow file's survey when it is asked after escalated calls; None otherwise (or when the
    flow file cannot be read now: the caller is hung up as without a survey)."""
    if not settings.dialog.enabled:
        return None
    try:
        survey = _survey_in(flows_path(settings.dialog))
    except FlowError as exc:
        log.warning("no survey after the talk: %s", exc)
        return None
    return survey if survey.asks_after(SurveyAfterCall.ESCALATED) else None


@functools.cache
def _survey_in(path: Path) -> Survey:
    """Read once per process, as the dialogue's flows are (serve checked the file at start-up)."""
    return load_flows(path).survey
