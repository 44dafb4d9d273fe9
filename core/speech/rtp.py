"""RTP framing (RFC 3550), sans-IO: bytes in, packets out; no sockets, no clock."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from warmline.errors import AudioFormatError

_HEADER = struct.Struct("!BBHII")


class RtpError(AudioFormatError):
    """A datagram that is not a usable RTP packet (the media stage's error type)."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    @classmethod
    def parse(cls, datagram: bytes) -> "RtpPacket":
        if len(datagram) < _HEADER.size:
            raise RtpError(f"datagram of {len(datagram)} bytes is shorter than an RTP header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(datagram)
        if first >> 6 != 2:
            raise RtpError(f"RTP version {first >> 6}, expected 2")
        offset = _HEADER.size + 4 * (first & 0x0F)  # CSRC list
        if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
            if len(datagram) < offset + 4:
                raise RtpError("truncated RTP header extension")
            (words,) = struct.unpack_from("!H", datagram, offset + 2)
            offset += 4 + 4 * words
        end = len(datagram)
        if first & 0x20:  # padding: the last byte counts the padding bytes, itself included
            if datagram[-1] == 0:
                raise RtpError("RTP padding flag set with a padding count of 0 (the count includes itself)")
            end -= datagram[-1]
        if offset > end:
            raise RtpError("RTP header, extension or padding longer than the datagram")
        return cls(second & 0x7F, sequence, timestamp, ssrc, datagram[offset:end], bool(second & 0x80))

    def build(self) -> bytes:
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        return _HEADER.pack(0x80, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc) + self.payload


class SequenceTracker:
    """Counts lost, duplicate and late packets from 16-bit sequence numbers (with wrap-around)."""

    def __init__(self) -> None:
        self.highest: int | None = None  # extended sequence number
        self.received = 0
        self.lost = 0
        self.duplicates = 0
        self.late = 0
        self._seen: set[int] = set()

    def accept(self, sequence: int) -> bool:
        """True if the packet is new and in order (play it); False if duplicate or late."""
        if self.highest is None:
            self.highest = sequence
            self._remember(sequence)
            self.received += 1
            return True
        extended = self._extend(sequence)
        if extended in self._seen:
            self.duplicates += 1
            return False
        self._remember(extended)
        self.received += 1
        if extended < self.highest:
            self.late += 1
            self.lost = max(0, self.lost - 1)  # it was counted lost when the gap opened
            return False
        self.lost += extended - self.highest - 1
        self.highest = extended
        return True

    def _extend(self, sequence: int) -> int:
        assert self.highest is not None
        base = self.highest & ~0xFFFF
        candidates = (base - 0x10000 + sequence, base + sequence, base + 0x10000 + sequence)
        return min(candidates, key=lambda c: abs(c - self.highest))

    def _remember(self, extended: int) -> None:
        self._seen.add(extended)
        if len(self._seen) > 512:
            floor = (self.highest or extended) - 256
            self._seen = {s for s in self._seen if s >= floor}
