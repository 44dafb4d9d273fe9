"""`warmline transcribe` and the listening session on real models, including bad input."""

import asyncio
import os
import subprocess
import sys

import numpy as np
import pytest
from warmline.calls.events import CallerUtterance, CallJournal, SpeechFailed
from warmline.calls.listening import ListeningSession
from warmline.calls.session import CallInfo
from warmline.calls.transcribe import _chunks, transcribe_file
from warmline.calls.transcribe import read_wav as read_input
from warmline.speech.services import SpeechServices
from warmline.speech.stt.pool import SttBusy, SttPool

from .conftest import SENTENCE, read_wav, write_wav


def words(text: str) -> list[str]:
    return "".join(c for c in text.lower() if c.isalnum() or c == " ").split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    d = np.zeros((len(ref) + 1, len(hyp) + 1), dtype=int)
    d[:, 0], d[0, :] = range(len(ref) + 1), range(len(hyp) + 1)
    for i in range(1, len(ref) + 1):
        for j in range(1, len(hyp) + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]))
    return d[-1, -1] / len(ref)


def cli(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WARMLINE_")} | env
    return subprocess.run([sys.executable, "-m", "warmline.cli", *args], capture_output=True, text=True,
                          timeout=300, env=environment)


def test_cli_prints_path_tab_text_for_8_and_16_khz(sentence_8k, sentence_16k):
    done = cli("transcribe", str(sentence_8k), str(sentence_16k))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(sentence_8k), str(sentence_16k)]
    for line in lines:
        assert word_error_rate(SENTENCE, line.split("\t")[1]) <= 0.2, line


def test_cli_names_bad_files_on_one_line_each_and_goes_on(tmp_path, sentence_8k):
    wrong_rate = write_wav(tmp_path / "cd.wav", np.zeros(44100), 44100)
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("this is not audio")
    done = cli("transcribe", str(wrong_rate), str(not_wav), str(sentence_8k), str(tmp_path / "missing.wav"))
    assert done.returncode == 1
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 3 and "Traceback" not in done.stderr
    assert "44100 Hz" in errors[0] and "sox" in errors[0]
    assert "not a PCM WAV file" in errors[1]
    assert "no such file" in errors[2]
    assert done.stdout.startswith(f"{sentence_8k}\t")


@pytest.mark.parametrize("kind", ["silence", "line-noise", "dtmf", "clipped-noise"])
async def test_non_speech_yields_no_words(tmp_path, services, kind):
    rng = np.random.default_rng(7)
    n = 8000 * 6
    t = np.arange(n) / 8000
    audio = {
        "silence": np.zeros(n),
        "line-noise": rng.normal(0, 300, n),  # about -40 dBFS hiss
        "dtmf": np.where((t % 0.2) < 0.1, 8000 * (np.sin(2 * np.pi * 697 * t) + np.sin(2 * np.pi * 1209 * t)), 0),
        "clipped-noise": np.clip(rng.normal(0, 30000, n), -32768, 32767),
    }[kind]
    path = write_wav(tmp_path / f"{kind}.wav", audio, 8000)
    text = await transcribe_file(path, services)
    assert len(words(text)) <= 1, text


async def test_clipped_speech_is_still_understood(tmp_path, services, sentence_8k):
    loud = read_wav(sentence_8k).astype(np.float64) * 8  # hard clipping at full scale
    path = write_wav(tmp_path / "clipped.wav", loud, 8000)
    assert word_error_rate(SENTENCE, await transcribe_file(path, services)) <= 0.3


async def test_a_60_second_monologue_is_cut_and_every_part_decoded(tmp_path, services, sentence_8k):
    speech = read_wav(sentence_8k)
    gap = np.zeros(int(0.2 * 8000))  # shorter than the hang-over: one continuous monologue
    reps = int(np.ceil(60 * 8000 / (len(speech) + len(gap))))
    monologue = np.concatenate([np.concatenate([speech, gap]) for _ in range(reps)])
    fmt, data = read_input(write_wav(tmp_path / "monologue.wav", monologue, 8000))
    journal = CallJournal("mono")
    session = ListeningSession(CallInfo("mono", "", "", ""), journal, services)
    await session.run(_chunks(fmt, data))
    utterances = sorted(journal.of_type(CallerUtterance), key=lambda u: u.start_ms)  # decodes finish in any order
    assert len(utterances) >= 3
    assert [u.cut for u in utterances].count("max_length") >= 2
    assert all(u.end_ms - u.start_ms <= services.segmenter.max_utterance_ms for u in utterances)
    full = [u for u in utterances if u.cut == "max_length"]  # the flushed tail may be a fragment
    assert all("insurance" in words(u.text) for u in full), [u.text for u in utterances]
    # Whisper tiny drops some verbatim repeats inside one window; a third of them is the floor seen.
    assert sum(words(u.text).count("insurance") for u in utterances) >= reps // 3


class ExplodingEngine:
    """A test double for an engine whose decoder crashes: the call must go on."""

    name = "exploding"
    sample_rates = (16000,)
    streaming = False

    def transcribe(self, audio, rate):
        raise RuntimeError("segfault-like failure")

    def describe(self):
        return "exploding"


