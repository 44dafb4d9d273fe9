"""Prompt catalog, offline rendering (flite) and the media each prompt names."""

import shutil
import subprocess
import sys
import wave

import pytest
from warmline.ari_app.voice import media_uri
from warmline.speech import prompts
from warmline.speech.prompts import (
    Catalog,
    Characters,
    Digits,
    Number,
    Prompt,
    PromptError,
    Sound,
)


def write_catalog(path, **texts):
    path.write_text("[prompts]\n" + "".join(f'{k} = "{v}"\n' for k, v in texts.items()))
    return path


def test_the_packaged_catalog_loads_and_names_the_warm_transfer_message():
    catalog = Catalog.load(prompts.packaged_catalog())
    assert "won't need to repeat" in catalog.texts["warm_transfer"]
    assert "automated assistant" in catalog.texts["greeting"]  # the AI discloses itself


@pytest.mark.parametrize("content, problem", [
    (None, "does not exist"),
    ("[prompts\n", "not valid TOML"),
    ("[other]\na = 'b'\n", "needs a [prompts] table"),
    ("[prompts]\ngreeting = ''\n", "every text non-empty"),
])
def test_a_bad_catalog_is_named_with_the_fix(tmp_path, content, problem):
    path = tmp_path / "p.toml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PromptError, match=problem.replace("[", r"\[")):
        Catalog.load(path)


@pytest.fixture
def flite():
    if shutil.which("flite") is None:
        pytest.skip("flite comes from scripts/bootstrap (as root)")


def test_build_renders_8khz_files_and_rebuilds_only_what_changed(tmp_path, flite):
    out = tmp_path / "out"
    catalog = Catalog.load(write_catalog(tmp_path / "a.toml", hello="Hello there.", bye="Goodbye."))
    assert prompts.unbuilt(catalog, out) == ["hello", "bye"]
    first = prompts.build(catalog, out)
    assert sorted(first.rendered) == ["bye", "hello"] and prompts.unbuilt(catalog, out) == []
    with wave.open(str(out / "hello.wav")) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (8000, 2, 1)
        assert 0.3 < wav.getnframes() / 8000 < 3
    changed = Catalog.load(write_catalog(tmp_path / "b.toml", hello="Hello again, friend.", thanks="Thanks."))
    assert prompts.unbuilt(changed, out) == ["hello", "thanks"]
    second = prompts.build(changed, out)
    assert sorted(second.rendered) == ["hello", "thanks"] and second.kept == () and second.removed == ("bye",)
    assert not (out / "bye.wav").exists()
    assert prompts.build(changed, out).kept == ("hello", "thanks")


def test_a_different_voice_makes_prompts_stale(tmp_path, flite):
    catalog = Catalog.load(write_catalog(tmp_path / "a.toml", hello="Hello."))
    prompts.build(catalog, tmp_path / "out")
    assert prompts.unbuilt(catalog, tmp_path / "out", "flite", "slt") == ["hello"]


def test_an_unwritable_folder_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PromptError, match="cannot create .*set prompts.dir"):
        prompts.build(Catalog({"a": "b"}), blocker / "sub")


def test_prompt_media_and_their_asterisk_uris():
    prompt = Prompt.say("your_balance_is", Number(240), "dollars")
    assert prompt.media == (Sound("your_balance_is"), Number(240), Sound("dollars")) and prompt.barge_in
    assert prompt.describe() == "your_balance_is number:240 dollars"
    assert [media_uri(m, "/p/") for m in (Sound("a"), Digits("44-17 9"), Number(5), Characters("H-O 1"))] == [
        "sound:/p/a", "digits:44179", "number:5", "characters:HO1"]


def test_cli_builds_lists_and_check_names_unbuilt_prompts(tmp_path, flite):
    env = {"WARMLINE_PROMPTS__DIR": str(tmp_path / "p"), "PATH": "/usr/bin:/bin"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "warmline.cli", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    listed = cli("prompts", "list", "-c", "/dev/null")
    assert listed.returncode == 0 and "greeting\tto build\t" in listed.stdout
    built = cli("prompts", "build", "-c", "/dev/null")
    assert built.returncode == 0 and " rendered, 0 unchanged, 0 removed in " in built.stdout
    assert "greeting\tbuilt\t" in cli("prompts", "list", "-c", "/dev/null").stdout
    (tmp_path / "p" / "goodbye.wav").unlink()
    check = cli("check", "-c", "/dev/null")
    [line] = [line for line in check.stdout.splitlines() if " prompts " in line]
    assert line.startswith("FAIL") and "goodbye" in line and "warmline prompts build" in line


@pytest.mark.parametrize("lead,tail,expected_lead,expected_tail", [
    (2400, 800, 160, 160),  # 0.3 s of flite's leading silence → 20 ms kept
    (0, 0, 0, 0),  # sound from the first sample: nothing to cut
    (100, 100, 100, 100),  # less silence than what is kept: untouched
])
def test_rendered_prompts_start_with_sound(lead, tail, expected_lead, expected_tail):
    import numpy as np
    from warmline.speech.tts import trim_silence

    voice = np.full(800, 3000, dtype="<i2")
    samples = np.concatenate([np.zeros(lead, "<i2"), voice, np.zeros(tail, "<i2")])
    out = trim_silence(samples, 8000)
    assert len(out) == expected_lead + 800 + expected_tail
    assert np.array_equal(out[expected_lead:expected_lead + 800], voice)


def test_all_silence_is_left_alone():
    import numpy as np
    from warmline.speech.tts import trim_silence

    quiet = np.zeros(400, "<i2")
    assert len(trim_silence(quiet, 8000)) == 400
