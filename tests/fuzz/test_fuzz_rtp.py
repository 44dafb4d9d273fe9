"""RTP datagrams off the network: a packet, or RtpError (an AudioFormatError) in one line."""

import struct

from hypothesis import example, given
from hypothesis import strategies as st
from warmline.errors import AudioFormatError
from warmline.speech.rtp import RtpError, RtpPacket

from tests.fuzz.clean import assert_clean


def parse_or_clean_error(datagram: bytes) -> RtpPacket | None:
    try:
        packet = RtpPacket.parse(datagram)
    except RtpError as exc:
        assert_clean(exc, AudioFormatError)
        return None
    assert 0 <= packet.payload_type <= 127
    assert 0 <= packet.sequence <= 0xFFFF and 0 <= packet.timestamp <= 0xFFFFFFFF
    assert len(packet.payload) <= len(datagram) - 12
    return packet


@given(st.binary(max_size=200))
@example(b"")  # was a bare ValueError subclass, not the media stage's AudioFormatError
def test_arbitrary_bytes(datagram):
    parse_or_clean_error(datagram)


@st.composite
def rtp_like(draw):
    """A well-formed fixed header with every flag, count and length drawn at random."""
    first = (2 << 6) | draw(st.integers(0, 0x3F))  # version 2; padding, extension, CSRC count random
    header = struct.pack("!BBHII", first, draw(st.integers(0, 255)), draw(st.integers(0, 0xFFFF)),
                         draw(st.integers(0, 0xFFFFFFFF)), draw(st.integers(0, 0xFFFFFFFF)))
    csrcs = draw(st.binary(max_size=4 * 15))
    extension = b""
    if first & 0x10 and draw(st.booleans()):
        extension = struct.pack("!HH", draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF)))
    body = draw(st.binary(max_size=160))
    padding = bytes([draw(st.integers(0, 255))]) if first & 0x20 and draw(st.booleans()) else b""
    return header + csrcs + extension + body + padding


@given(rtp_like())
@example(bytes([0xA0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]) + b"\x01\x02\x00")  # padding count 0
def test_valid_headers_with_random_flags_and_payload(datagram):
    packet = parse_or_clean_error(datagram)
    if packet is not None and datagram[0] & 0x20:  # RFC 3550: the count includes itself
        assert len(packet.payload) < len(datagram) - 12


@given(st.binary(max_size=160), st.integers(0, 127), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF),
       st.integers(0, 0xFFFFFFFF), st.booleans())
def test_what_we_build_parses_back(payload, payload_type, sequence, timestamp, ssrc, marker):
    packet = RtpPacket(payload_type, sequence, timestamp, ssrc, payload, marker)
    assert RtpPacket.parse(packet.build()) == packet
