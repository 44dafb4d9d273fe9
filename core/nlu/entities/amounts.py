"""Dollar amounts, typed ("$240.50", "1,200 dollars") or spoken ("forty dollars and fifty cents")."""

from __future__ import annotations

import re
from decimal import Decimal

from warmline.nlu.entities.document import _Doc
from warmline.nlu.entities.spoken_numbers import _is_digits, words_to_number
from warmline.nlu.entities.vocabulary import _MAX_AMOUNT, _SCALES, _TEENS, _TENS, _UNITS

_CURRENCY_WORDS = frozenset({"dollar", "dollars", "buck", "bucks"})
_CENT_WORDS = frozenset({"cent", "cents"})
_TYPED_AMOUNT_RE = re.compile(
    r"\$\s?(?P<sign_whole>\d{1,3}(?:,\d{3})+|\d{1,13})(?:\.(?P<sign_cents>\d{1,2}))?(?!\d|,\d)"
    r"|(?<![\w.,$])(?P<word_whole>\d{1,3}(?:,\d{3})+|\d{1,13})(?:\.(?P<word_cents>\d{1,2}))?"
    r"\s*(?:dollars?|bucks?|usd)\b",
    re.ASCII | re.IGNORECASE,
)


def _format_amount(whole: int, cents: int) -> str | None:
    if not 0 <= whole < _MAX_AMOUNT or not 0 <= cents < 100:
        return None
    return str((Decimal(whole) + Decimal(cents) / 100).quantize(Decimal("0.01")))


def _typed_amounts(doc: _Doc) -> None:
    for match in _TYPED_AMOUNT_RE.finditer(doc.text):
        whole = match.group("sign_whole") or match.group("word_whole")
        cents = match.group("sign_cents") or match.group("word_cents") or "0"
        value = _format_amount(int(whole.replace(",", "")), int(cents.ljust(2, "0")))
        if value:
            doc.claim_chars("amount", value, match.start(), match.end())


_NUMBER_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, *_SCALES, "hundred", "and", "a", "-", "zero"})


def _number_before(doc: _Doc, stop: int, limit: int = 14) -> tuple[int, int] | None:
    """The longest cardinal ending just before token `stop`: (value, start index)."""
    first = stop
    while first - 1 >= 0 and stop - first < limit and doc.free[first - 1] and (
        doc.word(first - 1) in _NUMBER_WORDS or _is_digits(doc.word(first - 1))
    ):
        first -= 1
    for start in range(first, stop):
        value = words_to_number(doc.words[start:stop]) if doc.word(start) != "-" else None
        if value is not None:
            return value, start
    return None


def _cents_after(doc: _Doc, i: int) -> tuple[int, int]:
    """ "and fifty cents" after the dollars: (cents, index after it), or (0, i) when absent."""
    begin = i + 1 if doc.word(i) == "and" else i
    for stop in range(min(begin + 3, len(doc.words)), begin, -1):
        if doc.word(stop) in _CENT_WORDS and doc.all_free(begin, stop + 1):
            cents = words_to_number(doc.words[begin:stop])
            if cents is not None and cents < 100:
                return cents, stop + 1
    return 0, i


def _spoken_amounts(doc: _Doc) -> None:
    for i, word in enumerate(doc.words):
        if word in _CURRENCY_WORDS and doc.free[i]:
            number = _number_before(doc, i)
            if number is None:
                continue
            cents, end = _cents_after(doc, i + 1)
            value = _format_amount(number[0], cents)
            if value:
                doc.claim_tokens("amount", value, number[1], end)
    for i, word in enumerate(doc.words):  # "fifty cents" on its own
        if word in _CENT_WORDS and doc.free[i]:
            number = _number_before(doc, i, limit=3)
            value = _format_amount(0, number[0]) if number else None
            if number and value:
                doc.claim_tokens("amount", value, number[1], i + 1)
