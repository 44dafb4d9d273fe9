"""Entry point of the Asterisk plugin."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import aiohttp
from warmline.ari_app.ami import AmiError, ami_login_check
from warmline.ari_app.app import StasisApp
from warmline.ari_app.client import AriClient, AriError, AriUnreachable, ari_object, auth_header
from warmline.ari_app.lease import Lease, is_alive
from warmline.ari_app.settings import AsteriskSettings
from warmline.ari_app.watchdog import watch
from warmline.calls.events import Listener
from warmline.calls.session import CallSession, SessionFactory
from warmline.errors import ConfigError, PbxError
from warmline.health import CheckResult
from warmline.pbx import DeskHost

log = logging.getLogger(__name__)


class AsteriskPlugin:
    name = "asterisk"
    settings_model = AsteriskSettings

    async def serve(self, settings: AsteriskSettings, session_factory: SessionFactory, stop: asyncio.Event,
                    listeners: Iterable[Listener] = (), desk: DeskHost | None = None) -> None:
        if problem := missing_password(settings):
            raise ConfigError(problem)
        await StasisApp(settings, session_factory, listeners, desk).run(stop)

    async def prepare(self, settings: AsteriskSettings) -> None:
        """Before the models load: if no live Warmline holds the app, hand the callers an earlier
        process left in it to the fallback now, rather than after start-up."""
        async with aiohttp.ClientSession() as http:
            client = AriClient(settings.ari, http)
            try:
                alive, _ = await is_alive(Lease(client, settings.ari.app), settings.ari.heartbeat_s,
                                          within_s=settings.ari.stale_after_s)
                if not alive:
                    await StasisApp(settings, CallSession).settle(client)
            except PbxError as exc:  # Asterisk not up yet: serve's own connect loop deals with it
                log.info("start-up reconciliation skipped: %s", exc)

    async def watchdog(self, settings: AsteriskSettings, stop: asyncio.Event) -> None:
        if problem := missing_password(settings):
            raise ConfigError(problem)
        await watch(settings, stop)

    async def health(self, settings: AsteriskSettings) -> CheckResult:
        """Is a Warmline serving the app right now? Reads the lease only: no models, a second or two."""
        if problem := missing_password(settings):
            return CheckResult("serve", False, problem)
        async with aiohttp.ClientSession() as http:
            try:
                alive, detail = await is_alive(Lease(AriClient(settings.ari, http), settings.ari.app),
                                               settings.ari.heartbeat_s)
            except PbxError as exc:
                return CheckResult("serve", False, f"{exc}: check ari.url and that Asterisk runs")
        return CheckResult("serve", alive, detail)

    async def demo(self, sandbox: str, console: str = "") -> int:
        from warmline.ari_app.demo import (
            run_demo,  # the demo's callers and seed load only when asked for
        )

        return await run_demo(sandbox, console)

    async def check(self, settings: AsteriskSettings) -> list[CheckResult]:
        results: list[CheckResult] = []
        if problem := missing_password(settings):
            return [CheckResult("ari", False, problem)]
        async with aiohttp.ClientSession() as http:
            client = AriClient(settings.ari, http)
            ari = await _check_ari(client)
            results.append(ari)
            if ari.ok:
                results.append(await _check_stasis_app(client, http, settings))
            else:
                results.append(CheckResult("stasis-app", False, "skipped until the ari item passes"))
        if settings.ami.enabled:
            try:
                results.append(CheckResult("ami", True, await ami_login_check(settings.ami)))
            except AmiError as exc:
                results.append(CheckResult("ami", False, str(exc)))
        return results


def missing_password(settings: AsteriskSettings) -> str | None:
    """An empty password would only ever get 401s: say so once instead of retrying forever."""
    if not settings.ari.password.get_secret_value():
        return ("ari.password is empty: set it to the ari.conf password in [ari] or in the environment "
                "variable WARMLINE_ARI__PASSWORD")
    return None


async def _check_ari(client: AriClient) -> CheckResult:
    try:
        info = ari_object(await client.get("/asterisk/info"), "/asterisk/info", {"system": dict})
        ari_object(info.get("system") or {}, "/asterisk/info", {"version": str})
    except AriUnreachable:
        return CheckResult("ari", False, f"Asterisk unreachable at {client.base}: is it running? check ari.url")
    except AriError as exc:
        if exc.status == 401:
            return CheckResult("ari", False, f"ARI at {client.base} rejected user {client.settings.username!r}: "
                                             "check ari.username/ari.password against ari.conf")
        return CheckResult("ari", False, f"{exc}: check ari.url and that res_ari is loaded")
    version = (info.get("system") or {}).get("version", "unknown version")
    return CheckResult("ari", True, f"Asterisk {version} at {client.base}")


async def _check_stasis_app(client: AriClient, http: aiohttp.ClientSession, settings: AsteriskSettings) -> CheckResult:
    app = settings.ari.app
    if await client.get(f"/applications/{app}", missing_ok=True) is not None:
        return CheckResult("stasis-app", True, f"application {app!r} is registered (a Warmline is serving it)")
    try:
        async with http.ws_connect(client.events_url(), headers=auth_header(settings.ari)):
            registered = await client.get(f"/applications/{app}", missing_ok=True)
    except (aiohttp.ClientError, OSError) as exc:
        return CheckResult("stasis-app", False, f"could not open the ARI events websocket ({exc})")
    if registered is None:
        return CheckResult("stasis-app", False, f"application {app!r} did not register: check res_stasis and ari.app")
    return CheckResult("stasis-app", True, f"application {app!r} registers")
