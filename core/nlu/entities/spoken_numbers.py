"""Numbers said in words: digits read one by one ("four five six"), cardinals ("two hundred forty")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from warmline.nlu.entities.document import _TOKEN_RE
from warmline.nlu.entities.vocabulary import (
    _MAX_AMOUNT,
    _RUN_DASH_WORDS,
    _RUN_PUNCTUATION,
    _SCALES,
    _TEENS,
    _TENS,
    _UNITS,
    _ZERO_WORDS,
)

_REPEATS = {"double": 2, "triple": 3}


def _as_words(tokens: str | Iterable[str]) -> list[str]:
    if isinstance(tokens, str):
        return [match.group().lower().replace("\u2019", "'") for match in _TOKEN_RE.finditer(tokens)]
    return [str(token).lower() for token in tokens]


def _is_digits(word: str) -> bool:
    return word.isascii() and word.isdigit()  # str.isdigit alone also accepts "²" and "٣"


def _single_digit(word: str) -> str | None:
    """One spoken or typed digit: "five" → "5", "oh" → "0", "7" → "7"."""
    if word in _UNITS:
        return str(_UNITS[word])
    if word in _ZERO_WORDS:
        return "0"
    if len(word) == 1 and _is_digits(word):
        return word
    return None


def _digit_piece(words: Sequence[str], i: int) -> tuple[str, int, bool] | None:
    """The digits said at words[i]: (digits, words used, is a cardinal group such as "twenty three")."""
    word = words[i]
    following = words[i + 1] if i + 1 < len(words) else ""
    if _is_digits(word):
        return word, 1, False
    if word in _REPEATS:
        digit = _single_digit(following)
        return (digit * _REPEATS[word], 2, False) if digit else None
    if word in _TENS:
        unit_at = i + 2 if following == "-" else i + 1  # "twenty-three" arrives as three tokens
        unit = words[unit_at] if unit_at < len(words) else ""
        if unit in _UNITS:
            return str(_TENS[word] + _UNITS[unit]), unit_at - i + 1, True
        return str(_TENS[word]), 1, True
    if word in _TEENS:
        if following == "hundred":  # "twelve hundred" read out as digits is "1200"
            return f"{_TEENS[word]}00", 2, True
        return str(_TEENS[word]), 1, True
    digit = _single_digit(word)
    if digit is None:
        return None
    if following == "hundred" and digit != "0":  # "one eight hundred …" is 1-800-…
        return f"{digit}00", 2, True
    return digit, 1, False


def spoken_digits(tokens: str | Iterable[str]) -> str | None:
    """Digits read out one by one: "four five six" → "456", "double seven" → "77", "oh" → "0".

    Grouped numbers are read as people say them in a run: "twenty three" → "23", "eight
    hundred" → "800". Dashes and brackets between digits are skipped. None when any word is
    not part of a number, or there are no digits at all.
    """
    words = _as_words(tokens)
    digits: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in _RUN_PUNCTUATION or words[i] in _RUN_DASH_WORDS:
            i += 1
            continue
        piece = _digit_piece(words, i)
        if piece is None:
            return None
        digits.append(piece[0])
        i += piece[1]
    return "".join(digits) or None


def _cardinal_kind(word: str) -> str | None:
    if word in _UNITS:
        return "unit"
    if word in _TEENS:
        return "teen"
    if word in _TENS:
        return "tens"
    if word == "hundred":
        return "hundred"
    if word in _SCALES:
        return "scale"
    if word == "and":
        return "and"
    if _is_digits(word) and len(word) <= 13:
        return "number"
    return None


# Which kind of word may follow which: "twenty three" yes, "five five" and "twenty twenty" no.
_MAY_FOLLOW = {
    "unit": {None, "tens", "hundred", "scale", "and"},
    "teen": {None, "hundred", "scale", "and"},
    "tens": {None, "hundred", "scale", "and"},
    "number": {None},
    "hundred": {"unit", "teen", "tens", "number"},
    "scale": {"unit", "teen", "tens", "hundred", "number"},
    "and": {"hundred", "scale"},
}


def words_to_number(tokens: str | Iterable[str]) -> int | None:
    """A cardinal number said in words: "two hundred forty" → 240, "a thousand" → 1000.

    Also "twelve hundred" (1200), "two thousand and five" (2005), "zero", and a leading typed
    number ("5 thousand"). None for anything that is not one well-formed number, such as
    digits read one by one ("five five") or a year said in pairs ("nineteen eighty").
    """
    words = [word for word in _as_words(tokens) if word != "-"]
    if words == ["zero"]:
        return 0
    if words[:1] == ["a"]:  # "a hundred", "a thousand"
        if len(words) < 2 or _cardinal_kind(words[1]) not in ("hundred", "scale"):
            return None
        words = ["one", *words[1:]]
    total = group = 0
    last: str | None = None
    scale_cap = _MAX_AMOUNT * 1000  # each scale word must be smaller than the one before
    for word in words:
        kind = _cardinal_kind(word)
        if kind is None or last not in _MAY_FOLLOW[kind]:
            return None
        if kind in ("unit", "teen", "tens"):
            group += _UNITS.get(word) or _TEENS.get(word) or _TENS[word]
        elif kind == "number":
            group = int(word)
        elif kind == "hundred":
            if not 0 < group < 100:
                return None
            group *= 100
        elif kind == "scale":
            if _SCALES[word] >= scale_cap:
                return None
            total, group, scale_cap = total + group * _SCALES[word], 0, _SCALES[word]
        last = kind
    if last in (None, "and"):
        return None
    return total + group
