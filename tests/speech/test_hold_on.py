"""A caller whose words take long to decode hears "one moment" once, not silence; a quick
decode says nothing extra. Real VAD on synthesized speech; the engine is a timed stand-in."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from warmline.calls.events import CallJournal
from warmline.calls.session import CallInfo
from warmline.conversation.session import HOLD_ON_AFTER_S, DialogSession
from warmline.dialog.dialogue import Ending
from warmline.dialog.port import Said
from warmline.speech.audio import SLIN8, AudioChunk
from warmline.speech.prompts import Outcome, Prompt
from warmline.speech.services import SpeechServices
from warmline.speech.stt.pool import SttPool

from .conftest import read_wav


class TimedEngine:
    name = "timed"
    sample_rates = (16000,)
    streaming = False

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def transcribe(self, audio, rate):
        time.sleep(self.seconds)
        return "What's my balance?"

    def describe(self):
        return "timed"


class Voice:
    def __init__(self) -> None:
        self.played: list[str] = []

    async def play(self, prompt: Prompt) -> str:
        self.played.append(prompt.describe())
        return Outcome.FINISHED

    async def stop(self) -> None:
        pass


class OneQuestion:
    def __init__(self, port: DialogSession) -> None:
        self.port, self.reply = port, None

    async def run(self) -> Ending:
        self.reply = await self.port.ask(Prompt.say("how_can_i_help"))
        return Ending("contained")


async def caller(samples: np.ndarray, done: asyncio.Event):
    for i in range(0, len(samples), 160):
        yield AudioChunk(SLIN8, samples[i:i + 160].astype("<i2").tobytes())
    while not done.is_set():  # the line stays open, silent, until the dialogue ends
        yield AudioChunk(SLIN8, bytes(320))
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("decode_s, hold_on", [(HOLD_ON_AFTER_S + 0.8, True), (0.05, False)])
async def test_a_slow_decode_is_covered_by_one_moment(services, sentence_8k, decode_s, hold_on):
    pool = SttPool(TimedEngine(decode_s), workers=1)
    voice, journal = Voice(), CallJournal("h")
    speech = SpeechServices(services.vad, services.segmenter, pool)
    dialogue: list[OneQuestion] = []
    session = DialogSession(CallInfo("h", "", "", ""), journal, speech, voice,
                            lambda info, journal, port: dialogue.append(OneQuestion(port)) or dialogue[0],
                            hold_on=Prompt.say("one_moment"))
    done = asyncio.Event()
    running = asyncio.create_task(session.run(caller(read_wav(sentence_8k), done)))
    while not dialogue or dialogue[0].reply is None:
        await asyncio.sleep(0.05)
    done.set()
    await running
    pool.close()
    assert dialogue[0].reply == Said("What's my balance?")
    assert voice.played == ["how_can_i_help", "one_moment"] if hold_on else ["how_can_i_help"]
