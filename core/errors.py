"""One error type per stage, so a failure says where it happened."""


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
