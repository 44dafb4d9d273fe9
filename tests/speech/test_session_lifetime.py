"""A finished call leaves nothing behind: after many listening sessions (real Silero VAD, real
speech, a scripted engine in the real SttPool) no session, journal, cutter, VAD stream or
resampler of theirs is still alive. The soak (bench/soak.py) measures the same on the real PBX;
this is the cheap, exact half of it."""

from __future__ import annotations

import gc
import weakref

import numpy as np
from warmline.calls.events import CallerUtterance, CallJournal
from warmline.calls.listening import ListeningSession
from warmline.calls.session import CallInfo
from warmline.speech.audio import SLIN8, AudioChunk
from warmline.speech.services import SpeechServices
from warmline.speech.stt.pool import SttPool

from .conftest import read_wav
from .test_early_turn import FRAME, ScriptedEngine

CALLS = 12


async def _chunks(samples: np.ndarray):
    for i in range(0, len(samples), FRAME):
        yield AudioChunk(SLIN8, samples[i:i + FRAME].astype("<i2").tobytes())


async def test_sessions_are_freed_when_their_calls_end(services, sentence_8k):
    speech = read_wav(sentence_8k)
    silence = np.zeros(8 * (services.segmenter.hangover_ms + 300), dtype=np.int16)
    call_audio = np.concatenate([silence, speech, silence])
    pool = SttPool(ScriptedEngine("Can I speak to a real person please?"), workers=1)
    shared = SpeechServices(services.vad, services.segmenter, pool)
    alive: list[weakref.ref] = []
    heard = 0
    try:
        for n in range(CALLS):
            journal = CallJournal(f"c{n}")
            session = ListeningSession(CallInfo(f"c{n}", "", "", ""), journal, shared)
            await session.run(_chunks(call_audio))
            heard += len(journal.of_type(CallerUtterance))
            cutter = session._cutter
            alive += [weakref.ref(session), weakref.ref(journal), weakref.ref(cutter),
                      weakref.ref(cutter.vad), weakref.ref(cutter.resample)]
            del journal, session, cutter
        gc.collect()
        assert heard >= CALLS  # every call was heard: the sessions did their work
        left = [type(ref()).__name__ for ref in alive if ref() is not None]
        assert left == []
    finally:
        pool.close()
