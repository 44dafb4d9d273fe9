"""Text → sparse features, identical at training and at run time (no scikit-learn here).

Words (1- and 2-grams) carry meaning; character 2–5-grams inside word boundaries carry
misspellings and STT mishearings ("deductable", "the duck tibble"). Typed shorthand is spelled
out first (`shorthand.py`: "pls cxl my pol" reads as "please cancel my policy"). Weights are
sublinear TF × IDF, L2-normalised, as the model was trained with.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections import Counter

import numpy as np
from warmline.nlu.shorthand import SHORTHAND

MAX_CHARS = 600  # past this a caller's turn is rambling; the head says what they want
_WORD = re.compile(r"[a-z0-9']+")
BIAS = "<s>"  # always present, so even an empty line has one feature
# What a model was trained to read: bump the number when canonical()/ngrams() change; the
# shorthand table is hashed in. A model whose card names another version reads other words.
TEXT_VERSION = f"2-{hashlib.sha256(json.dumps(SHORTHAND, sort_keys=True).encode()).hexdigest()[:8]}"


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text[: MAX_CHARS * 2]).encode("ascii", "ignore").decode()
    return " ".join(_WORD.findall(text.lower().replace("’", "'")))[:MAX_CHARS]


def canonical(text: str) -> str:
    """The words the model reads: apostrophes dropped ("what's" and "whats" are one word) and
    chat shorthand spelled out ("pls cxl my pol" → "please cancel my policy")."""
    return " ".join(SHORTHAND.get(w, w) for w in normalize(text).replace("'", "").split())


def ngrams(text: str) -> list[str]:
    words = canonical(text).split()
    feats = [BIAS]
    feats += [f"w:{w}" for w in words]
    feats += [f"b:{a} {b}" for a, b in zip(words, words[1:])]
    for word in words:
        padded = f" {word} "
        for n in range(2, 6):
            feats += [f"c:{padded[i:i + n]}" for i in range(len(padded) - n + 1)]
    return feats


class Featurizer:
    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.idf = idf.astype(np.float32)

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of one utterance's known features."""
        counts = Counter(f for f in ngrams(text) if f in self.vocabulary)
        if not counts:
            counts = Counter({BIAS: 1})
        index = np.fromiter((self.vocabulary[f] for f in counts), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float32, count=len(counts))
        values = tf * self.idf[index]
        return index, values / (np.linalg.norm(values) or 1.0)

    @classmethod
    def fit(cls, texts: list[str], min_df: int = 2) -> "Featurizer":
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(ngrams(text)))
        kept = sorted(f for f, n in df.items() if n >= min_df or f == BIAS)
        vocabulary = {f: i for i, f in enumerate(kept)}
        total = len(texts)
        idf = np.array([math.log((1 + total) / (1 + df[f])) + 1.0 for f in kept], dtype=np.float32)
        return cls(vocabulary, idf)
