"""Bad input of every kind: one line naming the file and the fix, never a traceback."""

import asyncio
import shutil
import subprocess
import sys
import wave

import pytest
from warmline.ari_app.plugin import AsteriskPlugin
from warmline.ari_app.settings import AsteriskSettings
from warmline.calls.transcribe import read_wav
from warmline.config import load_settings
from warmline.dialog.flows import FlowError, load_flows
from warmline.errors import ConfigError, WarmlineError
from warmline.speech.stt.whisper import WhisperEngine, packaged_model_dir


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "warmline.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def one_clean_line(done):
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_config_that_is_not_utf8(tmp_path):
    path = tmp_path / "warmline.toml"
    path.write_bytes('[ari]\napp = "caf\xe9"\n'.encode("latin-1"))
    line = one_clean_line(cli("check", "-c", str(path)))
    assert str(path) in line and "UTF-8" in line


def test_serve_given_a_folder(tmp_path):
    line = one_clean_line(cli("serve", "-c", str(tmp_path)))
    assert str(tmp_path) in line and "folder" in line


def test_transcribe_given_a_folder(tmp_path):
    line = one_clean_line(cli("transcribe", str(tmp_path)))
    assert str(tmp_path) in line and "folder" in line


@pytest.mark.parametrize("content,expected", [
    ("intents: [\n".encode(), "not valid YAML"),
    ("intents:\n  billing_inquiry: caf\xe9\n".encode("latin-1"), "not UTF-8"),
])
def test_flow_file_errors_name_the_file(tmp_path, content, expected):
    path = tmp_path / "flows.yaml"
    path.write_bytes(content)
    with pytest.raises(FlowError, match=expected) as caught:
        load_flows(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_flow_file_that_is_a_folder(tmp_path):
    with pytest.raises(FlowError, match="is a folder"):
        load_flows(tmp_path)


def test_empty_ari_password_is_one_verdict_not_a_401_loop():
    settings = AsteriskSettings()
    results = asyncio.run(AsteriskPlugin().check(settings))
    assert [(r.item, r.ok) for r in results] == [("ari", False)]
    assert "ari.password is empty" in results[0].detail and "WARMLINE_ARI__PASSWORD" in results[0].detail
    with pytest.raises(ConfigError, match="ari.password is empty"):
        asyncio.run(AsteriskPlugin().serve(settings, None, asyncio.Event()))


def test_a_wav_with_half_a_sample_at_the_end_is_read(tmp_path):
    path = tmp_path / "odd.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1), wav.setsampwidth(2), wav.setframerate(8000)
        wav.writeframes(b"\x01\x00" * 80)
    with path.open("ab") as f:
        f.write(b"\x02")  # truncated mid-sample (the header still says 80 frames)
    fmt, data = read_wav(path)
    assert fmt.rate == 8000 and len(data) % 2 == 0


def test_a_wav_that_is_not_a_wav_names_the_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    with pytest.raises(WarmlineError, match="notes.wav: not a PCM WAV") as caught:
        read_wav(path)
    assert "\n" not in str(caught.value)


def test_whisper_folder_without_tokenizer_fails_at_once_naming_it(tmp_path):
    for name in ("model.bin", "config.json"):
        shutil.copy(packaged_model_dir() / name, tmp_path / name)
    with pytest.raises(WarmlineError, match="tokenizer.json"):
        WhisperEngine(tmp_path)


def test_pbx_that_is_not_installed_is_one_line(tmp_path):
    path = tmp_path / "warmline.toml"
    path.write_text('pbx = "freeswitch"\n')
    with pytest.raises(ConfigError, match="pbx = 'freeswitch': no PBX plugin named 'freeswitch'"):
        load_settings(path)
