"""`warmline watchdog`: hands callers to a person while no Warmline serves the Stasis app.

It holds no models (it starts in a moment and uses a few MB), reads the lease `serve` renews
(`lease.py`) and, whenever that lease is stale or empty, runs the Stasis app's reconciliation
without taking the app: callers waiting in it go to the `[fallback]` dialplan target, half-ended
talks are hung up, leftover media channels and bridges removed. A live `serve` is never touched.
Run it under its own supervision, on the PBX host or next to `serve`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from warmline.ari_app.app import StasisApp
from warmline.ari_app.client import AriClient, AriUnreachable
from warmline.ari_app.lease import Lease, Staleness
from warmline.ari_app.settings import AsteriskSettings
from warmline.calls.session import CallSession
from warmline.errors import PbxError

log = logging.getLogger(__name__)


async def watch(settings: AsteriskSettings, stop: asyncio.Event) -> None:
    poll_s = min(settings.ari.heartbeat_s / 2, 0.5)
    async with aiohttp.ClientSession() as http:
        client = AriClient(settings.ari, http)
        staleness = Staleness(settings.ari.stale_after_s)
        guard = Guard(settings)
        log.info("watching Stasis app %s", settings.ari.app)
        while not stop.is_set():
            try:
                value = await Lease(client, settings.ari.app).read()
                await guard.step(client, staleness.observe(value, time.monotonic()))
            except AriUnreachable as exc:
                guard.unreachable(exc)
            except PbxError as exc:
                log.warning("watchdog pass failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), poll_s)
            except TimeoutError:
                pass


class Guard:
    """What the watchdog says and does as serve comes and goes (logged once per change)."""

    def __init__(self, settings: AsteriskSettings) -> None:
        self.settings = settings
        self.acting = False
        self.down = False

    async def step(self, client: AriClient, serve_alive: bool) -> None:
        self.down = False
        if serve_alive:
            if self.acting:
                log.info("warmline serve renews its lease again: standing by")
            self.acting = False
            return
        if not self.acting:
            log.warning("no live warmline serve on Stasis app %s: handing its callers to the fallback",
                        self.settings.ari.app)
        self.acting = True
        await StasisApp(self.settings, CallSession).settle(client)  # a fresh registry each pass

    def unreachable(self, exc: Exception) -> None:
        if not self.down:
            log.warning("Asterisk unreachable (%s); the watchdog retries", exc)
        self.down = True
