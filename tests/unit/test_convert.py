import numpy as np
import pytest
from warmline.errors import AudioFormatError
from warmline.speech.audio import SLIN8, SLIN16, AudioChunk
from warmline.speech.convert import Resampler, decode_g711, encode_g711


@pytest.mark.parametrize(
    ("law", "code", "linear"),
    [("ulaw", 0xFF, 0), ("ulaw", 0x7F, 0), ("ulaw", 0x80, 32124), ("ulaw", 0x00, -32124),
     ("alaw", 0xD5, 8), ("alaw", 0x55, -8), ("alaw", 0xAA, 32256), ("alaw", 0x2A, -32256)],
)
def test_g711_decode_reference_points(law, code, linear):
    assert decode_g711(bytes([code]), law).samples[0] == linear


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_g711_round_trip_keeps_codes_and_error_is_small(law):
    codes = bytes(range(256))
    decoded = decode_g711(codes, law)
    assert decode_g711(encode_g711(decoded, law), law).data == decoded.data  # decode∘encode is identity on codes
    ramp = AudioChunk(SLIN8, np.linspace(-30000, 30000, 800).astype("<i2").tobytes())
    error = np.abs(decode_g711(encode_g711(ramp, law), law).samples.astype(int) - ramp.samples.astype(int))
    assert error.max() <= 0.04 * 30000  # companding: error grows with amplitude, bounded


def test_unknown_law_is_named():
    with pytest.raises(AudioFormatError, match="'mulaw'"):
        decode_g711(b"\x00", "mulaw")


def test_resampler_doubles_the_rate_and_keeps_a_tone():
    t = np.arange(8000) / 8000
    tone = (10000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    resample = Resampler(SLIN8, 16000)
    parts = [resample(AudioChunk(SLIN8, tone[i:i + 160].tobytes())) for i in range(0, 8000, 160)]
    parts.append(resample(AudioChunk(SLIN8, b""), last=True))
    out = np.concatenate([p.samples for p in parts])
    assert all(p.format == SLIN16 for p in parts)
    assert abs(len(out) - 16000) <= 2
    spectrum = np.abs(np.fft.rfft(out[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 440) < 3


def test_resampler_refuses_a_chunk_in_another_format():
    with pytest.raises(AudioFormatError, match="was given 16000 Hz"):
        Resampler(SLIN8, 16000)(AudioChunk(SLIN16, bytes(640)))
