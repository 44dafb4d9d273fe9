"""Speech tests use the real packaged models (Silero ONNX, Whisper tiny.en) and flite voices."""

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from warmline.speech.tts import synthesize

SENTENCE = "Hi, I am calling about my car insurance bill."


@pytest.fixture(scope="session")
def voice_dir(tmp_path_factory) -> Path:
    if shutil.which("flite") is None:
        pytest.skip("flite is not installed (scripts/bootstrap installs it as root)")
    return tmp_path_factory.mktemp("voices")


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.clip(samples, -32768, 32767).astype("<i2").tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


@pytest.fixture(scope="session")
def sentence_8k(voice_dir) -> Path:
    return synthesize(SENTENCE, voice_dir / "sentence8k.wav", rate=8000)


@pytest.fixture(scope="session")
def sentence_16k(voice_dir) -> Path:
    return synthesize(SENTENCE, voice_dir / "sentence16k.wav", rate=16000)
