"""Who serves a Stasis app, and whether they are still alive: a lease in an Asterisk global variable.

`serve` renews `WARMLINE_LEASE_<app>` every `heartbeat_s`; everyone else (a second serve, the
watchdog, `warmline check --only serve`) reads it. Liveness is judged by whether the value
CHANGES, on the reader's own monotonic clock, so two boxes' clocks never have to agree. The lease
lives in the PBX that holds the callers: if that PBX restarts, the lease and the calls go together.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass

from warmline.ari_app.client import AriClient, ari_object
from warmline.errors import PbxError

log = logging.getLogger(__name__)


class AppTaken(PbxError):
    """Another live Warmline serves this Stasis app."""


def lease_variable(app: str) -> str:
    return "WARMLINE_LEASE_" + re.sub(r"[^A-Za-z0-9_]", "_", app)


def new_instance() -> str:
    """Who holds a lease: enough for an admin to find the process, nothing personal."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Staleness:
    """Sans-IO: is a renewed value still being renewed? Alive while it changed within `stale_after_s`."""

    stale_after_s: float
    value: str | None = None
    changed_at: float | None = None

    def observe(self, value: str, now: float) -> bool:
        if value != self.value:
            self.value, self.changed_at = value, now
            return bool(value)  # empty: nobody ever wrote it (or the PBX restarted)
        return bool(value) and self.changed_at is not None and now - self.changed_at < self.stale_after_s

    def silent_for(self, now: float) -> float | None:
        return None if self.changed_at is None else now - self.changed_at


class Lease:
    def __init__(self, client: AriClient, app: str, instance: str | None = None) -> None:
        self.client = client
        self.variable = lease_variable(app)
        self.app = app
        self.instance = instance or new_instance()
        self.beats = 0

    async def read(self) -> str:
        got = await self.client.get("/asterisk/variable", params={"variable": self.variable})
        return ari_object(got or {}, "/asterisk/variable", {"value": str}).get("value", "") or ""

    async def renew(self) -> None:
        self.beats += 1
        await self.client.post("/asterisk/variable",
                               params={"variable": self.variable, "value": f"{self.instance};{self.beats}"})

    def holder(self, value: str) -> str:
        return value.rsplit(";", 1)[0]

    async def claim(self, heartbeat_s: float) -> None:
        """Take the lease unless another instance is renewing it (then AppTaken, naming it)."""
        first = await self.read()
        if first and self.holder(first) != self.instance:
            await asyncio.sleep(heartbeat_s * 1.5)  # long enough to see a live holder renew
            second = await self.read()
            if second != first and self.holder(second) != self.instance:
                raise AppTaken(f"another Warmline ({self.holder(second)}) is serving Stasis app {self.app!r}: "
                               "stop it first, or give this one another ari.app (and Stasis() name)")
        await self.renew()

    async def keep(self, heartbeat_s: float) -> None:
        """Renew until cancelled. A failed renewal is logged and retried: giving up would let the
        watchdog take the calls of a live process."""
        failing = False
        while True:
            await asyncio.sleep(heartbeat_s)
            try:
                await self.renew()
                failing = False
            except PbxError as exc:
                if not failing:
                    log.warning("could not renew the lease on %s: %s", self.app, exc)
                failing = True

    async def release(self) -> None:
        """On a clean stop: an empty lease tells the watchdog at once that nobody serves the app."""
        value = await self.read()
        if value and self.holder(value) == self.instance:
            await self.client.post("/asterisk/variable", params={"variable": self.variable, "value": ""})


async def is_alive(lease: Lease, heartbeat_s: float, within_s: float | None = None) -> tuple[bool, str]:
    """Read the lease long enough to see it renewed (or not): alive, and a line saying so."""
    started = time.monotonic()
    value = await lease.read()
    if not value:  # nobody holds it (never served, cleanly stopped, or the PBX restarted)
        return False, (f"no Warmline serves Stasis app {lease.app!r} (no lease): start warmline serve; "
                       "meanwhile callers sent to Stasis() are handed on only by the watchdog")
    deadline = started + (within_s if within_s is not None else max(heartbeat_s * 2.5, 0.5))
    while time.monotonic() < deadline:
        await asyncio.sleep(heartbeat_s / 2)
        now_value = await lease.read()
        if now_value and now_value != value:
            return True, f"serving Stasis app {lease.app!r} ({lease.holder(now_value)}, lease renewed)"
    if not value:
        return False, (f"no Warmline serves Stasis app {lease.app!r} (no lease): start warmline serve; "
                       "meanwhile callers sent to Stasis() are handed on only by the watchdog")
    return False, (f"Warmline {lease.holder(value)} stopped renewing its lease on {lease.app!r}: "
                   "it is hung or dead; restart warmline serve")
