"""Every channel the Stasis app follows, each mapped to the one object that owns it.

An ARI event names a channel; its owner (a call, a producer leg, a caller talking to a producer)
handles it. One map instead of one per kind of owner: an event finds its owner in one lookup,
reconciliation sees everything Warmline holds, and ownership can move (a caller's channel passes
from its call to the talk once bridged to a producer).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

Owner = TypeVar("Owner", bound="ChannelOwner")


class ChannelOwner(Protocol):
    @property
    def bridge_ids(self) -> tuple[str, ...]:
        """Bridges this owner holds on the PBX (reconciliation keeps them)."""

    def on_event(self, event: dict[str, Any]) -> None:
        """An ARI event about one of the owner's channels."""


class Channels:
    def __init__(self) -> None:
        self._owners: dict[str, ChannelOwner] = {}

    def claim(self, channel_id: str, owner: ChannelOwner) -> None:
        """Before the channel is created: its first event can beat the REST reply."""
        self._owners[channel_id] = owner

    def release(self, owner: ChannelOwner, *channel_ids: str) -> None:
        """Forget these channels if `owner` still owns them (a newer owner keeps its claim)."""
        for channel_id in channel_ids:
            if self._owners.get(channel_id) is owner:
                del self._owners[channel_id]

    def owner(self, channel_id: str) -> ChannelOwner | None:
        return self._owners.get(channel_id)

    def ids(self) -> set[str]:
        return set(self._owners)

    def owners(self, kind: type[Owner]) -> list[Owner]:
        """Distinct owners of this kind, in the order they first claimed a channel."""
        seen = {id(o): o for o in self._owners.values() if isinstance(o, kind)}
        return list(seen.values())

    def bridge_ids(self) -> set[str]:
        return {b for o in {id(o): o for o in self._owners.values()}.values() for b in o.bridge_ids}


def subject(event: dict[str, Any]) -> str:
    """The channel an ARI event is about (a playback's target; a dial's peer)."""
    kind = event.get("type")
    if kind == "PlaybackFinished":
        return (event.get("playback") or {}).get("target_uri", "").removeprefix("channel:")
    if kind == "Dial":
        return (event.get("peer") or {}).get("id", "")
    return (event.get("channel") or {}).get("id", "")
