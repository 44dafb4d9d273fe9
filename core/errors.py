"""One error type per stage, so a failure says where it happened."""

import json


class WarmlineError(Exception):
    """Base of every error Warmline raises on purpose."""


class ConfigError(WarmlineError):
    """The configuration is invalid; the message is one line naming the key, problem and fix."""


class AudioFormatError(WarmlineError):
    """Audio arrived in a format the stage cannot take."""


class PbxError(WarmlineError):
    """The PBX refused or failed a request."""


class PluginError(WarmlineError):
    """A PBX plugin could not be found or loaded."""


def shown_key(part: object) -> str:
    """A key of a config or flow file as an error message shows it: as written, or quoted and
    escaped (as TOML and YAML write it) when it holds a line break or other control character,
    so the message stays one line."""
    text = str(part)
    return text if text.isprintable() else json.dumps(text)
