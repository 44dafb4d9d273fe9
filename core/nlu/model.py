"""The intent model at run time: features in Python, scores from the ONNX graph (onnxruntime).

The graph is a linear layer over sparse features with a calibration temperature and a softmax:
Gather(weights, indices) · values → sum → + bias → / T → softmax.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from warmline.errors import WarmlineError
from warmline.nlu.features import TEXT_VERSION, Featurizer

MODEL_FILE = "intent.onnx"
VOCAB_FILE = "features.json"
CARD_FILE = "card.json"


class IntentModelError(WarmlineError):
    """The intent model is missing, corrupt or does not match its feature file."""


@dataclass(frozen=True, slots=True)
class Scores:
    probabilities: dict[str, float]

    @property
    def top(self) -> tuple[str, float]:
        intent = max(self.probabilities, key=self.probabilities.__getitem__)
        return intent, self.probabilities[intent]


class IntentModel:
    def __init__(self, folder: Path) -> None:
        import onnxruntime

        self.folder = folder
        missing = [f for f in (MODEL_FILE, VOCAB_FILE, CARD_FILE) if not (folder / f).is_file()]
        if missing:
            raise IntentModelError(f"intent model folder {folder} lacks {', '.join(missing)}: "
                                   "run `warmline train` or set nlu.model_dir")
        try:
            spec = json.loads((folder / VOCAB_FILE).read_text())
            self.card = json.loads((folder / CARD_FILE).read_text())
            self.labels: list[str] = spec["labels"]
            self.featurize = Featurizer({f: i for i, f in enumerate(spec["features"])}, np.asarray(spec["idf"]))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # a few microseconds of work: threads cost more than they save
            options.inter_op_num_threads = 1
            self.session = onnxruntime.InferenceSession(str(folder / MODEL_FILE), options,
                                                        providers=["CPUExecutionProvider"])
        except (ValueError, KeyError, OSError, RuntimeError) as exc:
            raise IntentModelError(f"cannot load the intent model in {folder}: {exc}; "
                                   "run `warmline train` again") from None
        except Exception as exc:  # onnxruntime's own error types (InvalidProtobuf, Fail)
            raise IntentModelError(f"cannot load the intent model in {folder}: {type(exc).__name__}; "
                                   "run `warmline train` again") from None
        if self.card.get("text_version") != TEXT_VERSION:
            raise IntentModelError(
                f"the intent model in {folder} was trained to read text version "
                f"{self.card.get('text_version', 'unknown')}, this Warmline reads {TEXT_VERSION}: "
                "run `warmline train` again")

    def score(self, text: str) -> Scores:
        indices, values = self.featurize(text)
        [probabilities] = self.session.run(None, {"indices": indices, "values": values})
        return Scores(dict(zip(self.labels, probabilities.tolist())))

    def describe(self) -> str:
        return (f"intent model {self.card.get('data_version', '?')[:12]} "
                f"({len(self.labels)} intents, {len(self.featurize.vocabulary)} features)")
