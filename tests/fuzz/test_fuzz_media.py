"""Media off the PBX, past the packet parser: RTP datagrams and chan_websocket frames as the media
legs receive them. A bad packet or frame is skipped and counted; the call's audio goes on."""

import asyncio
from types import SimpleNamespace

import aiohttp
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.ari_app.media import RtpLeg, WebSocketLeg

from tests.fuzz.test_fuzz_rtp import rtp_like


@given(st.lists(rtp_like() | st.binary(max_size=40), max_size=8))
@example([bytes([0x80, 0, 0, 1]) + bytes(8) + b"\x01"])  # odd L16 payload
def test_rtp_datagrams(datagrams):
    async def run():
        leg = RtpLeg(SimpleNamespace(), "wl-abc-media", "127.0.0.1")
        for datagram in datagrams:
            leg.received(datagram, ("127.0.0.1", 4000))  # the socket's callback: nothing may escape
        assert leg.bad_packets <= len(datagrams)

    asyncio.run(run())


frames = st.one_of(
    st.builds(lambda data: SimpleNamespace(type=aiohttp.WSMsgType.BINARY, data=data), st.binary(max_size=64)),
    st.builds(lambda text: SimpleNamespace(type=aiohttp.WSMsgType.TEXT, data=text),
              st.sampled_from(["MEDIA_START connection_id:x format:slin16 optimal_frame_size:640",
                               "MEDIA_START format:ulaw", "MEDIA_START", "MEDIA_XOFF", "", " ", ":::"])
              | st.text(max_size=40)),
)


class FakeSocket:
    def __init__(self, messages) -> None:
        self.messages = messages

    def __aiter__(self):
        return self._each()

    async def _each(self):
        for message in self.messages:
            yield message


@given(st.lists(frames, max_size=8))
@example([SimpleNamespace(type=aiohttp.WSMsgType.BINARY, data=b"\x01")])  # odd frame: AudioFormatError ended the reader
def test_websocket_frames(messages):
    async def run():
        leg = WebSocketLeg(SimpleNamespace(), "wl-abc-media")
        leg._ws = FakeSocket(messages)
        await leg._read()  # the reader task: an exception here would end the call's audio
        binary = [m for m in messages if m.type == aiohttp.WSMsgType.BINARY]
        got = []
        async for chunk in leg.chunks():
            got.append(chunk)
        assert len(got) + leg.dropped + leg.bad_frames == len(binary)

    asyncio.run(run())
