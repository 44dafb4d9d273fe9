"""A recording reverse proxy for ARI, and the command that records the replay fixtures.

    python -m tests.replay.recorder --sandbox replay --out tests/replay/fixtures/contained.jsonl -- contained
    python -m tests.replay.recorder --sandbox replay --all        # every scenario into fixtures/

The proxy listens on 127.0.0.1 and forwards to the sandbox's ARI everything a Stasis app uses:
REST under /ari/, the /ari/events websocket and chan_websocket media sockets /media/<id>. It writes
what passed, in the order it passed, as a transcript (transcript.py): requests and responses, each
event, media control messages and the caller's audio as run-lengths of voiced/silent 20 ms frames
(levels only: no audio is stored). Warmline itself runs in this process, the real stack (Whisper,
Silero), pointed at the proxy; the scenario driver talks to the sandbox directly, so its own
requests (placing calls, speaking as the caller) are not in the transcript, only noted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiohttp import WSMsgType, web

from .transcript import Transcript

log = logging.getLogger(__name__)

VOICED_RMS = 200.0  # int16 RMS (about -44 dBFS): the sandbox's silence is digital zero
MAX_FRAMES_PER_ENTRY = 50
FIXTURES = Path(__file__).parent / "fixtures"


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.ws_upstream = "ws" + self.upstream.removeprefix("http")
        self.entries: list[dict[str, Any]] = []
        self.blocked = False  # refuse new events websockets (an outage, as Warmline sees it)
        self._t0 = time.monotonic()
        self._ids = 0
        self._conns = 0
        self._events: list[tuple[web.WebSocketResponse, aiohttp.ClientWebSocketResponse, str]] = []
        self._dropping: set[str] = set()
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    def _log(self, kind: str, **fields: Any) -> dict[str, Any]:
        entry = {"t": round(time.monotonic() - self._t0, 4), "kind": kind, **fields}
        self.entries.append(entry)
        return entry

    def note(self, text: str) -> None:
        self._log("note", text=text)

    async def start(self) -> str:
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_get("/ari/events", self._events_ws)
        app.router.add_get("/media/{conn}", self._media_ws)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def drop_events(self) -> None:
        """Cut the events websocket (both sides), as a network failure would."""
        for client, upstream, conn in list(self._events):
            self._dropping.add(conn)
            await upstream.close()
            await client.close()

    # --- REST ----------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        raw = await request.read()
        self._ids += 1
        rid = str(self._ids)
        body = json.loads(raw) if raw else None
        self._log("request", id=rid, method=request.method, path=request.path, query=dict(request.query), body=body)
        headers = {k: v for k, v in request.headers.items() if k in ("Authorization", "Content-Type")}
        async with self._http.request(request.method, self.upstream + request.path_qs, data=raw or None,
                                      headers=headers) as resp:
            data = await resp.read()
            answer = json.loads(data) if data else None
            self._log("response", id=rid, status=resp.status, body=answer)
            return web.Response(status=resp.status, body=data or None,
                                content_type=resp.content_type if data else None)

    # --- the events websocket ------------------------------------------------------------------

    async def _events_ws(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        if self.blocked:
            self._log("ws_refused", status=503)
            return web.Response(status=503, text="Service Unavailable")
        headers = {"Authorization": request.headers.get("Authorization", "")}
        upstream = await self._http.ws_connect(f"{self.ws_upstream}{request.path_qs}", headers=headers)
        self._conns += 1
        conn = f"events-{self._conns}"
        client = web.WebSocketResponse()
        await client.prepare(request)
        self._log("ws_open", conn=conn, query=dict(request.query))
        self._events.append((client, upstream, conn))
        closed_by = await _pipe(client, upstream, on_upstream=lambda m: self._log(
            "event", conn=conn, data=json.loads(m.data)))
        self._events = [e for e in self._events if e[2] != conn]
        by = "server" if conn in self._dropping else closed_by
        self._log("ws_close", conn=conn, by=by)
        return client

    # --- media ------------------------------------------------------------------------------------

    async def _media_ws(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        conn = request.match_info["conn"]
        headers = {"Authorization": request.headers.get("Authorization", "")}
        upstream = await self._http.ws_connect(f"{self.ws_upstream}{request.path_qs}", headers=headers,
                                               protocols=("media",))
        client = web.WebSocketResponse(protocols=("media",))
        await client.prepare(request)
        self._log("media_open", conn=conn, path=request.path)

        def from_asterisk(msg: aiohttp.WSMessage) -> None:
            if msg.type == WSMsgType.TEXT:
                self._log("media_text", conn=conn, dir="in", text=msg.data)
            elif msg.type == WSMsgType.BINARY:
                self._frame(conn, msg.data)

        def from_warmline(msg: aiohttp.WSMessage) -> None:
            if msg.type == WSMsgType.TEXT:
                self._log("media_text", conn=conn, dir="out", text=msg.data)

        closed_by = await _pipe(client, upstream, on_upstream=from_asterisk, on_client=from_warmline)
        self._log("media_close", conn=conn, by=closed_by)
        return client

    def _frame(self, conn: str, data: bytes) -> None:
        samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float64)
        voiced = int(bool(len(samples)) and float(np.sqrt(np.mean(samples ** 2))) > VOICED_RMS)
        last = self.entries[-1] if self.entries else None
        if (last is not None and last["kind"] == "media" and last["conn"] == conn
                and last["frame_bytes"] == len(data) and sum(n for n, _ in last["runs"]) < MAX_FRAMES_PER_ENTRY):
            if last["runs"][-1][1] == voiced:
                last["runs"][-1][0] += 1
            else:
                last["runs"].append([1, voiced])
        else:
            self._log("media", conn=conn, frame_bytes=len(data), runs=[[1, voiced]])


async def _pipe(client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse, *,
                on_upstream=None, on_client=None) -> str:
    """Forward both ways until one side closes; returns who closed first ("server" = Asterisk)."""

    async def down() -> str:
        async for msg in upstream:
            if on_upstream:
                on_upstream(msg)
            if msg.type == WSMsgType.TEXT:
                await client.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await client.send_bytes(msg.data)
        return "server"

    async def up() -> str:
        async for msg in client:
            if on_client:
                on_client(msg)
            if msg.type == WSMsgType.TEXT:
                await upstream.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await upstream.send_bytes(msg.data)
        return "client"

    tasks = {asyncio.create_task(down(), name="proxy-down"), asyncio.create_task(up(), name="proxy-up")}
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    first = next(iter(done))
    by = first.result() if not first.exception() else "server"
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for ws in (client, upstream):
        if not ws.closed:
            await asyncio.wait_for(ws.close(), 2)
    return by


# --- the command -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from .scenarios import SCENARIOS, record

    parser = argparse.ArgumentParser(prog="python -m tests.replay.recorder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", required=True, help="name of a running sandbox (scripts/asterisk-sandbox up --name NAME)")
    parser.add_argument("--out", type=Path, help="transcript to write (one scenario)")
    parser.add_argument("--all", action="store_true", help="record every scenario into tests/replay/fixtures/")
    parser.add_argument("scenario", nargs="*", help=f"one of: {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if args.all else args.scenario
    if not names or any(n not in SCENARIOS for n in names) or (args.out and len(names) != 1):
        parser.error(f"name one scenario with --out, or use --all; scenarios: {', '.join(SCENARIOS)}")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    for name in names:
        out = args.out or FIXTURES / f"{name}.jsonl"
        transcript: Transcript = asyncio.run(record(args.sandbox, name))
        transcript.save(out)
        print(f"{name}: {len(transcript.entries)} entries → {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
