"""Fixtures shared by the speech and integration tests."""

import pytest
from warmline.config import Settings
from warmline.speech.services import build_services


@pytest.fixture(scope="session")
def services():
    """The real speech services (Silero VAD, Whisper tiny.en), loaded once for the whole run."""
    built = build_services(Settings().vad, Settings().stt)
    yield built
    built.close()
