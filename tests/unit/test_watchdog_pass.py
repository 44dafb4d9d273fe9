"""A watchdog pass against an Asterisk where the Stasis app is not registered (serve stopped
cleanly, or never ran since Asterisk started): nothing to settle, and no error."""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web
from warmline.ari_app.client import AriClient
from warmline.ari_app.settings import AsteriskSettings
from warmline.ari_app.watchdog import Guard


async def test_an_unregistered_app_is_a_quiet_pass(caplog):
    asked: list[str] = []

    async def ari(request: web.Request) -> web.Response:
        asked.append(f"{request.method} {request.path}")
        if request.path == "/ari/bridges":
            return web.json_response([])
        return web.json_response({"message": "Application not found"}, status=404)

    server = web.Application()
    server.router.add_route("*", "/{tail:.*}", ari)
    runner = web.AppRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    settings = AsteriskSettings(ari={"url": f"http://127.0.0.1:{port}", "username": "u", "password": "p"})
    try:
        async with aiohttp.ClientSession() as http:
            with caplog.at_level(logging.WARNING):
                await Guard(settings).step(AriClient(settings.ari, http), serve_alive=False)
    finally:
        await runner.cleanup()
    assert asked == ["GET /ari/applications/warmline", "GET /ari/bridges"]
    assert not [r for r in caplog.records if "failed" in r.getMessage()]
