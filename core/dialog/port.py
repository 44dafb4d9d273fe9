"""How the conversation reaches the caller: say, ask, and what comes back.

The dialogue never touches a PBX or audio. A live call implements this port with the listening
session (prompts over the PBX, answers from speech or keys); the dialogue tests implement it
with a script of caller turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from warmline.speech.prompts import Prompt


@dataclass(frozen=True, slots=True)
class Said:
    text: str


@dataclass(frozen=True, slots=True)
class Keyed:
    digits: str  # DTMF, "#" ends an entry and is not included


@dataclass(frozen=True, slots=True)
class Silence:
    """No answer before the no-input timeout."""


@dataclass(frozen=True, slots=True)
class HungUp:
    """The caller is gone; the dialogue ends quietly."""


@dataclass(frozen=True, slots=True)
class Unheard:
    """The caller spoke but Warmline could not make it out (the decoder failed or timed out)."""

    error: str


Reply = Said | Keyed | Silence | HungUp | Unheard


class CallerPort(Protocol):
    async def say(self, prompt: Prompt) -> bool:
        """Play a prompt to the end (or until the caller talks over it); False if the caller is gone."""

    async def ask(self, prompt: Prompt, *, private: bool = False, keys: bool = True,
                  early: bool = False) -> Reply:
        """Play a question and wait for the answer: words, keys, silence, or a hang-up.

        private: the answer is a secret the caller keys in (the journal shows it masked).
        keys: the answer may be several digits, ended by # or a pause (False: one key is the whole
        answer, taken at once — a menu choice, or 0 for a person).
        early: words the caller said before the question (over the greeting) answer it."""

    def pause_listening(self) -> None:
        """Stop transcribing (the caller is about to key payment details elsewhere)."""
