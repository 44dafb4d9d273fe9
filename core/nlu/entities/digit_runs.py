"""Digit runs and what they are: policy and claim numbers, phones, ZIPs, plain digits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from warmline.nlu.entities.document import _Doc
from warmline.nlu.entities.spoken_numbers import _digit_piece, _is_digits
from warmline.nlu.entities.vocabulary import (
    _ORDINAL_DIGITS_RE,
    _RUN_DASH_WORDS,
    _RUN_PUNCTUATION,
    _WEAK_LETTERS,
)

# Letter names that speech-to-text writes out; ambiguous ones ("are", "you", "why", "see") are left out.
_LETTER_NAMES = {
    "aitch": "H", "bee": "B", "cee": "C", "dee": "D", "eff": "F", "gee": "G", "jay": "J", "kay": "K",
    "el": "L", "em": "M", "en": "N", "pee": "P", "cue": "Q", "ess": "S", "tee": "T", "vee": "V",
    "ex": "X", "zee": "Z", "zed": "Z",
}

_CUE_WORDS = {
    "claim": "claim_number", "claims": "claim_number",
    "policy": "policy_number", "policies": "policy_number", "pol": "policy_number",
    "zip": "zip", "zipcode": "zip", "postal": "zip",
    "phone": "phone", "telephone": "phone", "cell": "phone", "mobile": "phone", "call": "phone",
    "callback": "phone", "reach": "phone", "text": "phone", "fax": "phone",
}
_CUE_WINDOW = 6  # tokens looked back for a cue: "my policy number is uh" fits


@dataclass(frozen=True, slots=True)
class _Piece:
    value: str  # digits, letters, or "" for a connector
    start: int  # token index
    stop: int  # token index after it
    letter: bool = False
    cardinal: bool = False  # a grouped number such as "twenty three": alone it is not a digit run

    @property
    def connector(self) -> bool:
        return not self.value


@dataclass(frozen=True, slots=True)
class _Run:
    pieces: tuple[_Piece, ...]

    @property
    def start(self) -> int:
        return self.pieces[0].start

    @property
    def stop(self) -> int:
        return self.pieces[-1].stop

    @property
    def value(self) -> str:
        return "".join(piece.value for piece in self.pieces)

    @property
    def digit_count(self) -> int:
        return sum(ch.isdigit() for ch in self.value)


def _letterish(word: str) -> bool:
    return (len(word) == 1 and word.isascii() and word.isalpha()) or word in _LETTER_NAMES


def _letter_piece(doc: _Doc, i: int, after_letter: bool) -> _Piece | None:
    word = doc.word(i)
    if word in _LETTER_NAMES:
        return _Piece(_LETTER_NAMES[word], i, i + 1, letter=True)
    if len(word) == 1 and word.isascii() and word.isalpha():
        if word in _WEAK_LETTERS and not (after_letter or _letterish(doc.word(i + 1))):
            return None
        return _Piece(word.upper(), i, i + 1, letter=True)
    glued_to_digits = doc.glued(i) and doc.word(i + 1) == "-" and doc.glued(i + 1) and _is_digits(doc.word(i + 2))
    if 2 <= len(word) <= 3 and word.isascii() and word.isalpha() and glued_to_digits:
        return _Piece(word.upper(), i, i + 1, letter=True)  # "HO-123456"
    return None


_MIXED_RE = re.compile(r"(?=[a-z0-9]*[a-z])[a-z0-9]*[0-9][a-z0-9]*", re.ASCII)  # letters and digits


def _run_piece(doc: _Doc, i: int, previous: _Piece | None) -> _Piece | None:
    """The piece of a digit run at token i, given the last non-connector piece before it."""
    word = doc.word(i)
    after_letter = previous is not None and previous.letter
    if word in ("o", "oh") and after_letter:
        return _Piece("O", i, i + 1, letter=True)  # "h o one two …" spells HO
    if word in _RUN_PUNCTUATION:
        # A full stop is a separator only inside typed numbers ("555.123.4567"), not at a sentence end.
        if word == "." and not (doc.glued(i - 1) and doc.glued(i)):
            return None
        return _Piece("", i, i + 1)
    if word == ",":
        # "five five five, one two three": a pause the transcriber wrote down. A comma inside
        # a typed number ("1,200") has no space after it and ends the run instead.
        return _Piece("", i, i + 1) if previous is not None and doc.glued(i - 1) and not doc.glued(i) else None
    if word in _RUN_DASH_WORDS:
        return _Piece("", i, i + 1) if previous is not None else None  # "p a dash one two three"
    if _MIXED_RE.fullmatch(word) and not _ORDINAL_DIGITS_RE.fullmatch(word):
        return _Piece(word.upper(), i, i + 1, letter=True)  # typed "ho123456"
    digits = _digit_piece(doc.words, i)
    if digits and doc.all_free(i, i + digits[1]):
        return _Piece(digits[0], i, i + digits[1], cardinal=digits[2])
    return _letter_piece(doc, i, after_letter)


def _opens_number(doc: _Doc, pieces: list[_Piece]) -> bool:
    """A leading "(" or "+" glued to the digits belongs to the number: "(555) 123-4567"."""
    first = pieces[0].start
    return doc.word(first) in ("(", "+") and len(pieces) > 1 and not pieces[1].connector and doc.glued(first)


def _read_run(doc: _Doc, i: int) -> _Run | None:
    pieces: list[_Piece] = []
    last_value: _Piece | None = None
    j = i
    while j < len(doc.words) and doc.free[j]:
        piece = _run_piece(doc, j, last_value)
        if piece is None:
            break
        pieces.append(piece)
        last_value = piece if not piece.connector else last_value
        j = piece.stop
    while pieces and pieces[-1].connector:
        pieces.pop()
    while pieces and pieces[0].connector and not _opens_number(doc, pieces):
        pieces.pop(0)
    return _Run(tuple(pieces)) if pieces else None


def _digit_runs_in(doc: _Doc) -> list[_Run]:
    """Every run of digits and adjacent letters among the free tokens, left to right."""
    runs: list[_Run] = []
    i = 0
    while i < len(doc.words):
        run = _read_run(doc, i) if doc.free[i] else None
        if run is None:
            i += 1
            continue
        runs.append(run)
        i = max(run.stop, i + 1)
    return runs


def _cue_before(doc: _Doc, start: int, floor: int) -> str | None:
    """The nearest cue word within a few tokens before token `start`, not reaching back past `floor`."""
    for i in range(start - 1, max(start - 1 - _CUE_WINDOW, floor - 1), -1):
        if not doc.free[i]:
            return None
        if doc.word(i) == "code" and doc.word(i - 1) == "area":
            return "phone"
        if doc.word(i) in _CUE_WORDS:
            return _CUE_WORDS[doc.word(i)]
    return None


def _phone_value(digits: str) -> str | None:
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":  # North American area codes start with 2-9
        return None
    return f"+1{digits}"


def _classify(run: _Run, cue: str | None) -> tuple[str, str] | None:
    """(kind, value) for a digit run given the cue before it, or None if it is not an identifier."""
    value, digit_count = run.value, run.digit_count
    has_letters = not value.isdigit()
    if digit_count < 3:
        return None  # "one", "two cars", "double seven" are not identifiers
    if cue in ("claim_number", "policy_number"):
        return cue, value
    if cue == "zip" and not has_letters and len(value) in (5, 9):
        return "zip", value if len(value) == 5 else f"{value[:5]}-{value[5:]}"
    if not has_letters and (phone := _phone_value(value)):
        return "phone", phone
    if has_letters and value[0].isalpha() and digit_count >= 6:
        return "policy_number", value
    values = [piece for piece in run.pieces if not piece.connector]
    if len(values) == 1 and (values[0].cardinal or len(value) < 4):
        return None  # "twelve hundred" or "150" alone is a quantity, not a digit sequence
    return "digits", value


def _merged_area_code(doc: _Doc, runs: list[_Run], k: int) -> _Run | None:
    """ "area code five five five, number one two three four five six seven" as one phone."""
    run = runs[k]
    if k + 1 >= len(runs) or not (run.value.isdigit() and len(run.value) == 3):
        return None
    before = doc.words[max(run.start - 3, 0) : run.start]
    if not any(before[j : j + 2] == ["area", "code"] for j in range(len(before) - 1)):
        return None
    following = runs[k + 1]
    if following.start - run.stop > 4 or not (following.value.isdigit() and len(following.value) == 7):
        return None
    if not doc.all_free(run.stop, following.start) or _phone_value(run.value + following.value) is None:
        return None
    return _Run(run.pieces + following.pieces)


def _without_leading_oh(doc: _Doc, run: _Run) -> _Run:
    """ "oh, five five five …": an interjection, not a zero, when the rest is a phone number."""
    if doc.word(run.start) == "oh" and len(run.pieces) > 1 and _phone_value(run.value[1:]):
        return _Run(run.pieces[1:])
    return run


def _digit_run_entities(doc: _Doc) -> None:
    runs = _digit_runs_in(doc)
    floor = 0  # a cue before an earlier entity belongs to that entity
    k = 0
    while k < len(runs):
        merged = _merged_area_code(doc, runs, k)
        if merged is not None:
            doc.claim_tokens("phone", f"+1{merged.value}", merged.start, merged.stop)
            floor, k = merged.stop, k + 2
            continue
        cue = _cue_before(doc, runs[k].start, floor)
        run = runs[k] if cue in ("policy_number", "claim_number", "zip") else _without_leading_oh(doc, runs[k])
        found = _classify(run, cue)
        if found:
            doc.claim_tokens(found[0], found[1], run.start, run.stop)
            floor = run.stop
        k += 1
