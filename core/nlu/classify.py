"""One utterance → intent, confidence, action, queue, entities and sentiment: the same path
`warmline classify` and a live call use."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from warmline.nlu.entities import extract_entities
from warmline.nlu.features import normalize
from warmline.nlu.model import IntentModel
from warmline.nlu.policy import IntentPolicy, NluSettings
from warmline.nlu.sentiment import sentiment

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
    signal: str | None = None  # a regulated-topic pattern that overrode "contain"

    def as_dict(self) -> dict:
        return asdict(self) | {"entities": list(self.entities)}


def default_model_dir() -> Path:
    return Path(str(files("warmline.intent_model")))


def model_dir(settings: NluSettings) -> Path:
    return Path(os.path.expanduser(settings.model_dir)) if settings.model_dir else default_model_dir()


class Classifier:
    def __init__(self, settings: NluSettings, model: IntentModel | None = None) -> None:
        self.model = model or IntentModel(model_dir(settings))
        self.policy = IntentPolicy(settings)

    def classify(self, text: str) -> Classification:
        text = _printable(text)[:MAX_TEXT]
        decision = self.policy.decide(self.model.score(text), text) if normalize(text) else self.policy.no_words()
        entities = tuple({"kind": e.kind, "value": e.value, "text": e.text} for e in extract_entities(text))
        return Classification(text, decision.intent, round(decision.confidence, 4), decision.action,
                              decision.queue, entities, sentiment(text), decision.signal)


def _printable(text: str) -> str:
    """Binary junk and control characters out; the words stay."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()
