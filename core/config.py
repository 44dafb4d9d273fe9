"""Warmline's configuration: one TOML file, validated by pydantic, overridable from the environment.

Precedence: WARMLINE_<SECTION>__<KEY> environment variables, then the file, then the defaults
documented in warmline.example.toml. Errors become one line: key, problem, fix.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from warmline.console.settings import ConsoleSettings
from warmline.crm.settings import CrmSettings
from warmline.dialog.settings import DialogSettings
from warmline.errors import ConfigError, PluginError, shown_key
from warmline.handoff.settings import HandoffSettings
from warmline.nlu.policy import NluSettings
from warmline.numbers.settings import MetricsSettings, NumbersSettings
from warmline.speech.settings import (
    PromptSettings,
    StoreSettings,
    SttSettings,
    VadSettings,
)

ENV_PREFIX = "WARMLINE_"
DEFAULT_PATHS = (Path("warmline.toml"), Path("/etc/warmline/warmline.toml"))
DEFAULT_PBX = "asterisk"


class LogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", examples=["INFO"])
    format: Literal["text", "json"] = Field("text", examples=["text"])


class Settings(BaseSettings):
    """The engine's settings. Each PBX plugin extends this model with its own sections
    (`PbxPlugin.settings_model`); `load_settings` validates a file against the configured plugin's."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    pbx: str = Field(DEFAULT_PBX, min_length=1, description="which PBX plugin drives calls (entry point "
                     "group warmline.pbx)", examples=[DEFAULT_PBX])
    handoff: HandoffSettings = HandoffSettings()
    vad: VadSettings = VadSettings()
    stt: SttSettings = SttSettings()
    prompts: PromptSettings = PromptSettings()
    nlu: NluSettings = NluSettings()
    dialog: DialogSettings = DialogSettings()
    crm: CrmSettings = CrmSettings()
    store: StoreSettings = StoreSettings()
    metrics: MetricsSettings = MetricsSettings()
    numbers: NumbersSettings = NumbersSettings()
    console: ConsoleSettings = ConsoleSettings()
    log: LogSettings = LogSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file arrives as init kwargs; the environment must win over it.
        return env_settings, init_settings

    def secrets(self) -> list[str]:
        """Values that must never reach a log line: every secret of every section, the plugin's too."""
        return [s for s in _secret_values(self) if s]


def _secret_values(model: BaseModel):
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            yield value.get_secret_value()
        elif isinstance(value, BaseModel):
            yield from _secret_values(value)


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    if explicit is not None:
        return Path(explicit)
    if env := os.environ.get(f"{ENV_PREFIX}CONFIG"):
        return Path(env)
    return next((p for p in DEFAULT_PATHS if p.exists()), None)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load and validate; raise ConfigError with a one-line message on any problem."""
    data: dict[str, Any] = {}
    source = find_config(path)
    if source is not None:
        data = _read_toml(source)
    model = settings_model(_pbx_name(data, source))
    try:
        return model(**data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, source, model)) from None


def settings_model(pbx: str) -> type[Settings]:
    """The settings model of a PBX plugin: the engine's sections plus the plugin's own."""
    from warmline.plugins import (
        load_pbx_plugin_class,  # plugins import this module's types
    )

    try:
        return load_pbx_plugin_class(pbx).settings_model
    except PluginError as exc:
        raise ConfigError(f"pbx = {pbx!r}: {exc}") from None


def _pbx_name(data: dict[str, Any], source: Path | None) -> str:
    pbx = os.environ.get(f"{ENV_PREFIX}PBX") or data.get("pbx", DEFAULT_PBX)
    if not isinstance(pbx, str) or not pbx:
        raise ConfigError(f"{source or 'config'}: pbx = {pbx!r}: not a plugin name — set it like pbx = {DEFAULT_PBX!r}")
    return pbx


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found: create it (see warmline.example.toml) or pass --config") from None
    except PermissionError:
        raise ConfigError(f"config file {path} is not readable: fix its permissions") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder: pass the TOML file itself, e.g. {path}/warmline.toml") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc} — fix the syntax at that line") from None
    except RecursionError:  # tomllib reads nested arrays and inline tables recursively
        raise ConfigError(f"{path}: arrays or inline tables nested too deeply to read — flatten them") from None


def _explain(exc: ValidationError, source: Path | None, model: type[Settings]) -> str:
    """One line per problem: where, key, what is wrong, how to fix it."""
    where = f"{source}: " if source else ""
    return "\n".join(where + _explain_one(err, model) for err in exc.errors())


def _explain_one(err: dict[str, Any], root: type[Settings]) -> str:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(shown_key(part) for part in loc)
    env_name = ENV_PREFIX + "__".join(part.upper() for part in loc)
    origin = f" (from {env_name})" if env_name in os.environ else ""
    if err["type"] == "extra_forbidden":
        return f"{key}{origin}: unknown key — {_suggest(loc, root)}"
    field = _field_info(loc, root)
    shown = "<hidden>" if "password" in key else repr(err.get("input"))
    fix = f"set it like {key} = {field.examples[0]!r}" if field and field.examples else "see warmline.example.toml"
    if field and field.description:
        fix += f" ({field.description})"
    return f"{key}{origin} = {shown}: {err['msg']} — {fix}"


def _field_info(loc: list[str], root: type[Settings]):
    model: Any = root
    info = None
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return info
        info = fields[part]
        model = info.annotation
    return info


def _suggest(loc: list[str], root: type[Settings]) -> str:
    parent = _field_info(loc[:-1], root) if len(loc) > 1 else None
    model = parent.annotation if parent else root
    known = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(loc[-1], known, n=1)
    prefix = ".".join(loc[:-1] + [close[0]]) if close else None
    return f"did you mean {prefix}?" if prefix else f"remove it (known keys here: {', '.join(known)})"
