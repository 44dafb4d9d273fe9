import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from warmline.ari_app.settings import AsteriskSettings as Settings
from warmline.config import load_settings
from warmline.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("WARMLINE_"):
            monkeypatch.delenv(key)


def write(tmp_path, text):
    path = tmp_path / "warmline.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    settings = load_settings(None)
    assert settings.ari.app == "warmline"
    assert settings.media.transport == "websocket"
    assert str(settings.ari.url) == "http://127.0.0.1:8088/"


def test_file_values_then_environment_wins(tmp_path, monkeypatch):
    path = write(tmp_path, '[ari]\napp = "fromfile"\nusername = "u"\n[media]\ntransport = "rtp"\n')
    monkeypatch.setenv("WARMLINE_ARI__APP", "fromenv")
    settings = load_settings(path)
    assert settings.ari.app == "fromenv"
    assert settings.ari.username == "u"
    assert settings.media.transport == "rtp"


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, '[ari]\napp = "viaenvpath"\n')
    monkeypatch.setenv("WARMLINE_CONFIG", str(path))
    assert load_settings(None).ari.app == "viaenvpath"


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('[ari]\npasword = "x"\n', {}, "ari.pasword: unknown key — did you mean ari.password?"),
        ('[aril]\nurl = "http://x"\n', {}, "aril: unknown key — did you mean ari?"),
        ('[ari]\nurl = "htp:/x"\n', {}, "ari.url = 'htp:/x': URL scheme should be 'http' or 'https' — set it like ari.url = 'http://127.0.0.1:8088'"),
        ('[ami]\nport = 70000\n', {}, "ami.port = 70000: Input should be less than or equal to 65535 — set it like ami.port = 5038"),
        ('[media]\ntransport = "sip"\n', {}, "media.transport = 'sip': Input should be 'websocket' or 'rtp'"),
        ("", {"WARMLINE_AMI__PORT": "abc"}, "ami.port (from WARMLINE_AMI__PORT) = 'abc': Input should be a valid integer"),
        ('[ari\n', {}, "TOML syntax error: Expected ']' at the end of a table declaration (at line 1, column 5)"),
        ('[ari]\napp = "has space"\n', {}, "ari.app = 'has space': String should match pattern"),
    ],
    ids=["typo-key", "typo-section", "bad-url", "port-range", "bad-choice", "env-value", "toml-syntax", "app-name"],
)
def test_each_problem_is_one_line_naming_key_problem_and_fix(tmp_path, monkeypatch, text, env, expected):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(str(path))
    assert "\n" not in message and "Traceback" not in message


def test_two_problems_give_two_lines(tmp_path):
    path = write(tmp_path, '[ari]\nurl = "nope"\n[ami]\nport = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    lines = str(caught.value).splitlines()
    assert [line.split(": ", 1)[1].split(" ")[0] for line in lines] == ["ari.url", "ami.port"]


def test_password_value_is_never_echoed(tmp_path):
    path = write(tmp_path, "[ari]\npassword = 12345\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "12345" not in str(caught.value) and "<hidden>" in str(caught.value)


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="not found: create it"):
        load_settings(tmp_path / "absent.toml")


def test_example_file_is_valid_and_documents_every_key():
    example = REPO / "warmline.example.toml"
    data = tomllib.loads(example.read_text())
    assert Settings(**data) == Settings()  # the example shows the defaults, exactly

    def keys(model, prefix=""):
        for name, field in model.model_fields.items():
            sub = getattr(field.annotation, "model_fields", None)
            yield from keys(field.annotation, f"{prefix}{name}.") if sub else [f"{prefix}{name}"]

    def flat(doc, model, prefix=""):
        for name, value in doc.items():
            section = model.model_fields[name].annotation
            nested = isinstance(value, dict) and hasattr(section, "model_fields")
            yield from flat(value, section, f"{prefix}{name}.") if nested else [f"{prefix}{name}"]

    assert sorted(flat(data, Settings)) == sorted(keys(Settings))


def test_cli_prints_one_line_and_exits_2_on_bad_config(tmp_path):
    path = write(tmp_path, '[ari]\nurl = "ftp://pbx"\n')
    done = subprocess.run([sys.executable, "-m", "warmline.cli", "check", "-c", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "ari.url" in done.stderr and "Traceback" not in done.stderr
