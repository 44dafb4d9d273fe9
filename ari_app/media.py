"""externalMedia legs: how the caller's audio gets from Asterisk into the engine.

Both legs create an externalMedia channel in the Stasis app, yield 20 ms slin16 AudioChunks
(little-endian, format stated) and close cleanly. Asterisk sends 16 kHz because we ask for
slin16 and transcodes from whatever the caller's codec is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import aiohttp
from warmline.ari_app.client import AriClient, ari_object
from warmline.errors import AudioFormatError
from warmline.speech.audio import SLIN16, AudioChunk
from warmline.speech.rtp import RtpError, RtpPacket, SequenceTracker

log = logging.getLogger(__name__)

QUEUE_FRAMES = 500  # 10 s of 20 ms frames: far beyond any healthy consumer lag
_END = None


class MediaLeg(Protocol):
    transport: str
    channel_id: str
    dropped: int

    async def open(self) -> None: ...
    def chunks(self) -> AsyncIterator[AudioChunk]: ...
    async def close(self) -> None: ...


WS_CLOSE_TIMEOUT_S = 0.3


class _QueuedLeg:
    """Shared plumbing: a bounded queue of chunks that ends with a sentinel."""

    def __init__(self, client: AriClient, channel_id: str) -> None:
        self.client = client
        self.channel_id = channel_id
        self.dropped = 0
        self._queue: asyncio.Queue[AudioChunk | None] = asyncio.Queue(QUEUE_FRAMES)
        self._ended = False
        self.closed = False

    def _put(self, chunk: AudioChunk) -> None:
        if self._ended:
            return
        if self._queue.full():  # never block the socket reader: drop the oldest frame
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(chunk)

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(_END)

    async def chunks(self) -> AsyncIterator[AudioChunk]:
        while (chunk := await self._queue.get()) is not _END:
            yield chunk

    async def _create(self, **params: str) -> dict:
        return await self.client.post(
            "/channels/externalMedia",
            params={"app": self.client.settings.app, "channelId": self.channel_id, "format": "slin16", **params},
        )

    async def _hangup(self) -> None:
        try:
            await self.client.delete(f"/channels/{self.channel_id}", missing_ok=True)
        except Exception as exc:  # the PBX may already be gone; nothing is left to clean then
            log.debug("media channel hangup: %s", exc)


class WebSocketLeg(_QueuedLeg):
    """chan_websocket in server mode: Asterisk serves /media/<id>, we connect to it."""

    transport = "websocket"

    def __init__(self, client: AriClient, channel_id: str) -> None:
        super().__init__(client, channel_id)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self.started = asyncio.Event()
        self.bad_frames = 0

    async def open(self) -> None:
        created = await self._create(
            transport="websocket", encapsulation="none", connection_type="server", external_host="INCOMING"
        )
        path = "/channels/externalMedia"
        variables = ari_object(created, path, {"channelvars": dict}, method="POST").get("channelvars") or {}
        connection_id = ari_object(variables, path, {"MEDIA_WEBSOCKET_CONNECTION_ID": str},
                                   method="POST").get("MEDIA_WEBSOCKET_CONNECTION_ID")
        if not connection_id:
            raise AudioFormatError("externalMedia returned no MEDIA_WEBSOCKET_CONNECTION_ID (is chan_websocket loaded?)")
        self._ws = await self.client.http.ws_connect(
            self.client.media_url(connection_id), protocols=("media",), headers=self.client.headers, heartbeat=10
        )
        self._reader = asyncio.create_task(self._read(), name=f"media-ws-{self.channel_id}")

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    self._frame(msg.data)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    self._control(msg.data)
                elif msg.type == aiohttp.WSMsgType.ERROR:
                    log.warning("media websocket error: %s", self._ws.exception())
                    break
        finally:
            self._end()

    def _frame(self, data: bytes) -> None:
        try:
            self._put(AudioChunk(SLIN16, data))
        except AudioFormatError as exc:  # half a sample: skip the frame, not the rest of the call
            self.bad_frames += 1
            if self.bad_frames == 1:
                log.warning("ignoring a malformed media frame: %s", exc)

    def _control(self, text: str) -> None:
        command = text.split(" ", 1)[0]
        if command == "MEDIA_START":
            fields = dict(part.split(":", 1) for part in text.split()[1:] if ":" in part)
            if fields.get("format", "slin16") != "slin16":
                log.error("media websocket negotiated %s, expected slin16", fields.get("format"))
            self.started.set()
        log.debug("media control: %s", command)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._ws is not None and not self._ws.closed:
            try:  # Asterisk does not always answer the close frame; hanging up the channel ends it anyway
                await asyncio.wait_for(self._ws.close(), WS_CLOSE_TIMEOUT_S)
            except TimeoutError:
                log.debug("media websocket close not acknowledged; hanging up its channel")
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._end()
        await self._hangup()


class _RtpReceiver(asyncio.DatagramProtocol):
    def __init__(self, leg: "RtpLeg") -> None:
        self.leg = leg

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.leg.received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc)


class RtpLeg(_QueuedLeg):
    """RTP externalMedia: Asterisk sends RTP (L16, big-endian) to a UDP port we bind."""

    transport = "rtp"

    def __init__(self, client: AriClient, channel_id: str, bind_host: str) -> None:
        super().__init__(client, channel_id)
        self.bind_host = bind_host
        self.peer: tuple | None = None  # strictrtp: we answer from/to where Asterisk sends
        self.sequence = SequenceTracker()
        self.bad_packets = 0
        self._transport: asyncio.DatagramTransport | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _RtpReceiver(self), local_addr=(self.bind_host, 0)
        )
        host, port = self._transport.get_extra_info("sockname")[:2]
        await self._create(transport="udp", encapsulation="rtp", external_host=f"{host}:{port}")

    def received(self, datagram: bytes, addr: tuple) -> None:
        try:
            packet = RtpPacket.parse(datagram)
            if self.sequence.accept(packet.sequence):
                self.peer = addr
                self._put(AudioChunk.from_big_endian_l16(packet.payload, SLIN16))
        except (RtpError, AudioFormatError) as exc:
            self.bad_packets += 1
            if self.bad_packets == 1:
                log.warning("ignoring a malformed RTP packet: %s", exc)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._transport is not None:
            self._transport.close()
        self._end()
        await self._hangup()


def make_leg(transport: str, client: AriClient, channel_id: str, rtp_bind_host: str) -> MediaLeg:
    if transport == "rtp":
        return RtpLeg(client, channel_id, rtp_bind_host)
    return WebSocketLeg(client, channel_id)
