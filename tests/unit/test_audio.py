import numpy as np
import pytest
from warmline.errors import AudioFormatError
from warmline.speech.audio import SLIN8, SLIN16, AudioChunk, AudioFormat, rms_dbfs


@pytest.mark.parametrize(
    ("fmt", "nbytes", "seconds"),
    [(SLIN16, 640, 0.02), (SLIN8, 320, 0.02), (SLIN16, 32000, 1.0), (AudioFormat(8000, 1), 160, 0.02)],
)
def test_chunk_duration_follows_its_format(fmt, nbytes, seconds):
    assert AudioChunk(fmt, bytes(nbytes)).seconds == pytest.approx(seconds)


def test_partial_sample_is_rejected_with_the_format_named():
    with pytest.raises(AudioFormatError, match="16000 Hz/16-bit/1ch"):
        AudioChunk(SLIN16, bytes(641))


@pytest.mark.parametrize(
    ("big_endian", "little_endian"),
    [
        (b"\x00\x01", b"\x01\x00"),  # 1
        (b"\xff\xfe", b"\xfe\xff"),  # -2
        (b"\x7f\xff\x80\x00", b"\xff\x7f\x00\x80"),  # max, min
    ],
)
def test_rtp_l16_is_byte_swapped_at_the_edge(big_endian, little_endian):
    chunk = AudioChunk.from_big_endian_l16(big_endian, SLIN16)
    assert chunk.data == little_endian
    assert chunk.to_big_endian_l16() == big_endian


def test_odd_l16_payload_is_rejected():
    with pytest.raises(AudioFormatError):
        AudioChunk.from_big_endian_l16(b"\x00\x01\x02", SLIN16)


def test_rms_of_full_scale_square_wave_is_zero_dbfs_and_silence_is_minus_infinity():
    square = np.tile(np.array([32767, -32767], dtype="<i2"), 160).tobytes()
    assert rms_dbfs(AudioChunk(SLIN16, square)) == pytest.approx(0.0, abs=0.01)
    assert rms_dbfs(AudioChunk(SLIN16, bytes(640))) == float("-inf")
