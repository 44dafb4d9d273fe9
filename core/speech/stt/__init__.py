"""Speech-to-text engines, loaded lazily through the `warmline.stt` entry point group."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol

import numpy as np
from warmline.errors import WarmlineError

GROUP = "warmline.stt"


class SttError(WarmlineError):
    """A speech engine could not load its model or failed to decode."""


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    audio_seconds: float
    decode_seconds: float
    engine: str


class SttStream(Protocol):
    """One utterance fed as it is spoken (streaming engines only). Both methods block."""

    def accept(self, audio: np.ndarray) -> str:
        """Feed float32 mono audio; returns the text so far."""

    def finish(self) -> str:
        """The utterance is over: the final text."""


class SttEngine(Protocol):
    name: str
    sample_rates: tuple[int, ...]  # rates the engine accepts; callers resample at the edge
    streaming: bool  # True: also offers open_stream(rate) -> SttStream

    def transcribe(self, audio: np.ndarray, rate: int) -> str:
        """Blocking decode of one utterance (float32 mono in [-1, 1)). Run it off the event loop."""

    def describe(self) -> str:
        """One line naming the model, for `warmline check`."""


def load_engine(name: str, **options: Any) -> SttEngine:
    found = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in found:
        raise SttError(f"no speech engine named {name!r} (installed: {', '.join(sorted(found)) or 'none'}); "
                       "set stt.engine to one of them")
    return found[name].load()(**options)
