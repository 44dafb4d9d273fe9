"""A fake Asterisk ARI that replays a recorded transcript (see transcript.py), on 127.0.0.1.

It speaks the ARI protocol as Asterisk 22 does, for what a Stasis app uses: REST under `/ari/`
(Basic auth, JSON bodies, 204 for empty answers, `{"message": ...}` errors), the events websocket
`/ari/events?app=...` (one JSON text message per event), and chan_websocket media sockets
`/media/<connection id>` (protocol "media": text control messages such as MEDIA_START, then
binary 20 ms slin16 frames). It knows nothing of Warmline: whatever the transcript says Asterisk
did, it does, when the transcript says it happened.

Replay is causal, not timed. A cursor walks the transcript in order: a recorded request is waited
for (the app under test must send it), a recorded response answers it, an event is pushed once
everything recorded before it has happened, and recorded gaps are kept, scaled by `speed` and
capped at `max_gap_s`, so an event still lands after what preceded it. Requests are matched by
method, path, query and JSON body; ids the app makes itself (12 hex digits first seen in one of
its requests: call, bridge, snoop, media, producer and playback ids) are learnt from their first
occurrence and substituted in every later event and response. A request sent out of the recorded
order is held until the cursor reaches it; if the cursor is stuck waiting for another request,
the held one is answered (with the events recorded around its answer) so that concurrent or
set-ordered requests do not deadlock. A request the transcript does not expect is answered 500
and fails the replay; so does an expected request that is never sent. Every wait is bounded.

Global variables (`/ari/asterisk/variable`, where `serve` keeps its lease on the app) are served
by the fake itself, as Asterisk keeps them: a value set is read back until changed. They are state
of the PBX, not a conversation to replay, so recorded exchanges on that path are left out.

Media is simulated: recorded frames are kept as run-lengths of voiced/silent (the proxy measured
each frame's level); replay sends seeded noise for voiced frames and zeros for silence, paced.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import WSMsgType, web

from .transcript import TOKEN, Transcript, describe

log = logging.getLogger(__name__)

GLOBALS_PATH = "/ari/asterisk/variable"

FRAME_S = 0.020
MERGE_GAP_FRAMES = 20  # silences under 400 ms inside speech are pauses between words
MIN_VOICED_FRAMES = 5  # blips under 100 ms are clicks, not speech
VOICED_AMPLITUDE = 4000
POLL_S = 0.02


class ReplayMismatch(AssertionError):
    """The app under test did not do what the recording says Warmline did."""


@dataclass
class Exchange:
    index: int
    request: dict[str, Any]
    arrived: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    answer: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    processed: bool = False  # the cursor (or an out-of-order block) has taken it
    arrived_at: float = 0.0


class FakeAri:
    def __init__(self, transcript: Transcript, *, speed: float = 50.0, media_speed: float = 100.0,
                 max_gap_s: float = 0.03, voice_margin_s: float = 0.02, wait_s: float = 5.0,
                 grace_s: float = 0.1) -> None:
        self.transcript = transcript
        lease = {e["id"] for e in transcript.entries if e["kind"] == "request" and e["path"] == GLOBALS_PATH}
        self.entries = [e for e in transcript.entries if e.get("id") not in lease or e["kind"] not in ("request", "response")]
        self.speed, self.max_gap_s, self.wait_s, self.grace_s = speed, max_gap_s, wait_s, grace_s
        self.media_speed, self.voice_margin_s = media_speed, voice_margin_s
        self._last_push = 0.0  # loop time of the last event pushed
        self.variable = transcript.variable_tokens()
        self.bindings: dict[str, str] = {}  # recorded token → the one the app made this run
        self.requests: list[dict[str, Any]] = []  # what the app sent, in arrival order, as sent
        self.unexpected: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.done = asyncio.Event()  # the cursor has replayed everything it originates
        self.consumed: set[int] = set()
        self._exchanges: dict[str, Exchange] = {}
        self._by_index: dict[int, Exchange] = {}
        self._events_ws: web.WebSocketResponse | None = None
        self._ws_attempt: asyncio.Queue[asyncio.Future] = asyncio.Queue()
        self._media_ws: dict[str, web.WebSocketResponse] = {}  # recorded conn → socket
        self._media_wanted: dict[str, asyncio.Future] = {}  # path → future of the socket
        self._voicing = _smoothed_voicing(self.entries)
        self._noise = np.random.default_rng(7)
        self._runner: web.AppRunner | None = None
        self._cursor: asyncio.Task | None = None
        self.url = ""
        self.globals: dict[str, str] = {}  # Asterisk's global variables, set and read by the app
        for i, entry in enumerate(self.entries):
            if entry["kind"] == "request":
                ex = Exchange(i, entry)
                self._exchanges[entry["id"]] = ex
                self._by_index[i] = ex

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        app.router.add_route("*", GLOBALS_PATH, self._global_variable)
        app.router.add_get("/media/{conn}", self._media)
        app.router.add_route("*", "/ari/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._cursor = asyncio.create_task(self._walk(), name="fake-ari-cursor")
        return self.url

    async def close(self) -> None:
        if self._cursor is not None:
            self._cursor.cancel()
            await asyncio.gather(self._cursor, return_exceptions=True)
        for ws in [self._events_ws, *self._media_ws.values()]:
            if ws is not None and not ws.closed:
                await asyncio.wait_for(ws.close(), 1)
        if self._runner is not None:
            await self._runner.cleanup()

    async def finished(self, timeout: float = 30.0) -> None:
        """Wait until the whole transcript has been replayed (or the replay failed)."""
        waiter = asyncio.create_task(self.done.wait(), name="fake-ari-done")
        try:
            await asyncio.wait({waiter, self._cursor}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not self.done.is_set() and not self.failures:
            self.failures.append(f"replay did not finish within {timeout} s; next: {self._next_pending()}")

    def assert_complete(self) -> None:
        """Raise with a readable diff unless every recorded request came and nothing else did."""
        unsent = [self.actual(describe(ex.request)) for ex in self._exchanges.values() if not ex.arrived.done()]
        if not (self.failures or self.unexpected or unsent):
            return
        lines = ["the replay diverged from the recording:"]
        lines += [f"  failure: {f}" for f in self.failures]
        for req in self.unexpected:
            lines.append(f"  unexpected request: {describe(req)}")
        lines += [f"  expected, never sent: {u}" for u in unsent[:12]]
        if len(unsent) > 12:
            lines.append(f"  ... and {len(unsent) - 12} more")
        lines.append("  last requests sent: " + "; ".join(describe(r) for r in self.requests[-6:]))
        raise ReplayMismatch("\n".join(lines))

    def actual(self, recorded: str) -> str:
        """A recorded string with the ids this run made substituted (e.g. a recorded path)."""
        return TOKEN.sub(lambda m: self.bindings.get(m.group(0), m.group(0)), recorded)

    # --- the cursor ------------------------------------------------------------------------------

    async def _walk(self) -> None:
        loop = asyncio.get_running_loop()
        last_done, prev_t = loop.time(), self.entries[0]["t"] if self.entries else 0.0
        try:
            for i, entry in enumerate(self.entries):
                if self._only_endings_left(i):
                    break
                if i in self.consumed:
                    continue
                kind = entry["kind"]
                if kind not in ("request", "ws_open", "ws_refused", "media_open", "note"):
                    gap = min(max(entry["t"] - prev_t, 0.0) / self.speed, self.max_gap_s)
                    await asyncio.sleep(max(0.0, last_done + gap - loop.time()))
                await self._step(i, entry)
                self.consumed.add(i)
                last_done, prev_t = loop.time(), entry["t"]
        except ReplayMismatch as exc:
            self.failures.append(str(exc))
            return
        self.done.set()

    def _only_endings_left(self, start: int) -> bool:
        """The app closing its sockets when the test stops it is not the replay's to wait for."""
        return all(i in self.consumed or e["kind"] in ("note",) or
                   (e["kind"] in ("ws_close", "media_close") and e.get("by") == "client")
                   for i, e in enumerate(self.entries[start:], start))

    async def _step(self, i: int, entry: dict[str, Any]) -> None:
        kind = entry["kind"]
        if kind == "request":
            await self._await_request(self._by_index[i])
        elif kind == "response":
            self._answer(entry)
        elif kind == "event":
            await self._push(entry)
        elif kind == "ws_open":
            attempt = await self._bounded(self._ws_attempt.get(), f"the events websocket to be opened ({describe(entry)})")
            attempt.set_result(True)
            await self._bounded(self._until(lambda: self._events_ws is not None), "the events websocket handshake")
        elif kind == "ws_refused":
            attempt = await self._bounded(self._ws_attempt.get(), "a reconnect attempt to refuse")
            attempt.set_result(entry.get("status", 503))
        elif kind == "ws_close":
            if entry.get("by") == "server" and self._events_ws is not None:
                ws, self._events_ws = self._events_ws, None
                await asyncio.wait_for(ws.close(), 2)
            elif entry.get("by") == "client":
                await self._bounded(self._until(lambda: self._events_ws is None), "the app to close the events websocket")
        elif kind == "media_open":
            future = self._media_wanted.setdefault(self.actual(entry["path"]),
                                                   asyncio.get_running_loop().create_future())
            ws = await self._bounded(asyncio.shield(future), f"the app to open media socket {entry['path']}")
            self._media_ws[entry["conn"]] = ws
        elif kind == "media_text" and entry.get("dir") == "in":
            if ws := self._live_media(entry["conn"]):
                await ws.send_str(self.actual(entry["text"]))
        elif kind == "media":
            await self._send_frames(entry)
        elif kind == "media_close" and entry.get("by") == "server":
            if ws := self._live_media(entry["conn"]):
                await asyncio.wait_for(ws.close(), 2)

    async def _await_request(self, ex: Exchange) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        while not ex.arrived.done():
            now = loop.time()
            held = sorted(e.index for e in self._exchanges.values() if e.arrived.done() and not e.processed
                          and e.index > ex.index and now - e.arrived_at >= self.grace_s)
            if held:  # the app waits on a request it sent in another order: answer that one first
                await self._block(self._by_index[held[0]])
                deadline = loop.time() + self.wait_s
                continue
            if now >= deadline:
                raise ReplayMismatch(f"expected request not sent within {self.wait_s} s: {self.actual(describe(ex.request))}")
            try:
                await asyncio.wait_for(asyncio.shield(ex.arrived), min(deadline - now, POLL_S))
            except TimeoutError:
                pass
        ex.processed = True

    async def _block(self, ex: Exchange) -> None:
        """Answer an out-of-order request with the events recorded between it and its answer."""
        ex.processed = True
        self.consumed.add(ex.index)
        answered = False
        for j in range(ex.index + 1, len(self.entries)):
            entry = self.entries[j]
            if j in self.consumed:
                continue
            if entry["kind"] == "response" and entry["id"] == ex.request["id"]:
                self._answer(entry)
                self.consumed.add(j)
                answered = True
            elif entry["kind"] == "event":
                await self._push(entry)
                self.consumed.add(j)
            elif answered:
                return

    def _answer(self, entry: dict[str, Any]) -> None:
        ex = self._exchanges[entry["id"]]
        if not ex.answer.done():
            ex.answer.set_result(entry)

    async def _push(self, entry: dict[str, Any]) -> None:
        if self._events_ws is None or self._events_ws.closed:
            raise ReplayMismatch(f"an event is due but the app has no events websocket open: {describe(entry)}")
        await self._events_ws.send_str(self.actual(json.dumps(entry["data"])))
        self._last_push = asyncio.get_running_loop().time()

    def _live_media(self, conn: str) -> web.WebSocketResponse | None:
        ws = self._media_ws.get(conn)
        return ws if ws is not None and not ws.closed else None

    async def _send_frames(self, entry: dict[str, Any]) -> None:
        ws = self._live_media(entry["conn"])
        if ws is None:
            return  # the app already closed it (as it does at hang-up): frames had nowhere to go
        loop = asyncio.get_running_loop()
        start, size, previous = loop.time(), entry.get("frame_bytes", 640), True
        for k, voiced in enumerate(self._voicing[id(entry)]):
            ahead = start + k * FRAME_S / self.media_speed - loop.time()
            if voiced and not previous:  # speech never lands on the heels of an event: the app reads both
                ahead = max(ahead, self._last_push + self.voice_margin_s - loop.time())
            if ahead > 0.001:
                await asyncio.sleep(ahead)
                start += max(0.0, loop.time() - (start + k * FRAME_S / self.media_speed))
            if ws.closed:
                return
            await ws.send_bytes(self._frame(voiced, size))
            previous = voiced

    def _frame(self, voiced: bool, size: int) -> bytes:
        if not voiced:
            return bytes(size)
        return (self._noise.standard_normal(size // 2) * VOICED_AMPLITUDE).clip(-32767, 32767).astype("<i2").tobytes()

    async def _bounded(self, awaitable, what: str):
        try:
            return await asyncio.wait_for(awaitable, self.wait_s)
        except TimeoutError:
            raise ReplayMismatch(f"waited {self.wait_s} s for {what}") from None

    @staticmethod
    async def _until(condition) -> None:
        while not condition():
            await asyncio.sleep(0.005)

    def _next_pending(self) -> str:
        for i, entry in enumerate(self.entries):
            if i not in self.consumed:
                return describe(entry)
        return "nothing"

    # --- the HTTP side -----------------------------------------------------------------------

    async def _events(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return web.json_response({"message": "Authentication required"}, status=401)
        attempt = asyncio.get_running_loop().create_future()
        await self._ws_attempt.put(attempt)
        try:
            verdict = await asyncio.wait_for(attempt, self.wait_s)
        except TimeoutError:
            verdict = 503  # the recording has no connection here
        if verdict is not True:
            return web.Response(status=verdict, text="Service Unavailable")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._events_ws = ws
        async for _ in ws:  # the app sends nothing but pings and the close
            pass
        if self._events_ws is ws:
            self._events_ws = None
        return ws

    async def _media(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=("media",), autoping=True)
        future = self._media_wanted.setdefault(request.path, asyncio.get_running_loop().create_future())
        await ws.prepare(request)
        if not future.done():
            future.set_result(ws)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                log.debug("media text from the app: %s", msg.data)
        return ws

    async def _global_variable(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return web.json_response({"message": "Authentication required"}, status=401)
        name = request.query.get("variable", "")
        if not name:
            return web.json_response({"message": "Variable name is required"}, status=400)
        if request.method == "POST":
            self.globals[name] = request.query.get("value", "")
            return web.Response(status=204)
        return web.json_response({"value": self.globals.get(name, "")})

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return web.json_response({"message": "Authentication required"}, status=401)
        raw = await request.read()
        sent = {"kind": "request", "method": request.method, "path": request.path,
                "query": dict(request.query), "body": json.loads(raw) if raw else None}
        self.requests.append(sent)
        ex = self._match(sent)
        if ex is None:
            self.unexpected.append(sent)
            return web.json_response({"message": "replay: the recording has no such request here"}, status=500)
        ex.arrived_at = asyncio.get_running_loop().time()
        ex.arrived.set_result(sent)
        try:
            entry = await asyncio.wait_for(asyncio.shield(ex.answer), self.wait_s * 2)
        except TimeoutError:
            self.failures.append(f"no answer was due for {describe(sent)} (the replay stalled before it)")
            return web.json_response({"message": "replay: stalled"}, status=500)
        if entry["body"] is None:
            return web.Response(status=entry["status"])
        return web.Response(status=entry["status"], content_type="application/json",
                            text=self.actual(json.dumps(entry["body"])))

    def _match(self, sent: dict[str, Any]) -> Exchange | None:
        actual = _canonical(sent)
        for ex in sorted(self._exchanges.values(), key=lambda e: e.index):
            if ex.arrived.done():
                continue
            found = self._pattern(ex.request).fullmatch(actual)
            if found:
                for name, value in found.groupdict().items():
                    self.bindings[name.removeprefix("t")] = value
                return ex
        return None

    def _pattern(self, recorded: dict[str, Any]) -> re.Pattern:
        text, parts, pos, named = _canonical(recorded), [], 0, set()
        for m in TOKEN.finditer(text):
            parts.append(re.escape(text[pos:m.start()]))
            token = m.group(0)
            if token not in self.variable:
                parts.append(token)
            elif token in self.bindings:
                parts.append(re.escape(self.bindings[token]))
            elif token in named:
                parts.append(f"(?P=t{token})")
            else:
                named.add(token)
                parts.append(f"(?P<t{token}>[0-9a-f]{{12}})")
            pos = m.end()
        parts.append(re.escape(text[pos:]))
        return re.compile("".join(parts), re.DOTALL)


def _canonical(request: dict[str, Any]) -> str:
    return json.dumps([request["method"], request["path"], sorted((request.get("query") or {}).items()),
                       request.get("body")], sort_keys=True)


def _smoothed_voicing(entries: list[dict[str, Any]]) -> dict[int, list[bool]]:
    """Per media entry, one voiced flag per frame: pauses inside speech filled, clicks dropped."""
    by_conn: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        if entry["kind"] == "media":
            by_conn.setdefault(entry["conn"], []).append(entry)
    out: dict[int, list[bool]] = {}
    for group in by_conn.values():
        flags = [bool(v) for e in group for n, v in e["runs"] for _ in range(n)]
        flags = _fill(flags, MERGE_GAP_FRAMES, value=False)  # short silences inside speech → speech
        flags = _fill(flags, MIN_VOICED_FRAMES, value=True)  # short blips of speech → silence
        pos = 0
        for e in group:
            n = sum(count for count, _ in e["runs"])
            out[id(e)] = flags[pos:pos + n]
            pos += n
    return out


def _fill(flags: list[bool], shorter_than: int, *, value: bool) -> list[bool]:
    """Runs of `value` shorter than `shorter_than` frames, with the opposite on both sides, flipped."""
    out = list(flags)
    i = 0
    while i < len(out):
        if out[i] != value:
            i += 1
            continue
        j = i
        while j < len(out) and out[j] == value:
            j += 1
        if j - i < shorter_than and i > 0 and j < len(out):
            out[i:j] = [not value] * (j - i)
        i = j
    return out
