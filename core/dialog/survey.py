"""The post-call satisfaction survey: one short question, answered 1-5 by keypad or a spoken number.

Asked after calls the AI resolved (the flow file's `survey:` section turns it on), and — through the
PBX's dialplan — after escalated ones once the producer hangs up, so AI CSAT and escalation CSAT
are measured the same way. The answer is one event, `SurveyAnswered`; no answer records nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from warmline.calls.events import CallEvent, coerce_enums
from warmline.dialog.port import HungUp, Keyed, Said
from warmline.speech.prompts import Prompt

if TYPE_CHECKING:
    from warmline.dialog.dialogue import Conversation

LOWEST, HIGHEST = 1, 5
WORDS = {"one": 1, "won": 1, "two": 2, "to": 2, "too": 2, "three": 3, "tree": 3, "four": 4, "for": 4,
         "five": 5}
_TOKEN = re.compile(r"[a-z]+|\d+")


class SurveyAfter(StrEnum):
    """Which experience the score rates."""

    AI = "ai"  # the AI resolved the call
    ESCALATED = "escalated"  # a producer took the call (asked by the PBX after the producer hung up)


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered(CallEvent):
    score: int  # 1 (very unsatisfied) .. 5 (very satisfied)
    after: SurveyAfter

    def __post_init__(self) -> None:
        coerce_enums(self)
        if isinstance(self.score, bool) or not isinstance(self.score, int) or not LOWEST <= self.score <= HIGHEST:
            raise ValueError(f"SurveyAnswered.score: {self.score!r} is not a whole number from {LOWEST} to {HIGHEST}")


def score_of(reply: Said | Keyed) -> int | None:
    """1-5 from a key or the words ("five", "a four", "5 out of 5" → the first number said)."""
    if isinstance(reply, Keyed):
        digits = reply.digits.strip("#")
        return int(digits) if len(digits) == 1 and digits.isdigit() and LOWEST <= int(digits) <= HIGHEST else None
    words = reply.text.lower().replace("-", " ")
    tokens = _TOKEN.findall(words)
    # the filler words "to"/"for" count only when nothing else is a number ("two" misheard as "to")
    strong = [t for t in tokens if t.isdigit() or t in WORDS and t not in ("to", "too", "for")]
    for token in strong or [t for t in tokens if t in WORDS]:
        value = int(token) if token.isdigit() else WORDS[token]
        return value if LOWEST <= value <= HIGHEST else None
    return None


async def ask_after_call(conv: "Conversation") -> bool:
    """The flow file's question once, one answer (a key or words, the usual no-input timeout, no
    re-prompt): a score is recorded and thanked for, anything else records nothing and the call
    ends as it would have. No trigger runs here (a 0 or an angry word cannot hold the caller).
    False when the caller hung up on it."""
    survey = conv.flows.survey
    reply = await conv.port.ask(Prompt.say(survey.question), keys=False)
    if isinstance(reply, HungUp):
        return False
    score = score_of(reply) if isinstance(reply, (Said, Keyed)) else None
    if score is None:
        return True
    conv.emit(SurveyAnswered(call_id=conv.call_id, score=score, after=SurveyAfter.AI))
    return await conv.port.say(Prompt.say(survey.thanks))


# The kinds this module defines, for the event store's registry (warmline.catalog).
KINDS: tuple[type[CallEvent], ...] = (SurveyAnswered,)
