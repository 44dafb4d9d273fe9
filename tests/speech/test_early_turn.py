"""A turn ends at a short pause when its words are whole, and waits for the hang-over when they
are not — with the real VAD on real (synthesized) speech, and an engine that says what the test
scripts, so that only the endpointing is under test."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from warmline.calls.events import CallerUtterance, CallJournal, UtteranceCut
from warmline.calls.listening import ListeningSession
from warmline.calls.session import CallInfo
from warmline.speech.audio import SLIN8, AudioChunk
from warmline.speech.services import SpeechServices
from warmline.speech.stt.pool import SttPool

from .conftest import read_wav

FRAME = 160  # 20 ms at 8 kHz


class ScriptedEngine:
    name = "scripted"
    sample_rates = (16000,)
    streaming = False

    def __init__(self, text: str) -> None:
        self.text, self.calls = text, 0

    def transcribe(self, audio, rate):
        self.calls += 1
        return self.text

    def describe(self):
        return "scripted"


class Caller:
    def __init__(self, services, text: str) -> None:
        self.engine = ScriptedEngine(text)
        self.pool = SttPool(self.engine, workers=1)
        self.journal = CallJournal("t")
        self.session = ListeningSession(CallInfo("t", "", "", ""), self.journal,
                                        SpeechServices(services.vad, services.segmenter, self.pool))

    async def feed(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), FRAME):
            await self.session.on_audio(AudioChunk(SLIN8, samples[i:i + FRAME].astype("<i2").tobytes()))

    async def silence(self, ms: int) -> None:
        await self.feed(np.zeros(ms * 8, dtype=np.int16))

    async def settled(self) -> list[CallerUtterance]:
        for _ in range(200):  # wait (bounded) for decodes in flight, not for a clock
            if not self.session._guesses and not self.session._decodes:
                break
            await asyncio.sleep(0.01)
        return self.journal.of_type(CallerUtterance)


@pytest.fixture
def speech(sentence_8k) -> np.ndarray:
    samples = read_wav(sentence_8k)
    loud = np.flatnonzero(np.abs(samples) > 500)
    return samples[: loud[-1] + 1]  # ends where the voice does


async def test_a_whole_turn_ends_at_the_pause(services, speech):
    caller = Caller(services, "What's my balance?")
    await caller.feed(speech)
    await caller.silence(services.segmenter.pause_ms + 250)  # the VAD hears voice ~100 ms past its end
    [said] = await caller.settled()
    assert said.cut == UtteranceCut.EARLY and said.text == "What's my balance?"
    await caller.silence(services.segmenter.hangover_ms + 200)
    assert await caller.settled() == [said] and caller.engine.calls == 1  # the hang-over adds nothing
    caller.pool.close()


async def test_an_unfinished_turn_waits_for_the_hang_over_and_reuses_the_guess(services, speech):
    caller = Caller(services, "My policy number is")
    await caller.feed(speech)
    await caller.silence(services.segmenter.pause_ms + 250)  # the VAD hears voice ~100 ms past its end
    assert await caller.settled() == []  # still listening: more digits may follow
    await caller.silence(services.segmenter.hangover_ms)  # the rest of the hang-over
    [said] = await caller.settled()
    assert said.cut == UtteranceCut.SILENCE and said.text == "My policy number is"
    assert caller.engine.calls == 1  # the same audio is not decoded twice
    caller.pool.close()


async def test_a_caller_who_goes_on_after_the_pause_is_one_turn(services, speech):
    caller = Caller(services, "I'm calling about my")
    await caller.feed(speech)
    await caller.silence(services.segmenter.pause_ms + 250)  # the VAD hears voice ~100 ms past its end
    await caller.feed(speech)
    await caller.silence(services.segmenter.hangover_ms + 200)
    utterances = await caller.settled()
    assert [u.cut for u in utterances] == [UtteranceCut.SILENCE]
    assert utterances[0].end_ms - utterances[0].start_ms > 2 * len(speech) / 8  # both halves, one turn
    caller.pool.close()


class CountingVoice:
    def __init__(self) -> None:
        self.stops = 0

    async def play(self, prompt):
        return "finished"

    async def stop(self) -> None:
        self.stops += 1


@pytest.mark.parametrize("gap_ms, stops", [(0, 0), (1500, 1)], ids=["tail-of-the-turn", "a-new-turn"])
async def test_the_tail_of_an_early_turn_does_not_cut_off_the_answer(services, speech, gap_ms, stops):
    from warmline.speech.prompts import Prompt

    caller = Caller(services, "Can I speak to a real person?")
    voice = caller.session.voice = CountingVoice()
    await caller.feed(speech)
    await caller.silence(services.segmenter.pause_ms + 250)
    [said] = await caller.settled()
    assert said.cut == UtteranceCut.EARLY
    caller.session.speaking = Prompt.say("transfer_to_person")  # Warmline answers...
    await caller.silence(gap_ms)
    await caller.feed(speech[: len(speech) // 3])  # ...and the caller adds a word ("please")
    await asyncio.sleep(0.05)
    assert voice.stops == stops
    caller.pool.close()


class Heard:
    def __init__(self) -> None:
        self.said: list[str] = []

    def heard(self, utterance) -> None:
        self.said.append(utterance.text)

    def no_input(self) -> None: ...

    def speech_failed(self, error: str) -> None: ...


@pytest.mark.parametrize("tail_text, given", [("Please.", False), ("and my ID card too please", True)],
                         ids=["afterthought", "more-to-say"])
async def test_a_short_tail_is_recorded_but_is_not_the_next_answer(services, speech, tail_text, given):
    caller = Caller(services, "March 5, 1980.")  # short itself: an early turn is never its own tail
    caller.session.hearing = hearing = Heard()
    await caller.feed(speech)
    await caller.silence(services.segmenter.pause_ms + 250)
    await caller.settled()
    caller.engine.text = tail_text
    await caller.feed(speech[: len(speech) // 3])  # within the hang-over of the early end
    await caller.silence(services.segmenter.hangover_ms + 200)
    utterances = await caller.settled()
    assert [u.text for u in utterances] == ["March 5, 1980.", tail_text]  # both in the journal
    assert hearing.said == ["March 5, 1980.", *([tail_text] if given else [])]
    caller.pool.close()
