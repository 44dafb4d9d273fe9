"""`warmline train` and `warmline classify`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from warmline.errors import WarmlineError
from warmline.nlu.policy import NluSettings

REPO = Path(__file__).resolve().parents[2]


def train_command(out: str, clinc: str | None) -> int:
    try:
        from warmline.nlu.train import train
    except ImportError as exc:
        raise WarmlineError(f"training needs scikit-learn and onnx ({exc.name} is missing): "
                            "pip install 'warmline[train]'") from None
    card = train(REPO, Path(out), Path(clinc) if clinc else REPO / "models/intents/clinc150/data_full.json")
    print(f"trained {card['data_version'][:12]} in {card['train_seconds']} s → {out}")
    for name, m in card["metrics"].items():
        print(f"  {name:<18} rows {m['rows']:>4}  accuracy {m['accuracy']:.1%}  "
              f"regulated→contain {m['escalate_answered_contain']:.2%}  routine→contain {m['contain_answered_contain']:.1%}")
    print(f"  thresholds {card['thresholds']}, temperature {card['temperature']}")
    return 0


def classify_command(settings: NluSettings) -> int:
    from warmline.nlu.classify import Classifier

    classifier = Classifier(settings)
    stdin = open(sys.stdin.fileno(), "r", encoding="utf-8", errors="replace", closefd=False)
    for line in stdin:
        result = classifier.classify(line.rstrip("\n"))
        print(json.dumps(result.as_dict(), ensure_ascii=False), flush=True)
    return 0
