"""A caller and a producer talking in one bridge that Asterisk mixes by itself."""

from __future__ import annotations

import logging
from typing import Any

from warmline.ari_app.context import AppContext

log = logging.getLogger(__name__)

LEAVING = ("StasisEnd", "ChannelDestroyed")


class Talk:
    """When either side leaves, the other is hung up and the bridge removed: nobody is left alone
    in a silent bridge."""

    def __init__(self, ctx: AppContext, bridge_id: str, members: tuple[str, ...]) -> None:
        self.ctx = ctx
        self.bridge_id = bridge_id
        self.members = members
        self.ending = False
        for channel_id in members:
            ctx.channels.claim(channel_id, self)

    @property
    def bridge_ids(self) -> tuple[str, ...]:
        return (self.bridge_id,)

    def on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in LEAVING and not self.ending:
            self.ending = True
            self.ctx.spawn(self.end(), f"talk-end-{self.bridge_id}")

    async def end(self) -> None:
        self.ending = True
        self.ctx.channels.release(self, *self.members)
        for channel_id in self.members:
            await self.ctx.client.delete(f"/channels/{channel_id}", missing_ok=True)
        await self.ctx.client.delete(f"/bridges/{self.bridge_id}", missing_ok=True)
        log.info("transferred call ended", extra={"bridge": self.bridge_id})
