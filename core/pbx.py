"""The contract a PBX plugin fulfils. Plugins register under the `warmline.pbx` entry point group."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from warmline.calls.events import Listener
from warmline.calls.session import SessionFactory
from warmline.health import CheckResult

if TYPE_CHECKING:  # config loads plugins through this contract
    from warmline.config import Settings


class PbxPlugin(Protocol):
    name: str
    # The engine's Settings extended with the plugin's own sections: a file is validated against it.
    settings_model: ClassVar[type["Settings"]]

    async def check(self, settings: Any) -> list[CheckResult]:
        """Connect, verify, disconnect: one verdict per item."""

    async def serve(
        self, settings: Any, session_factory: SessionFactory, stop: asyncio.Event,
        listeners: Iterable[Listener] = (),
    ) -> None:
        """Take calls until `stop` is set; hand every live caller to a person on the way out."""

    async def prepare(self, settings: Any) -> None:
        """While the models load: hand callers an earlier, dead process left behind to a person."""

    async def watchdog(self, settings: Any, stop: asyncio.Event) -> None:
        """Hold no models; while no live serve holds the PBX's calls, hand them to a person."""

    async def health(self, settings: Any) -> CheckResult:
        """Is a Warmline serving right now (its heartbeat, not its registration)? No models loaded."""

    async def demo(self, sandbox: str) -> int:
        """Scripted calls through Warmline on the plugin's sandbox PBX; the exit status."""
