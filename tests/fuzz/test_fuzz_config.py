"""warmline.toml: Settings, or ConfigError with one line per problem, each naming the file and key."""

import json
import math
import os

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.config import Settings, load_settings, settings_model
from warmline.errors import ConfigError

MODEL = settings_model("asterisk")
SECTIONS = {name: list(getattr(field.annotation, "model_fields", {}))
            for name, field in MODEL.model_fields.items()}


@pytest.fixture(scope="module")
def toml_path(tmp_path_factory):
    leaked = [name for name in os.environ if name.startswith("WARMLINE_")]
    assert not leaked, f"unset {leaked}: the environment would override the fuzzed file"
    return tmp_path_factory.mktemp("fuzz-config") / "warmline.toml"


def load_or_clean_error(path, content: bytes) -> None:
    path.write_bytes(content)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        message = str(exc)
        assert message.strip() and "Traceback" not in message
        assert message.splitlines() == message.split("\n"), f"a line break inside a problem: {message!r}"
        for line in message.split("\n"):  # one line per problem, each saying where
            assert line.startswith(f"{path}: ") or line.startswith("pbx = "), f"stray line {line!r} in {message!r}"
        return
    assert isinstance(settings, Settings)


# --- a small TOML writer: tomllib only reads ---------------------------------------------------

def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ("nan" if math.isnan(value) else "inf" if value > 0 else "-inf") if not math.isfinite(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()) + "}"


scalars = (st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | st.text(max_size=30)
           | st.sampled_from(["", "asterisk", "http://127.0.0.1:8088", "INFO", "rtp", "sqlite", "-1", "0"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
keys = st.text(max_size=12)


@st.composite
def config_like(draw):
    """Real sections and keys (plus misspelt and invented ones), each given a value of any type."""
    lines = []
    if draw(st.booleans()):
        lines.append(f"pbx = {toml_value(draw(values | st.just('asterisk')))}")
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)) | keys, max_size=4, unique=True)):
        if section == "pbx":
            continue
        lines.append(f"[{json.dumps(section, ensure_ascii=False)}]")
        known = SECTIONS.get(section) or ["x"]
        for key in draw(st.lists(st.sampled_from(known) | keys, max_size=4, unique=True)):
            lines.append(f"{json.dumps(key, ensure_ascii=False)} = {toml_value(draw(values))}")
    return "\n".join(lines).encode()


@given(st.binary(max_size=300))
def test_arbitrary_bytes(toml_path, content):
    load_or_clean_error(toml_path, content)


@given(st.text(alphabet=st.sampled_from('[]="\'\n ={}.,#abcxyz0123456789-_'), max_size=120))
@example("a = " + "[" * 100_000)  # tomllib's RecursionError escaped
@example("a = " + "{b = " * 10_000)
def test_toml_ish_text(toml_path, text):
    load_or_clean_error(toml_path, text.encode())


@given(config_like())
@example(b'["\\r"]')  # a section named "\r": its line break went into the message
def test_sections_and_keys_with_wrong_types(toml_path, content):
    load_or_clean_error(toml_path, content)
