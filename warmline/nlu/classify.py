"""One utterance → intent, confidence, action, queue, entities and sentiment: the same path
`warmline classify` and a live call use."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from .entities import extract_entities
from .features import normalize
from .model import IntentModel
from .policy import IntentPolicy, NluSettings
from .sentiment import sentiment

MAX_TEXT = 2000  # a turn longer than this is cut before scoring; the reply echoes what was scored


@dataclass(frozen=True, slots=True)
class Classification:
    text: str
    intent: str
    confidence: float
    action: str
    queue: str | None
    entities: tuple[dict, ...]
    sentiment: float

    def as_dict(self) -> dict:
        return asdict(self) | {"entities": list(self.entities)}


def default_model_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "models" / "intent"


def model_dir(settings: NluSettings) -> Path:
    return Path(os.path.expanduser(settings.model_dir)) if settings.model_dir else default_model_dir()


class Classifier:
    def __init__(self, settings: NluSettings, model: IntentModel | None = None) -> None:
        self.model = model or IntentModel(model_dir(settings))
        self.policy = IntentPolicy(settings)

    def classify(self, text: str) -> Classification:
        text = _printable(text)[:MAX_TEXT]
        decision = self.policy.decide(self.model.score(text)) if normalize(text) else self.policy.no_words()
        entities = tuple({"kind": e.kind, "value": e.value, "text": e.text} for e in extract_entities(text))
        return Classification(text, decision.intent, round(decision.confidence, 4), decision.action,
                              decision.queue, entities, sentiment(text))


def _printable(text: str) -> str:
    """Binary junk and control characters out; the words stay."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()
