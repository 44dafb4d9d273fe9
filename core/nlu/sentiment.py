"""Per-turn sentiment with VADER (lexicon and rules, no model download), tuned for callers.

VADER's general lexicon reads "nobody helps" as mildly positive; a few call-centre words are
added so a frustrated caller scores negative. Score: compound in [-1, 1].
"""

from __future__ import annotations

from functools import cache

CALLER_LEXICON = {  # VADER's scale: -4 (most negative) .. 4
    "nobody": -1.5, "ridiculous": -2.5, "unacceptable": -2.8, "useless": -2.5, "ignored": -2.0,
    "again": -0.6, "still": -0.5, "waiting": -1.0, "robot": -1.2, "lawyer": -2.0, "attorney": -2.0,
    "commissioner": -2.0, "bbb": -2.0, "complain": -2.0, "complaint": -1.8, "runaround": -2.5,
    "incompetent": -3.0, "frustrated": -2.4, "fed": -1.0, "nonsense": -2.2, "joke": -1.0,
}


@cache
def _analyzer():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    analyzer.lexicon.update(CALLER_LEXICON)
    return analyzer


def sentiment(text: str) -> float:
    if not text.strip():
        return 0.0
    return round(_analyzer().polarity_scores(text[:2000])["compound"], 3)
