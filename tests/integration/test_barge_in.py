"""Barge-in on the sandbox Asterisk: a caller who talks over a prompt stops it within 200 ms,
and what they said is kept. The timing comes from Asterisk's own events, not Warmline's clock."""

import asyncio
import wave
from pathlib import Path

import numpy as np
from warmline.ari_app.simulate import place_call
from warmline.calls.events import CallEnded, CallerUtterance, PromptEnded, PromptStarted
from warmline.calls.listening import ListeningSession
from warmline.speech.prompts import Outcome, Prompt
from warmline.speech.tts import synthesize

from ..speech.test_transcribe import word_error_rate
from .conftest import EventLog, PbxObserver, pbx_time, running_app, wait_until_empty

SENTENCE = "I need a copy of my insurance card."
BARGE_IN_BUDGET_S = 0.200


def speech_onset_s(path: Path, threshold_dbfs: float = -35.0) -> float:
    """Where the voice starts in the caller's file (synthesised speech has leading silence)."""
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64)
    frame = rate // 100  # 10 ms
    levels = [20 * np.log10(np.sqrt(np.mean(samples[i:i + frame] ** 2)) / 32768 + 1e-9)
              for i in range(0, len(samples) - frame, frame)]
    return next(i for i, level in enumerate(levels) if level > threshold_dbfs) * 0.010


async def test_caller_talking_over_a_prompt_stops_it_within_200_ms(sandbox, ari, services):
    caller_file = Path(sandbox.state["instance_dir"]) / "sounds" / "caller-barge-in.wav"
    synthesize(SENTENCE, caller_file, rate=8000)
    onset = speech_onset_s(caller_file)
    greeting = Prompt.say("greeting")  # about 8 s: the caller interrupts it after 1.5 s
    events = EventLog()

    def factory(info, journal, voice):
        return ListeningSession(info, journal, services, voice, opening=greeting)

    async with running_app(sandbox.settings, factory, [events]), PbxObserver(ari) as pbx:
        call = await place_call(ari, f"{sandbox.state['instance_dir_inside']}/sounds/caller-barge-in")
        await pbx.watch(call.caller_channel_id, call.line_channel_id)
        await events.wait_for(call.caller_channel_id, PromptStarted)
        await asyncio.sleep(1.5)
        await call.speak(ari)
        await events.wait_for(call.caller_channel_id, CallEnded, timeout=30)
        assert await wait_until_empty(ari) == ([], [])

    mine = events.for_channel(call.caller_channel_id)
    [ended] = [e for e in mine if isinstance(e, PromptEnded)]
    assert ended.outcome == Outcome.INTERRUPTED

    [caller_starts] = pbx.of("ChannelDialplan", channel__id=call.line_channel_id, dialplan_app="Playback")
    [prompt_stops] = pbx.of("PlaybackFinished", playback__target_uri=f"channel:{call.caller_channel_id}")
    latency = pbx_time(prompt_stops) - (pbx_time(caller_starts) + onset)
    print(f"barge-in: prompt stopped {latency * 1000:.0f} ms after the caller's voice began (Asterisk's clock)")
    assert 0 < latency <= BARGE_IN_BUDGET_S

    heard = " ".join(e.text for e in mine if isinstance(e, CallerUtterance))
    assert word_error_rate(SENTENCE, heard) <= 0.125, heard  # what they said while interrupting is kept
