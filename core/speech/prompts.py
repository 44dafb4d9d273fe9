"""What the AI says: prompt media, the prompt catalog, and rendering text to telephone audio.

A prompt is a short sequence of media the PBX plays in one go: sound files (rendered offline from
text by `warmline prompts build`) and the PBX's own read-backs of digits, numbers and characters
(policy numbers, amounts) so no per-caller audio is ever synthesised mid-call.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from warmline.errors import WarmlineError
from warmline.speech.settings import PromptSettings
from warmline.speech.tts import synthesize

MANIFEST = ".warmline-prompts.json"


class PromptError(WarmlineError):
    """A prompt is unknown, not built, or could not be rendered."""


@dataclass(frozen=True, slots=True)
class Sound:
    key: str  # a catalog key: the file rendered from that prompt's text


@dataclass(frozen=True, slots=True)
class Digits:
    digits: str  # read one by one ("four five six")


@dataclass(frozen=True, slots=True)
class Number:
    value: int  # read as a number ("two hundred forty")


@dataclass(frozen=True, slots=True)
class Characters:
    text: str  # spelt out ("H O")


Media = Sound | Digits | Number | Characters


@dataclass(frozen=True, slots=True)
class Prompt:
    media: tuple[Media, ...]
    barge_in: bool = True  # the caller may talk over it (False for legal disclosures)

    def describe(self) -> str:
        return " ".join(media_name(m) for m in self.media)

    @classmethod
    def say(cls, *media: Media | str, barge_in: bool = True) -> "Prompt":
        """Prompt.say("your_balance_is", Number(240), "dollars"): strings are catalog keys."""
        return cls(tuple(Sound(m) if isinstance(m, str) else m for m in media), barge_in)


def media_name(media: Media) -> str:
    """Sound files by catalog key; read-backs as the PBX names them ("digits:4417")."""
    match media:
        case Sound(key):
            return key
        case Digits(digits):
            return f"digits:{''.join(ch for ch in digits if ch.isdigit())}"
        case Number(value):
            return f"number:{value}"
        case Characters(text):
            return f"characters:{''.join(ch for ch in text if ch.isalnum())}"
    raise PromptError(f"unknown prompt media {media!r}")


@dataclass(frozen=True, slots=True)
class Catalog:
    texts: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> "Catalog":
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise PromptError(f"prompt file {path} does not exist: set prompts.catalog to a TOML file "
                              "with a [prompts] table (copy the packaged warmline/data/prompts-en.toml)") from None
        except tomllib.TOMLDecodeError as exc:
            raise PromptError(f"{path}: not valid TOML ({exc}); fix the line it names") from None
        texts = data.get("prompts")
        if not isinstance(texts, dict) or not all(isinstance(v, str) and v.strip() for v in texts.values()):
            raise PromptError(f"{path}: needs a [prompts] table of key = \"text\" lines, every text non-empty")
        return cls(dict(texts))


RENDERING = "trimmed-1"  # how a text becomes a file; a change here re-renders every prompt


def fingerprint(text: str, engine: str, voice: str | None) -> str:
    return hashlib.sha256(f"{RENDERING}\0{engine}\0{voice or ''}\0{text}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class BuildReport:
    rendered: tuple[str, ...]
    kept: tuple[str, ...]
    removed: tuple[str, ...]


def build(catalog: Catalog, out_dir: Path, engine: str = "flite", voice: str | None = None) -> BuildReport:
    """Render every prompt to out_dir/<key>.wav (8 kHz, 16-bit mono); unchanged ones are kept."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PromptError(f"cannot create {out_dir}: {exc.strerror}; set prompts.dir to a folder Warmline may write "
                          "and Asterisk may read") from None
    manifest_path = out_dir / MANIFEST
    old = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    new: dict[str, str] = {}
    rendered, kept = [], []
    for key, text in catalog.texts.items():
        new[key] = fingerprint(text, engine, voice)
        target = out_dir / f"{key}.wav"
        if old.get(key) == new[key] and target.is_file():
            kept.append(key)
            continue
        try:
            synthesize(text, target, rate=8000, engine=engine, voice=voice)
        except OSError as exc:
            raise PromptError(f"cannot write {target}: {exc.strerror}; make {out_dir} writable or set prompts.dir") from None
        rendered.append(key)
        manifest_path.write_text(json.dumps({**old, **new}, indent=1))  # progress survives an interruption
    removed = [key for key in old if key not in new]
    for key in removed:
        (out_dir / f"{key}.wav").unlink(missing_ok=True)
    manifest_path.write_text(json.dumps(new, indent=1, sort_keys=True))
    return BuildReport(tuple(rendered), tuple(kept), tuple(removed))


def packaged_catalog() -> Path:
    return Path(str(files("warmline.data") / "prompts-en.toml"))


def load_catalog(settings: PromptSettings) -> Catalog:
    """The configured catalog, or the packaged English one."""
    return Catalog.load(Path(settings.catalog) if settings.catalog else packaged_catalog())


def unbuilt(catalog: Catalog, out_dir: Path, engine: str = "flite", voice: str | None = None) -> list[str]:
    """Keys with no rendered file, or whose text or voice changed since the last build."""
    manifest_path = out_dir / MANIFEST
    built = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    return [key for key, text in catalog.texts.items()
            if not (out_dir / f"{key}.wav").is_file() or built.get(key) != fingerprint(text, engine, voice)]


# --- speaking on a call ----------------------------------------------------------------------


class Outcome:
    FINISHED = "finished"
    INTERRUPTED = "interrupted"  # barge-in: the caller talked over it
    FAILED = "failed"  # the PBX could not play it (e.g. a missing file)
    GONE = "gone"  # the caller hung up


class CallVoice(Protocol):
    """What a PBX plugin gives a session so the AI can speak. Implementations never raise on a
    caller who has gone; they return Outcome.GONE."""

    async def play(self, prompt: Prompt) -> str:
        """Play the prompt to the caller; return an Outcome once it has finished or stopped."""

    async def stop(self) -> None:
        """Stop what is playing now (barge-in); a no-op if nothing is."""


class NoVoice:
    """For sessions without a PBX (file transcription, tests): every prompt 'finishes' at once."""

    async def play(self, prompt: Prompt) -> str:
        return Outcome.FINISHED

    async def stop(self) -> None:
        return None
