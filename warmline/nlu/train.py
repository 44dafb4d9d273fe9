"""`warmline train`: fit the intent model, calibrate it, pick thresholds, export ONNX + card.

Training needs the `train` extra (scikit-learn, onnx); nothing here is imported at run time.
Reproducible: fixed data order, fixed seed, deterministic solver; the card records the data hash.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .data import (
    Example, augment, data_version, holdout, read_clinc, read_eval, read_train_dir,
)
from .features import Featurizer
from .model import CARD_FILE, MODEL_FILE, VOCAB_FILE, IntentModel, Scores
from .policy import IntentPolicy, NluSettings
from .taxonomy import CONTAIN, ESCALATE, INTENTS

REGULARISATION_C = 16.0
MAX_ESCALATE_LEAK = 0.005  # thresholds are chosen to keep regulated→contain under this on held-out data


def _matrix(featurize: Featurizer, texts: list[str]):
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for r, text in enumerate(texts):
        index, values = featurize(text)
        rows += [r] * len(index)
        cols += index.tolist()
        vals += values.tolist()
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), len(featurize.vocabulary)), dtype=np.float32)


def fit(examples: list[Example]):
    from sklearn.linear_model import LogisticRegression

    texts = [e.text for e in examples]
    featurize = Featurizer.fit(texts)
    labels = [INTENTS.index(e.intent) for e in examples]
    clf = LogisticRegression(C=REGULARISATION_C, max_iter=3000, class_weight="balanced", tol=1e-6)
    clf.fit(_matrix(featurize, texts), labels)
    return featurize, clf


def temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature that minimises held-out log-loss (Guo et al. 2017)."""
    best, best_nll = 1.0, np.inf
    for t in np.arange(0.3, 3.01, 0.05):
        z = logits / t
        z -= z.max(axis=1, keepdims=True)
        nll = -np.mean(z[np.arange(len(labels)), labels] - np.log(np.exp(z).sum(axis=1)))
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 2)


