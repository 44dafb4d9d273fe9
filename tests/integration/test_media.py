"""A simulated caller's prompt reaches Warmline intact over both externalMedia transports."""

import math
import wave

import numpy as np
import pytest
from warmline.ari_app.settings import MediaSettings
from warmline.ari_app.simulate import place_call
from warmline.calls.events import CallEnded, MediaConnected, MediaEnded
from warmline.speech.audio import SLIN16

from .conftest import (
    EventLog,
    RecordingSession,
    best_correlation,
    envelope,
    running_app,
    wait_until_empty,
    wav_envelope,
)

PROMPT = "vm-intro"  # 5.65 s of speech with pauses: a distinctive energy envelope
OTHER_PROMPT = "tt-weasels"


@pytest.mark.parametrize("transport", ["websocket", "rtp"])
async def test_caller_audio_arrives_as_20ms_slin16_frames_of_the_prompt(sandbox, ari, transport):
    settings = sandbox.settings.model_copy(update={"media": MediaSettings(transport=transport)})
    events = EventLog()
    async with running_app(settings, RecordingSession, [events]):
        call = await place_call(ari, PROMPT)
        connected = await events.wait_for(call.caller_channel_id, MediaConnected)
        assert connected.transport == transport
        await call.speak(ari)
        ended = await events.wait_for(call.caller_channel_id, CallEnded)
        assert ended.reason == "caller_hangup"
        channels, bridges = await wait_until_empty(ari)
    assert channels == [] and bridges == [], "Warmline left channels or bridges behind"

    recorded = RecordingSession.recorded[connected.call_id]
    # The snoop sends silence from the moment it exists, like a phone line; the prompt follows.
    first_sound = next(i for i, c in enumerate(recorded) if any(c.data))
    assert not any(any(c.data) for c in recorded[:first_sound])
    chunks = recorded[first_sound:]
    with wave.open(str(sandbox.sound(PROMPT))) as wav:
        prompt_s = wav.getnframes() / wav.getframerate()
    expected_frames = prompt_s * 50
    tolerance = math.ceil(prompt_s)  # ±1 frame per second of prompt
    assert abs(len(chunks) - expected_frames) <= tolerance, (len(chunks), expected_frames)
    assert all(c.format == SLIN16 for c in chunks)
    assert all(len(c.data) == 640 for c in chunks[:-1]), {len(c.data) for c in chunks[:-1]}
    assert 0 < len(chunks[-1].data) <= 640
    media_ended = [e for e in events.for_channel(call.caller_channel_id) if isinstance(e, MediaEnded)][0]
    assert media_ended.frames == len(recorded)

    received = envelope(np.concatenate([c.samples for c in chunks]), per_frame=320)
    right = best_correlation(received, wav_envelope(sandbox.sound(PROMPT)))
    wrong = best_correlation(received, wav_envelope(sandbox.sound(OTHER_PROMPT)))
    assert right > 0.9, f"received audio does not follow the prompt (r={right:.2f})"
    assert right > wrong + 0.3, (right, wrong)
