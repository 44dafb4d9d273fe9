"""From intent scores to what the AI may do: contain, escalate, or ask again (clarify).

Built for the asymmetry of the job: treating a regulated request as routine is the worst
failure, over-escalating only costs producer time. So a routine intent is contained only when
the model is sure of it AND little probability sits on any escalate-class intent; an
escalate-class top intent escalates even when the model is only fairly sure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from warmline.nlu.model import Scores
from warmline.nlu.regulated import regulated_signal
from warmline.nlu.taxonomy import (
    CONTAIN,
    DEFAULT_QUEUES,
    ESCALATE,
    INTENTS,
    OUT_OF_SCOPE,
)

Action = Literal["contain", "escalate", "clarify"]


class NluSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_dir: str = Field("", description="trained intent model folder; empty = models/intent of this install", examples=[""])
    contain_threshold: float = Field(0.35, gt=0, lt=1, description="confidence needed to handle a routine intent", examples=[0.35])
    escalate_guard: float = Field(0.125, gt=0, lt=1, description="escalate-class probability that blocks containing", examples=[0.125])
    clarify_threshold: float = Field(0.30, gt=0, lt=1, description="below this nothing is decided: ask again", examples=[0.30])
    regulated_veto: bool = Field(True, description="regulated-topic phrasings (refunds, fees, coverage, price of coverage, "
                                 "changes stated as facts...) escalate a turn the model would contain", examples=[True])
    queues: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_QUEUES), description="queue per escalated intent")
    actions: dict[str, Literal["contain", "escalate"]] = Field(
        default_factory=dict, description="per-intent override of the default action")

    @model_validator(mode="after")
    def _known_intents(self) -> "NluSettings":
        unknown = sorted(set(self.queues) | set(self.actions) - set(INTENTS))
        unknown = [u for u in unknown if u not in INTENTS]
        if unknown:
            raise ValueError(f"unknown intent(s) {', '.join(unknown)}; the intents are: {', '.join(INTENTS)}")
        return self


@dataclass(frozen=True, slots=True)
class Decision:
    intent: str
    confidence: float
    action: Action
    queue: str | None
    signal: str | None = None  # the regulated-topic pattern that vetoed "contain", if one did


class IntentPolicy:
    def __init__(self, settings: NluSettings) -> None:
        self.settings = settings
        self.escalating = {i for i in ESCALATE if settings.actions.get(i, "escalate") == "escalate"}
        self.escalating |= {i for i in CONTAIN if settings.actions.get(i) == "escalate"}

    def decide(self, scores: Scores, text: str = "") -> Decision:
        """`text`: the words scored; with them a regulated-topic phrasing can veto "contain"."""
        decision = self._decide(scores)
        if decision.action != "contain" or not text or not self.settings.regulated_veto:
            return decision
        signal = regulated_signal(text, self.escalating)
        if signal is None:
            return decision
        return Decision(signal.intent, scores.probabilities.get(signal.intent, 0.0), "escalate",
                        self._queue(signal.intent), signal.name)

    def _decide(self, scores: Scores) -> Decision:
        s = self.settings
        intent, confidence = scores.top
        probs = scores.probabilities
        if intent == OUT_OF_SCOPE or confidence < s.clarify_threshold:
            return Decision(intent, confidence, "clarify", self._queue(intent))
        if intent in self.escalating:
            return Decision(intent, confidence, "escalate", self._queue(intent))
        risk = sum(p for i, p in probs.items() if i in self.escalating)
        if risk >= s.escalate_guard:  # a routine guess with a regulated reading close behind
            runner_up = max(self.escalating, key=lambda i: probs.get(i, 0.0))
            return Decision(intent, confidence, "escalate", self._queue(runner_up))
        if confidence >= s.contain_threshold:
            return Decision(intent, confidence, "contain", None)
        return Decision(intent, confidence, "clarify", None)

    def no_words(self) -> Decision:
        """Empty, non-English or junk input: nothing to act on."""
        return Decision(OUT_OF_SCOPE, 1.0, "clarify", self._queue(OUT_OF_SCOPE))

    def _queue(self, intent: str) -> str | None:
        return self.settings.queues.get(intent, DEFAULT_QUEUES.get(intent))
