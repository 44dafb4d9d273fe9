"""The contract a PBX plugin fulfils. Plugins register under the `warmline.pbx` entry point group."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from warmline.calls.events import Listener
from warmline.calls.session import SessionFactory
from warmline.handoff.events import SuperviseMode  # defined with the event that records it; part of this contract
from warmline.health import CheckResult

if TYPE_CHECKING:  # config loads plugins through this contract
    from warmline.config import Settings


class DeskActions(Protocol):
    """What the producer console asks of the PBX; the plugin implements it while connected."""

    async def pause_producer(self, producer: str, paused: bool, reason: str) -> None:
        """Pause (or resume) the producer in every PBX queue they are a member of (wrap-up)."""

    async def supervise(self, call_id: str, supervisor_endpoint: str, mode: SuperviseMode) -> None:
        """Ring the supervisor's own phone and join them to the call's live audio in this mode."""

    async def take_over(self, call_id: str, supervisor: str, supervisor_endpoint: str) -> None:
        """Hand a call still with the AI to this supervisor, as an escalation with its payload."""


class DeskHost(Protocol):
    """The console's side of the desk, given to the plugin by serve."""

    def attach(self, actions: DeskActions | None) -> None:
        """The PBX's hands once connected; None while the PBX is out of reach."""

    def in_wrap_up(self) -> frozenset[str]:
        """Producers tagging their last transfer: routing skips them (Availability.WRAP_UP)."""


class PbxPlugin(Protocol):
    name: str
    # The engine's Settings extended with the plugin's own sections: a file is validated against it.
    settings_model: ClassVar[type["Settings"]]

    async def check(self, settings: Any) -> list[CheckResult]:
        """Connect, verify, disconnect: one verdict per item."""

    async def serve(
        self, settings: Any, session_factory: SessionFactory, stop: asyncio.Event,
        listeners: Iterable[Listener] = (), desk: DeskHost | None = None,
    ) -> None:
        """Take calls until `stop` is set; hand every live caller to a person on the way out."""

    async def prepare(self, settings: Any) -> None:
        """While the models load: hand callers an earlier, dead process left behind to a person."""

    async def watchdog(self, settings: Any, stop: asyncio.Event) -> None:
        """Hold no models; while no live serve holds the PBX's calls, hand them to a person."""

    async def health(self, settings: Any) -> CheckResult:
        """Is a Warmline serving right now (its heartbeat, not its registration)? No models loaded."""

    async def demo(self, sandbox: str, console: str = "") -> int:
        """Scripted calls through Warmline on the plugin's sandbox PBX; the exit status. `console`:
        HOST:PORT of the producer console to run beside them, up until interrupted."""
