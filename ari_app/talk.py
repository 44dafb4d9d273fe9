"""A caller and a producer talking in one bridge that Asterisk mixes by itself."""

from __future__ import annotations

import logging
import time
from typing import Any

from warmline.ari_app.context import AppContext
from warmline.calls.events import CallJournal
from warmline.handoff.events import Party, TalkEnded

log = logging.getLogger(__name__)

LEAVING = ("StasisEnd", "ChannelDestroyed")


class Talk:
    """When either side leaves, the other is hung up and the bridge removed: nobody is left alone
    in a silent bridge. Its end goes on the call's stream (TalkEnded): the producer's wrap-up
    starts then, not when Warmline's own part of the call ended."""

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
        for channel_id in self.members:
            await self.ctx.client.delete(f"/channels/{channel_id}", missing_ok=True)
        await self.ctx.client.delete(f"/bridges/{self.bridge_id}", missing_ok=True)
        log.info("transferred call ended", extra={"bridge": self.bridge_id})
