"""Edge converters: G.711 (μ-law, A-law) and sample-rate changes, chunk in, chunk out.

Resampling uses libsoxr (python-soxr), a well-kept high-quality resampler, never a
hand-written filter. G.711 is a fixed table lookup (ITU-T G.711), built once with numpy.
"""

from __future__ import annotations

import numpy as np
import soxr
from warmline.errors import AudioFormatError
from warmline.speech.audio import AudioChunk, AudioFormat


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(sign, magnitude, -magnitude).astype(np.int16)


ULAW_TO_LINEAR = _ulaw_table()
ALAW_TO_LINEAR = _alaw_table()


def _segment(values: np.ndarray, ends: list[int]) -> np.ndarray:
    return np.searchsorted(np.array(ends), values, side="left")


def _linear_to_ulaw() -> np.ndarray:
    """ITU-T G.711 μ-law encoder over every 16-bit value (the classic Sun reference algorithm)."""
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    pcm = np.minimum(np.abs(pcm), 8159) + (0x84 >> 2)
    seg = _segment(pcm, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    code = np.where(seg >= 8, 0x7F, (seg << 4) | ((pcm >> (np.minimum(seg, 7) + 1)) & 0x0F))
    return (code ^ mask).astype(np.uint8)


def _linear_to_alaw() -> np.ndarray:
    """ITU-T G.711 A-law encoder over every 16-bit value (the classic Sun reference algorithm)."""
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    pcm = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = _segment(pcm, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    low = np.where(seg < 2, (pcm >> 1) & 0x0F, (pcm >> np.clip(seg, 0, 7)) & 0x0F)
    code = np.where(seg >= 8, 0x7F, (seg << 4) | low)
    return (code ^ mask).astype(np.uint8)


_LINEAR_TO_ULAW = _linear_to_ulaw()
_LINEAR_TO_ALAW = _linear_to_alaw()


def decode_g711(payload: bytes, law: str, rate: int = 8000) -> AudioChunk:
    table = {"ulaw": ULAW_TO_LINEAR, "alaw": ALAW_TO_LINEAR}.get(law)
    if table is None:
        raise AudioFormatError(f"unknown G.711 law {law!r}: use 'ulaw' or 'alaw'")
    codes = np.frombuffer(payload, dtype=np.uint8)
    return AudioChunk(AudioFormat(rate, 2), table[codes].astype("<i2").tobytes())


def encode_g711(chunk: AudioChunk, law: str) -> bytes:
    table = {"ulaw": _LINEAR_TO_ULAW, "alaw": _LINEAR_TO_ALAW}.get(law)
    if table is None:
        raise AudioFormatError(f"unknown G.711 law {law!r}: use 'ulaw' or 'alaw'")
    return table[chunk.samples.astype(np.int32) + 32768].tobytes()


class Resampler:
    """Streaming resampler for one direction of one call (keeps filter state between chunks)."""

    def __init__(self, source: AudioFormat, target_rate: int) -> None:
        if source.width != 2 or source.channels != 1:
            raise AudioFormatError(f"resampling wants 16-bit mono, got {source}")
        self.source = source
        self.target = AudioFormat(target_rate, 2)
        self._stream = (
            None if source.rate == target_rate
            else soxr.ResampleStream(source.rate, target_rate, 1, dtype="int16", quality="HQ")
        )

    def __call__(self, chunk: AudioChunk, last: bool = False) -> AudioChunk:
        if chunk.format != self.source:
            raise AudioFormatError(f"resampler for {self.source} was given {chunk.format}")
        if self._stream is None:
            return chunk
        out = self._stream.resample_chunk(chunk.samples, last=last)
        return AudioChunk(self.target, np.ascontiguousarray(out, dtype="<i2").tobytes())
