"""WAV files given to `warmline transcribe`: 8/16 kHz 16-bit mono audio, or AudioFormatError in one line."""

import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.calls.transcribe import ACCEPTED_RATES, read_wav
from warmline.errors import AudioFormatError

from tests.fuzz.clean import assert_clean


@pytest.fixture(scope="module")
def wav_path(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-wav") / "input.wav"


def read_or_clean_error(path, content: bytes) -> None:
    path.write_bytes(content)
    try:
        fmt, data = read_wav(path)
    except AudioFormatError as exc:
        assert_clean(exc, AudioFormatError)
        return
    assert fmt.rate in ACCEPTED_RATES and fmt.width == 2 and fmt.channels == 1
    assert len(data) % 2 == 0


def chunk(name: bytes, body: bytes, size: int | None = None) -> bytes:
    return name + struct.pack("<I", len(body) if size is None else size) + body


@st.composite
def wav_like(draw):
    """RIFF/WAVE with a fmt and a data chunk whose every field may lie: sizes, rates, channels, widths."""
    small = st.integers(0, 0xFFFF)
    fmt = struct.pack("<HHIIHH", draw(st.sampled_from([1, 1, 1, 3, 6, 7, 0xFFFE, 0]) | small),
                      draw(st.sampled_from([1, 2, 0, 6]) | small),
                      draw(st.sampled_from([8000, 16000, 44100, 0]) | st.integers(0, 0xFFFFFFFF)),
                      draw(st.integers(0, 0xFFFFFFFF)), draw(small),
                      draw(st.sampled_from([16, 8, 24, 0, 1]) | small))
    fmt = fmt[:draw(st.integers(0, len(fmt)))] if draw(st.booleans()) else fmt + draw(st.binary(max_size=24))
    sizes = st.none() | st.integers(0, 0xFFFFFFFF)
    body = chunk(b"fmt ", fmt, draw(sizes)) + chunk(b"data", draw(st.binary(max_size=400)), draw(sizes))
    if draw(st.booleans()):
        body = chunk(draw(st.binary(min_size=4, max_size=4)), draw(st.binary(max_size=20)), draw(sizes)) + body
    content = b"RIFF" + struct.pack("<I", draw(st.integers(0, 0xFFFFFFFF))) + b"WAVE" + body
    return content[:draw(st.integers(0, len(content)))] if draw(st.booleans()) else content


@given(st.binary(max_size=300))
def test_arbitrary_bytes(wav_path, content):
    read_or_clean_error(wav_path, content)


@given(wav_like())
@example(b"RIFF\x14\x00\x00\x00WAVE" + chunk(b"\x00" * 4, b"\x00")  # a chunk past the RIFF size: RuntimeError
         + chunk(b"fmt ", struct.pack("<HHIIHH", 1, 1, 8000, 0, 0, 16)) + chunk(b"data", b""))
def test_wav_headers_with_wrong_sizes_rates_channels(wav_path, content):
    read_or_clean_error(wav_path, content)
