"""A simulated caller's spoken sentence arrives as the right transcript, through a real Asterisk."""

from pathlib import Path

import pytest
from warmline.ari_app.simulate import place_call
from warmline.calls.events import (
    CallEnded,
    CallerSpeechStarted,
    CallerUtterance,
    MediaConnected,
)
from warmline.calls.listening import ListeningSession
from warmline.speech.tts import synthesize

from ..speech.test_transcribe import word_error_rate
from .conftest import EventLog, running_app, wait_until_empty

SENTENCE = "I need a copy of my insurance card."


@pytest.mark.parametrize("transport", ["websocket", "rtp"])
async def test_spoken_sentence_arrives_as_its_transcript(sandbox, ari, services, transport):
    sounds = sandbox.state["instance_dir"] + "/sounds"
    synthesize(SENTENCE, Path(sounds) / "caller-sentence.wav", rate=8000)
    settings = sandbox.settings.model_copy(update={"media": sandbox.settings.media.model_copy(update={"transport": transport})})
    events = EventLog()
    async with running_app(settings, lambda info, journal, voice: ListeningSession(info, journal, services, voice), [events]):
        call = await place_call(ari, f"{sandbox.state['instance_dir_inside']}/sounds/caller-sentence")
        await events.wait_for(call.caller_channel_id, MediaConnected)
        await call.speak(ari)
        await events.wait_for(call.caller_channel_id, CallEnded, timeout=30)
        assert await wait_until_empty(ari) == ([], [])
    mine = events.for_channel(call.caller_channel_id)
    assert any(isinstance(e, CallerSpeechStarted) for e in mine)
    heard = " ".join(e.text for e in mine if isinstance(e, CallerUtterance))
    assert word_error_rate(SENTENCE, heard) <= 0.125, heard  # at most one of the eight words
