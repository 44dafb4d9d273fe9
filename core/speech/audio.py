"""Audio that always says its format.

Nothing past the PBX edge handles bare bytes: every chunk carries its rate, sample width and
channel count (the Wyoming rule). Converters live here and are used only at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from warmline.errors import AudioFormatError


@dataclass(frozen=True, slots=True)
class AudioFormat:
    rate: int  # samples per second
    width: int  # bytes per sample
    channels: int = 1

    @property
    def bytes_per_second(self) -> int:
        return self.rate * self.width * self.channels

    def bytes_for(self, seconds: float) -> int:
        return int(round(seconds * self.rate)) * self.width * self.channels

    def __str__(self) -> str:
        return f"{self.rate} Hz/{self.width * 8}-bit/{self.channels}ch"


SLIN8 = AudioFormat(rate=8000, width=2)
SLIN16 = AudioFormat(rate=16000, width=2)

FRAME_MS = 20  # what Asterisk sends and paces: one 20 ms frame per packet or message


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Little-endian signed PCM in a stated format."""

    format: AudioFormat
    data: bytes

    def __post_init__(self) -> None:
        frame_bytes = self.format.width * self.format.channels
        if len(self.data) % frame_bytes:
            raise AudioFormatError(
                f"{len(self.data)} bytes is not a whole number of {self.format} samples"
            )

    @property
    def seconds(self) -> float:
        return len(self.data) / self.format.bytes_per_second

    @property
    def samples(self) -> np.ndarray:
        """int16 samples (mono formats only)."""
        if self.format.width != 2:
            raise AudioFormatError(f"samples() wants 16-bit audio, got {self.format}")
        return np.frombuffer(self.data, dtype="<i2")

    @classmethod
    def from_big_endian_l16(cls, payload: bytes, fmt: AudioFormat) -> "AudioChunk":
        """RTP's L16 is network byte order (RFC 3551); Warmline works little-endian."""
        if len(payload) % 2:
            raise AudioFormatError(f"L16 payload of odd length {len(payload)}")
        return cls(fmt, np.frombuffer(payload, dtype=">i2").astype("<i2").tobytes())

    def to_big_endian_l16(self) -> bytes:
        return self.samples.astype(">i2").tobytes()


def rms_dbfs(chunk: AudioChunk) -> float:
    """Loudness of a 16-bit chunk in dBFS (-inf for digital silence)."""
    samples = chunk.samples.astype(np.float64)
    if samples.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(samples * samples)))
    return 20 * np.log10(rms / 32768.0) if rms > 0 else float("-inf")