async def test_a_crashing_decoder_is_recorded_and_the_session_goes_on(services, sentence_8k):
    broken = SpeechServices(services.vad, services.segmenter, SttPool(ExplodingEngine(), workers=1))
    fmt, data = read_input(sentence_8k)
    journal = CallJournal("boom")
    session = ListeningSession(CallInfo("boom", "", "", ""), journal, broken)
    result = await session.run(_chunks(fmt, data))
    broken.stt.close()
    assert [type(e) for e in journal.events if isinstance(e, SpeechFailed)] == [SpeechFailed]
    assert "segfault-like failure" in journal.of_type(SpeechFailed)[0].error
    assert result.frames > 0 and broken.stt.metrics.failed == 1


class SlowEngine:
    """A test double that holds a worker until released, to fill the pool deterministically."""

    name = "slow"
    sample_rates = (16000,)
    streaming = False

    def __init__(self):
        import threading

        self.release = threading.Event()

    def transcribe(self, audio, rate):
        self.release.wait(10)
        return "done"

    def describe(self):
        return "slow"


async def test_a_full_pool_queues_up_to_its_bound_then_refuses_and_counts():
    engine = SlowEngine()
    pool = SttPool(engine, workers=1, max_queue=2)
    audio = np.zeros(1600, dtype=np.float32)
    running = [asyncio.create_task(pool.transcribe(audio, 16000)) for _ in range(3)]  # 1 busy + 2 queued
    await asyncio.sleep(0.1)
    assert (pool.metrics.busy, pool.metrics.waiting) == (1, 2)
    with pytest.raises(SttBusy, match="saturated"):
        await pool.transcribe(audio, 16000)
    assert pool.metrics.rejected == 1
    engine.release.set()
    results = await asyncio.gather(*running)
    assert [r.text for r in results] == ["done"] * 3 and pool.metrics.decoded == 3
    pool.close()


def test_check_names_a_missing_and_a_corrupt_model(tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "model.bin").write_bytes(b"\x00garbage" * 100)
    (corrupt / "config.json").write_text("{}")
    (corrupt / "tokenizer.json").write_text("{}")
    for path, problem in ((tmp_path / "absent", "lacks model.bin, config.json, tokenizer.json"), (corrupt, "cannot load the Whisper model")):
        done = cli("check", "-c", os.devnull, WARMLINE_STT__MODEL_PATH=str(path), WARMLINE_ARI__URL="http://127.0.0.1:9",
                   WARMLINE_AMI__PORT="9")
        assert done.returncode == 1
        [line] = [line for line in done.stdout.splitlines() if " stt-model " in line]
        assert line.startswith("FAIL") and problem in line
        assert "Traceback" not in done.stdout + done.stderr


class RecordingVoice:
    """A CallVoice test double that plays until stopped and counts the stops."""

    def __init__(self):
        self.stops = 0
        self.stopped = asyncio.Event()

    async def play(self, prompt):
        await self.stopped.wait()
        return "interrupted"

    async def stop(self):
        self.stops += 1
        self.stopped.set()


@pytest.mark.parametrize("barge_in, stops", [(True, 1), (False, 0)])
async def test_the_barge_in_setting_reaches_the_session(services, sentence_8k, barge_in, stops):
    from warmline.calls.listening import listening_sessions
    from warmline.speech.prompts import Prompt

    voice = RecordingVoice()
    session = listening_sessions(services, barge_in=barge_in)(CallInfo("b", "", "", ""), CallJournal("b"), voice)
    session.speaking = Prompt.say("greeting")  # as if a prompt were playing when the caller speaks
    fmt, data = read_input(sentence_8k)
    await session.run(_chunks(fmt, data))
    assert voice.stops == stops


class HangingEngine:
    """A decoder that never returns (until released), as a wedged native library would."""

    name = "hanging"
    sample_rates = (16000,)
    streaming = False

    def __init__(self) -> None:
        import threading

        self.release = threading.Event()
        self.calls = 0

    def transcribe(self, audio, rate):
        self.calls += 1
        if self.calls == 1:
            self.release.wait(30)
            return "too late"
        return "second decode"


async def test_a_hung_decoder_times_out_and_its_worker_is_replaced():
    from warmline.speech.stt.pool import SttTimeout

    engine = HangingEngine()
    pool = SttPool(engine, workers=1, decode_timeout_s=0.2)
    try:
        with pytest.raises(SttTimeout, match="did not answer"):
            await pool.transcribe(np.zeros(1600, dtype=np.float32))
        # the one worker is stuck, yet the pool still decodes: a fresh worker took its place
        assert (await pool.transcribe(np.zeros(1600, dtype=np.float32))).text == "second decode"
        assert pool.metrics.timed_out == 1 and pool.metrics.busy == 0
    finally:
        engine.release.set()
        pool.close()


async def test_a_late_worker_retires_when_its_decode_finishes_so_the_pool_keeps_its_size():
    from warmline.speech.stt.pool import SttTimeout

    engine = HangingEngine()
    pool = SttPool(engine, workers=1, decode_timeout_s=0.2)
    try:
        with pytest.raises(SttTimeout):
            await pool.transcribe(np.zeros(1600, dtype=np.float32))
        assert pool._threads.alive == 2  # the late one, still decoding, and its replacement
        engine.release.set()  # the late decode finishes after all (an overloaded box, not a hung one)
        for _ in range(50):
            if pool._threads.alive == 1:
                break
            await asyncio.sleep(0.05)
        assert pool._threads.alive == 1, "the abandoned worker went back to work: the pool grew"
        assert (await pool.transcribe(np.zeros(1600, dtype=np.float32))).text == "second decode"
    finally:
        engine.release.set()
        pool.close()
