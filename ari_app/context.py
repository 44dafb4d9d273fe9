"""What a call and its transfer may use of the Stasis app: a narrow view, not the app itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from warmline.ari_app.channels import Channels
from warmline.ari_app.client import AriClient
from warmline.ari_app.console import ConsolePush
from warmline.ari_app.settings import AsteriskSettings
from warmline.calls.events import Listener
from warmline.calls.session import SessionFactory

Spawn = Callable[[Coroutine[Any, Any, Any], str], None]


@dataclass(frozen=True, slots=True)
class AppContext:
    settings: AsteriskSettings
    client: AriClient
    channels: Channels
    connected: asyncio.Event  # the events websocket is up: a media end without it means the PBX went away
    session_factory: SessionFactory
    listeners: tuple[Listener, ...]
    console: ConsolePush | None
    spawn: Spawn  # a background task the app owns, cancels on shutdown and logs if it fails
    in_wrap_up: Callable[[], frozenset[str]] = frozenset  # producers the console holds in wrap-up

    @property
    def app_name(self) -> str:
        return self.settings.ari.app
