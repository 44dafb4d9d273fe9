"""The words and patterns more than one stage reads: number words, weak letters, run separators."""

from __future__ import annotations

import re

_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_ZERO_WORDS = frozenset({"zero", "oh", "o", "nought", "naught"})
_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_WEAK_LETTERS = frozenset({"a", "i"})  # mostly an article and a pronoun, rarely a spelled letter

# Punctuation and words that may sit between the digits of one number: "555-123-4567", "(555) 123".
_RUN_PUNCTUATION = frozenset({"-", "(", ")", ".", "+"})
_RUN_DASH_WORDS = frozenset({"dash", "hyphen"})

_MAX_AMOUNT = 10**12  # beyond this a "dollar amount" is a misheard digit run, and Decimal stays exact
_ORDINAL_DIGITS_RE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)", re.ASCII)