def export_onnx(path: Path, weights: np.ndarray, bias: np.ndarray, temp: float) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Gather", ["W", "indices"], ["rows"], axis=0),
        helper.make_node("Unsqueeze", ["values", "axis1"], ["values_col"]),
        helper.make_node("Mul", ["rows", "values_col"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis0"], ["summed"], keepdims=0),
        helper.make_node("Add", ["summed", "b"], ["logits"]),
        helper.make_node("Div", ["logits", "T"], ["scaled"]),
        helper.make_node("Softmax", ["scaled"], ["probabilities"], axis=-1),
    ]
    init = [numpy_helper.from_array(weights.astype(np.float32), "W"),
            numpy_helper.from_array(bias.astype(np.float32), "b"),
            numpy_helper.from_array(np.array(temp, dtype=np.float32), "T"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0")]
    graph = helper.make_graph(
        nodes, "warmline_intent",
        [helper.make_tensor_value_info("indices", TensorProto.INT64, ["n"]),
         helper.make_tensor_value_info("values", TensorProto.FLOAT, ["n"])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [weights.shape[1]])],
        init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="warmline train")
    model.ir_version = 8  # readable by onnxruntime 1.17+
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())


def pick_thresholds(model: IntentModel, held: list[Example]) -> dict[str, float]:
    """Most containment on held-out routine requests with regulated→contain ≤ MAX_ESCALATE_LEAK."""
    scores = [(model.score(e.text), e.intent) for e in held]
    candidates = []
    for guard in (0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3):
        for contain in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
            leak, kept = _rates(IntentPolicy(NluSettings(contain_threshold=contain, escalate_guard=guard)), scores)
            # Within the leak budget: most containment; if none is, the least leak.
            candidates.append((leak > MAX_ESCALATE_LEAK, leak if leak > MAX_ESCALATE_LEAK else -kept, contain, guard))
    _, _, contain, guard = min(candidates)
    return {"contain_threshold": contain, "escalate_guard": guard, "clarify_threshold": 0.3}


def _rates(policy: IntentPolicy, scores: list[tuple[Scores, str]]) -> tuple[float, float]:
    esc = [policy.decide(s).action == "contain" for s, truth in scores if truth in ESCALATE]
    con = [policy.decide(s).action == "contain" for s, truth in scores if truth in CONTAIN]
    return (sum(esc) / max(1, len(esc)), sum(con) / max(1, len(con)))


def evaluate(model: IntentModel, policy: IntentPolicy, rows: list[Example]) -> dict:
    scores = [(model.score(e.text), e.intent) for e in rows]
    decisions = [policy.decide(s) for s, _ in scores]
    truth = [t for _, t in scores]
    confusion = {a: {b: 0 for b in INTENTS} for a in INTENTS}
    for d, t in zip(decisions, truth):
        confusion[t][d.intent] += 1
    leak, kept = _rates(policy, scores)
    return {
        "rows": len(rows),
        "accuracy": round(sum(d.intent == t for d, t in zip(decisions, truth)) / max(1, len(rows)), 4),
        "escalate_answered_contain": round(leak, 4),
        "contain_answered_contain": round(kept, 4),
        "expected_calibration_error": _ece([s for s, _ in scores], truth),
        "confusion": {t: {p: n for p, n in row.items() if n} for t, row in confusion.items() if any(row.values())},
    }


def _ece(scores: list[Scores], truth: list[str], bins: int = 10) -> float:
    conf = np.array([s.top[1] for s in scores])
    right = np.array([s.top[0] == t for s, t in zip(scores, truth)], dtype=float)
    total = 0.0
    for lo in np.linspace(0, 1, bins, endpoint=False):
        inside = (conf > lo) & (conf <= lo + 1 / bins)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return round(float(total), 4)


def train(repo: Path, out: Path, clinc: Path) -> dict:
    started = time.perf_counter()
    own = read_train_dir(repo / "models/intents/train")
    clinc_train, clinc_test = read_clinc(clinc)
    own_train, own_held = holdout(own)
    examples = own_train + augment(own_train) + clinc_train
    featurize, clf = fit(examples)
    weights, bias = clf.coef_.T.copy(), clf.intercept_.copy()
    held_logits = _matrix(featurize, [e.text for e in own_held]) @ weights + bias
    temp = temperature(np.asarray(held_logits), np.array([INTENTS.index(e.intent) for e in own_held]))
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(out / MODEL_FILE, weights, bias, temp)
    features = sorted(featurize.vocabulary, key=featurize.vocabulary.__getitem__)
    (out / VOCAB_FILE).write_text(json.dumps({"labels": list(INTENTS), "features": features,
                                              "idf": [round(float(x), 6) for x in featurize.idf]}))
    (out / CARD_FILE).write_text("{}")
    model = IntentModel(out)
    thresholds = pick_thresholds(model, own_held)
    policy = IntentPolicy(NluSettings(**thresholds))
    evals = {"held_out": evaluate(model, policy, own_held),
             "clinc150_oos_test": evaluate(model, policy, clinc_test)}
    for name in ("phone", "chat"):
        path = repo / f"models/intents/eval/{name}.tsv"
        if path.is_file():
            evals[f"eval_{name}"] = evaluate(model, policy, read_eval(path))
    card = {
        "model": "linear (multinomial logistic regression) over word 1-2-grams and char 2-5-grams, TF-IDF",
        "data_version": data_version(own, clinc_train),
        "examples": {"warmline_train": len(own_train), "augmented": len(examples) - len(own_train) - len(clinc_train),
                     "clinc150_out_of_scope": len(clinc_train), "held_out": len(own_held)},
        "features": len(features), "regularisation_C": REGULARISATION_C, "temperature": temp,
        "thresholds": thresholds, "metrics": evals,
        "credits": "Out-of-scope examples from CLINC150 (Larson et al., EMNLP 2019), CC BY 3.0.",
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    (out / CARD_FILE).write_text(json.dumps(card, indent=1))
    return card
