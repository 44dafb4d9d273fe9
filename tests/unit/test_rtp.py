import struct

import pytest
from warmline.speech.rtp import RtpError, RtpPacket, SequenceTracker


def header(first=0x80, second=118, seq=1, ts=160, ssrc=0xDEADBEEF):
    return struct.pack("!BBHII", first, second, seq, ts, ssrc)


PAYLOAD = bytes(range(16))


@pytest.mark.parametrize(
    ("datagram", "payload", "marker"),
    [
        (header() + PAYLOAD, PAYLOAD, False),
        (header(second=0x80 | 118) + PAYLOAD, PAYLOAD, True),
        (header(first=0x82) + b"\x00\x00\x00\x01" * 2 + PAYLOAD, PAYLOAD, False),  # two CSRCs
        (header(first=0x90) + b"\xbe\xde\x00\x01" + b"\x01\x02\x03\x04" + PAYLOAD, PAYLOAD, False),  # extension
        (header(first=0xA0) + PAYLOAD + b"\x00\x00\x03", PAYLOAD, False),  # 3 bytes padding
    ],
    ids=["plain", "marker", "csrc", "extension", "padding"],
)
def test_parse_finds_the_payload(datagram, payload, marker):
    packet = RtpPacket.parse(datagram)
    assert packet.payload == payload
    assert packet.marker is marker
    assert (packet.sequence, packet.timestamp, packet.ssrc, packet.payload_type) == (1, 160, 0xDEADBEEF, 118)


@pytest.mark.parametrize(
    ("datagram", "problem"),
    [
        (b"\x80\x76\x00", "shorter than an RTP header"),
        (header(first=0x40) + PAYLOAD, "version 1"),
        (header(first=0x90) + b"\xbe\xde", "truncated RTP header extension"),
        (header(first=0x90) + b"\xbe\xde\x00\x09", "longer than the datagram"),
        (header(first=0xA0) + b"\x00\x40", "longer than the datagram"),
    ],
    ids=["short", "version", "ext-truncated", "ext-too-long", "padding-too-long"],
)
def test_broken_packets_raise_rtp_error(datagram, problem):
    with pytest.raises(RtpError, match=problem):
        RtpPacket.parse(datagram)


def test_build_then_parse_round_trips():
    packet = RtpPacket(payload_type=118, sequence=65535, timestamp=2**32 - 1, ssrc=7, payload=PAYLOAD, marker=True)
    assert RtpPacket.parse(packet.build()) == packet


@pytest.mark.parametrize(
    ("sequences", "played", "lost", "duplicates", "late"),
    [
        ([1, 2, 3, 4], [1, 2, 3, 4], 0, 0, 0),
        ([1, 2, 5], [1, 2, 5], 2, 0, 0),
        ([1, 2, 2, 3], [1, 2, 3], 0, 1, 0),
        ([1, 3, 2, 4], [1, 3, 4], 0, 0, 1),
        ([65534, 65535, 0, 1], [65534, 65535, 0, 1], 0, 0, 0),  # wrap-around
        ([65535, 1, 0], [65535, 1], 0, 0, 1),  # late across the wrap
    ],
    ids=["in-order", "gap", "duplicate", "reordered", "wrap", "late-across-wrap"],
)
def test_sequence_tracker(sequences, played, lost, duplicates, late):
    tracker = SequenceTracker()
    accepted = [s for s in sequences if tracker.accept(s)]
    assert accepted == played
    assert (tracker.lost, tracker.duplicates, tracker.late) == (lost, duplicates, late)
