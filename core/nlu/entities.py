"""Entities in what a caller said: policy and claim numbers, dates, amounts, phones, ZIPs, emails.

Input is speech-to-text output (often lower case, little punctuation, numbers spelt as words,
sometimes digits) or typed chat text. Output is a tuple of `Entity`, each with a normalised
`value` and the `start`/`end` character offsets of the words it came from (`text` is exactly
`source[start:end]`).

Sans-IO and stdlib only: a string goes in, entities come out. `extract_entities` never raises;
a stage that trips over strange input is skipped and the others still report.

How it works: the text is split into tokens, then stages run in a fixed order — emails, dates,
amounts, digit runs — and each stage may only use tokens no earlier stage has claimed. The
order is the tie-break: "two hundred dollars" is an amount, not the digit run "200".

Choices worth knowing (and the tests pin them down):
- A digit run needs at least 3 digits. A lone cardinal ("twelve hundred") or a lone typed
  number under 4 digits ("150 horses") is a quantity, not a digit sequence, unless a cue
  ("policy", "claim", "zip") says otherwise. Dashes, brackets, glued dots and a comma followed
  by a space (a pause the transcriber wrote down) may sit inside a run; "1,200" ends one.
- Letters join a digit run only when next to its digits ("h o one two three"). The words "a"
  and "i" count as letters only next to another letter, because they are mostly an article and
  a pronoun. "o"/"oh" right after a letter is the letter O, otherwise zero. A typed letter
  prefix of 2-3 letters counts only when glued to the digits ("HO-123456", "HO123456").
- The nearest cue word within a few tokens before a run decides its kind: "claim" →
  claim_number, "policy"/"pol" → policy_number, "zip"/"postal" → zip (5 or 9 digits),
  "phone"/"cell"/"area code"… → phone. Without a cue: 10 digits (or 11 starting with 1) with
  an area code not starting with 0/1 → phone; letter prefix + ≥6 digits → policy_number;
  otherwise digits.
- Dates without a year resolve to the next occurrence on or after `today`; callers who need a
  birthday should ask for the year. Weekdays ("friday", "this friday", "next friday") mean the
  first such day strictly after `today`; "last friday" the latest one strictly before. Typed
  numeric dates are US order (M/D/Y); a two-digit year means 20YY unless that is more than ten
  years ahead of `today`, then 19YY.
- Amounts are US dollars, formatted with two decimals and no separators ("1200.00").
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

__all__ = ["ENTITY_KINDS", "Entity", "extract_entities", "spoken_digits", "words_to_number"]

log = logging.getLogger(__name__)

ENTITY_KINDS = ("policy_number", "claim_number", "digits", "date", "amount", "phone", "zip", "email")


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # one of ENTITY_KINDS
    value: str  # normalised: "HO123456", "1980-03-05", "240.50", "+15551234567", "60611", "a@b.com"
    text: str  # the source text it came from, exactly source[start:end]
    start: int  # character offset into the source, inclusive
    end: int  # character offset into the source, exclusive


# --- vocabulary -------------------------------------------------------------------------------

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
_REPEATS = {"double": 2, "triple": 3}
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}
# Letter names that speech-to-text writes out; ambiguous ones ("are", "you", "why", "see") are left out.
_LETTER_NAMES = {
    "aitch": "H", "bee": "B", "cee": "C", "dee": "D", "eff": "F", "gee": "G", "jay": "J", "kay": "K",
    "el": "L", "em": "M", "en": "N", "pee": "P", "cue": "Q", "ess": "S", "tee": "T", "vee": "V",
    "ex": "X", "zee": "Z", "zed": "Z",
}
_WEAK_LETTERS = frozenset({"a", "i"})  # mostly an article and a pronoun, rarely a spelled letter

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
# Month words that are also everyday words ("you may", "we march"): a spelled-out cardinal day
# after them is not enough, they need an ordinal ("may fifth"), digits ("may 5") or a year.
_AMBIGUOUS_MONTHS = frozenset({"may", "march", "mar", "jan"})
_WEEKDAYS = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}

_CURRENCY_WORDS = frozenset({"dollar", "dollars", "buck", "bucks"})
_CENT_WORDS = frozenset({"cent", "cents"})

# Punctuation and words that may sit between the digits of one number: "555-123-4567", "(555) 123".
_RUN_PUNCTUATION = frozenset({"-", "(", ")", ".", "+"})
_RUN_DASH_WORDS = frozenset({"dash", "hyphen"})

_CUE_WORDS = {
    "claim": "claim_number", "claims": "claim_number",
    "policy": "policy_number", "policies": "policy_number", "pol": "policy_number",
    "zip": "zip", "zipcode": "zip", "postal": "zip",
    "phone": "phone", "telephone": "phone", "cell": "phone", "mobile": "phone", "call": "phone",
    "callback": "phone", "reach": "phone", "text": "phone", "fax": "phone",
}
_CUE_WINDOW = 6  # tokens looked back for a cue: "my policy number is uh" fits

_EMAIL_JOINERS = {"dot": ".", ".": ".", "underscore": "_", "_": "_", "dash": "-", "hyphen": "-", "-": "-"}
# Words that end a spoken email's local part going backwards: "my email is | john dot smith at …".
_LOCAL_PART_STOP = frozenset({
    "is", "it's", "its", "was", "my", "the", "an", "and", "or", "um", "uh", "so", "yes", "yeah",
    "sure", "it", "that's", "thats", "to", "me", "us", "him", "her", "them", "be", "am", "are",
    "i'm", "im", "we're", "you're", "send", "use", "try", "of", "ok", "okay", "please", "name",
    "here", "there", "then", "well", "like", "you", "your", "email", "mail", "address", "at",
    "look", "live", "work", "stay", "home", "reach", "call", "contact", "write", "number",
})
_TLDS = frozenset({
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "us", "uk", "ca",
    "au", "de", "fr", "ie", "in", "mx", "nz", "me", "tv", "ai", "app", "dev", "email", "online",
    "site", "xyz", "insurance", "agency",
})
_MAX_AMOUNT = 10**12  # beyond this a "dollar amount" is a misheard digit run, and Decimal stays exact

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?|\S")  # u2019: the curly apostrophe phones type
_ORDINAL_DIGITS_RE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)", re.ASCII)
_TYPED_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
    re.ASCII,
)
_TYPED_DATE_RE = re.compile(
    r"(?<![\d/.-])(?:"
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<sm>\d{1,2})/(?P<sd>\d{1,2})/(?P<sy>\d{4}|\d{2})"  # the year keeps fractions like 1/2 out
    r"|(?P<dm>\d{1,2})-(?P<dd>\d{1,2})-(?P<dy>\d{4})"
    r")(?![\d/])",
    re.ASCII,
)
_TYPED_AMOUNT_RE = re.compile(
    r"\$\s?(?P<sign_whole>\d{1,3}(?:,\d{3})+|\d{1,13})(?:\.(?P<sign_cents>\d{1,2}))?(?!\d|,\d)"
    r"|(?<![\w.,$])(?P<word_whole>\d{1,3}(?:,\d{3})+|\d{1,13})(?:\.(?P<word_cents>\d{1,2}))?"
    r"\s*(?:dollars?|bucks?|usd)\b",
    re.ASCII | re.IGNORECASE,
)


# --- spoken numbers ---------------------------------------------------------------------------


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


# --- tokens and the document being read ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    word: str  # lower case, curly apostrophe straightened
    start: int
    end: int


@dataclass(slots=True)
class _Doc:
    text: str
    today: date
    tokens: list[_Token]
    words: list[str]
    free: list[bool]  # False once a stage has claimed the token for an entity
    starts: list[int]  # character offsets, to find the tokens under a regex match quickly
    ends: list[int]
    found: list[Entity] = field(default_factory=list)

    @classmethod
    def read(cls, text: str, today: date) -> _Doc:
        tokens = [
            _Token(match.group().lower().replace("\u2019", "'"), match.start(), match.end())
            for match in _TOKEN_RE.finditer(text)
        ]
        return cls(
            text, today, tokens, [token.word for token in tokens], [True] * len(tokens),
            [token.start for token in tokens], [token.end for token in tokens],
        )

    def word(self, i: int) -> str:
        return self.words[i] if 0 <= i < len(self.words) else ""

    def all_free(self, start: int, stop: int) -> bool:
        return 0 <= start < stop <= len(self.free) and all(self.free[start:stop])

    def glued(self, i: int) -> bool:
        """Token i touches token i + 1, no space between: "HO-" in "HO-123456"."""
        return i + 1 < len(self.tokens) and self.tokens[i].end == self.tokens[i + 1].start

    def claim_tokens(self, kind: str, value: str, start: int, stop: int) -> None:
        """Record an entity made of tokens[start:stop] and keep later stages off them."""
        for i in range(start, stop):
            self.free[i] = False
        first, last = self.tokens[start].start, self.tokens[stop - 1].end
        self.found.append(Entity(kind, value, self.text[first:last], first, last))

    def claim_chars(self, kind: str, value: str, first: int, last: int) -> None:
        """Record an entity found in the raw text, if no earlier entity holds any of its tokens."""
        start, stop = bisect_right(self.ends, first), bisect_left(self.starts, last)
        if start >= stop or not all(self.free[start:stop]):
            return
        for i in range(start, stop):
            self.free[i] = False
        self.found.append(Entity(kind, value, self.text[first:last], first, last))


# --- emails -----------------------------------------------------------------------------------


def _typed_emails(doc: _Doc) -> None:
    for match in _TYPED_EMAIL_RE.finditer(doc.text):
        doc.claim_chars("email", match.group().lower(), match.start(), match.end())


def _is_local_word(word: str) -> bool:
    return word.isascii() and word.isalnum()


def _spelled(word: str) -> bool:
    """A word that stands for one character: "j", "7", "two"."""
    return (len(word) == 1 and _is_local_word(word)) or word in _UNITS or word == "zero"


def _local_word(word: str) -> bool:
    return _is_local_word(word) and word not in _LOCAL_PART_STOP


_MAX_LOCAL_TOKENS = 30  # a local part is at most 64 characters; this bounds the walk back


def _local_part_by_gluing(doc: _Doc, at: int) -> int | None:
    """Start of the local part before token `at`, glued from joiners and spelled characters.

    "j smith underscore two at …": walking back from "two", a joiner brings in the word before
    it and a spelled character joins the word after it; anything else ends the local part.
    """
    first = at - 1
    if not doc.all_free(first, at) or not _local_word(doc.word(first)):
        return None
    while at - first < _MAX_LOCAL_TOKENS:
        before = doc.word(first - 1)
        if before in _EMAIL_JOINERS and doc.all_free(first - 2, first) and _local_word(doc.word(first - 2)):
            first -= 2
        elif doc.all_free(first - 1, first) and _spelled(before) and (
            before not in _WEAK_LETTERS or len(doc.word(first)) == 1  # "a" only inside a spelling: "a b c"
        ):
            first -= 1
        else:
            break
    return first


def _local_part_after_cue(doc: _Doc, at: int) -> int | None:
    """Start of the local part when the caller announced it: "my email is | john smith at …"."""
    for cue in range(at - 1, max(at - 10, -1), -1):
        if doc.word(cue) in ("email", "mail"):
            break
    else:
        return None
    first = cue + 2 if doc.word(cue + 1) == "address" else cue + 1
    if doc.word(first) not in ("is", "it's", "its", ":"):
        return None  # "I sent an email to my agent at …" announces nothing
    first += 1
    body = range(first, at)
    if not 1 <= len(body) <= 6 or not doc.all_free(first, at):
        return None
    if not all(_local_word(doc.word(i)) or doc.word(i) in _EMAIL_JOINERS for i in body):
        return None
    return first


def _local_char(word: str) -> str:
    if word in _EMAIL_JOINERS:
        return _EMAIL_JOINERS[word]
    return _single_digit(word) if word in _UNITS or word == "zero" else word


def _spoken_domain(doc: _Doc, begin: int) -> tuple[str, int] | None:
    """The domain said from token `begin`: "gmail dot com" → ("gmail.com", index after "com")."""
    labels: list[tuple[str, int]] = []  # (label, token index after it)
    current, pieces, i = "", 0, begin
    while i < len(doc.words) and doc.free[i] and i - begin < 16:
        word = doc.word(i)
        open_label = bool(current) and not current.endswith("-")
        if word in ("dot", "."):
            if not open_label:
                break
            labels.append((current, i))
            current, pieces = "", 0
        elif word in ("dash", "hyphen", "-"):
            if not open_label:
                break
            current += "-"
        elif _is_local_word(word):
            # Before the first dot a name may come in pieces ("g mail"); after it, one word per label.
            if open_label and (labels or pieces >= 3):
                break
            current, pieces = current + word, pieces + 1
        else:
            break
        i += 1
    if current and not current.endswith("-"):
        labels.append((current, i))
    while len(labels) >= 2 and labels[-1][0] not in _TLDS:
        labels.pop()  # "… dot com dot then" ends at "com"
    if len(labels) < 2:
        return None
    return ".".join(label for label, _ in labels), labels[-1][1]


def _spoken_emails(doc: _Doc) -> None:
    for at, word in enumerate(doc.words):
        if word not in ("at", "@") or not doc.free[at]:
            continue
        domain_begin = at + 2 if doc.word(at + 1) in ("sign", "symbol") else at + 1
        domain = _spoken_domain(doc, domain_begin)
        if domain is None:
            continue
        starts = [s for s in (_local_part_after_cue(doc, at), _local_part_by_gluing(doc, at)) if s is not None]
        if not starts:
            continue
        start = min(starts)  # an announced local part is the longer reading when both apply
        local = "".join(_local_char(word) for word in doc.words[start:at])
        if re.fullmatch(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?", local, re.ASCII) and ".." not in local:
            doc.claim_tokens("email", f"{local}@{domain[0]}", start, domain[1])


# --- dates ------------------------------------------------------------------------------------


def _read_day(doc: _Doc, i: int) -> tuple[int, int, str] | None:
    """A day of the month at token i: (day, index after it, "ordinal" | "digits" | "words")."""
    word, following = doc.word(i), doc.word(i + 1)
    if _is_digits(word) and len(word) <= 2:
        return int(word), i + 1, "digits"
    if match := _ORDINAL_DIGITS_RE.fullmatch(word):
        return int(match.group(1)), i + 1, "ordinal"
    if word in ("twenty", "thirty"):
        unit_at = i + 2 if following == "-" else i + 1
        unit = doc.word(unit_at)
        if unit in _ORDINALS and _ORDINALS[unit] < 10:
            return _TENS[word] + _ORDINALS[unit], unit_at + 1, "ordinal"
        if unit in _UNITS:
            return _TENS[word] + _UNITS[unit], unit_at + 1, "words"
        return _TENS[word], i + 1, "words"
    if word in _ORDINALS:
        return _ORDINALS[word], i + 1, "ordinal"
    if word in _UNITS or word in _TEENS:
        return _UNITS.get(word) or _TEENS[word], i + 1, "words"
    return None


def _read_two_digit_words(doc: _Doc, i: int) -> tuple[int, int] | None:
    """1-99 in words at token i: "eighty five", "twelve", "five"."""
    word = doc.word(i)
    if word in _TENS:
        unit_at = i + 2 if doc.word(i + 1) == "-" else i + 1
        if doc.word(unit_at) in _UNITS:
            return _TENS[word] + _UNITS[doc.word(unit_at)], unit_at + 1
        return _TENS[word], i + 1
    if word in _TEENS:
        return _TEENS[word], i + 1
    if word in _UNITS:
        return _UNITS[word], i + 1
    return None


def _read_year(doc: _Doc, i: int) -> tuple[int, int] | None:
    """A year at token i: "1980", "nineteen eighty", "twenty oh five", "two thousand and five"."""
    word, following = doc.word(i), doc.word(i + 1)
    year: int | None = None
    end = i
    if _is_digits(word) and len(word) == 4:
        year, end = int(word), i + 1
    elif word in ("eighteen", "nineteen", "twenty"):
        century = (_TEENS.get(word) or _TENS[word]) * 100
        if following == "hundred":
            year, end = century, i + 2
        elif following in _ZERO_WORDS and doc.word(i + 2) in _UNITS:
            year, end = century + _UNITS[doc.word(i + 2)], i + 3
        elif following in _TENS or following in _TEENS:
            rest = _read_two_digit_words(doc, i + 1)
            if rest:
                year, end = century + rest[0], rest[1]
    elif word == "two" and following == "thousand":
        end = i + 2
        after_and = end + 1 if doc.word(end) == "and" else end
        rest = _read_two_digit_words(doc, after_and)
        year, end = (2000 + rest[0], rest[1]) if rest else (2000, end)
    if year is None or not 1800 <= year <= 2199:
        return None
    return year, end


def _next_occurrence(month: int, day: int, today: date) -> date | None:
    for year in range(today.year, today.year + 9):  # nine years always include a 29 February
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _make_date(year: int | None, month: int, day: int, today: date) -> date | None:
    if year is None:
        return _next_occurrence(month, day, today)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _read_month(doc: _Doc, i: int) -> tuple[int, int] | None:
    """A month name at token i: (month, index after it), skipping the dot of "dec."."""
    word = doc.word(i)
    if word not in _MONTHS:
        return None
    after = i + 2 if doc.word(i + 1) == "." and doc.glued(i) and len(word) <= 4 else i + 1
    return _MONTHS[word], after


def _read_optional_year(doc: _Doc, i: int) -> tuple[int | None, int]:
    after_comma = i + 1 if doc.word(i) == "," else i
    year = _read_year(doc, after_comma)
    return (year[0], year[1]) if year else (None, i)


def _month_first_date(doc: _Doc, i: int) -> tuple[date, int] | None:
    """ "march fifth nineteen eighty", "june twenty first", "march 5, 1980", "march the 5th"."""
    month = _read_month(doc, i)
    if month is None:
        return None
    day_at = month[1] + 1 if doc.word(month[1]) == "the" else month[1]
    day = _read_day(doc, day_at)
    if day is None:
        return None
    year, end = _read_optional_year(doc, day[1])
    if doc.word(i) in _AMBIGUOUS_MONTHS and day[2] == "words" and year is None:
        return None
    when = _make_date(year, month[0], day[0], doc.today)
    return (when, end) if when else None


def _day_first_date(doc: _Doc, i: int) -> tuple[date, int] | None:
    """ "the fifth of march", "5th of march 1980", "5 march 1980"."""
    day_at = i + 1 if doc.word(i) == "the" else i
    day = _read_day(doc, day_at)
    if day is None or day[2] == "words":
        return None
    month_at = day[1] + 1 if doc.word(day[1]) == "of" else day[1]
    month = _read_month(doc, month_at)
    if month is None:
        return None
    year, end = _read_optional_year(doc, month[1])
    when = _make_date(year, month[0], day[0], doc.today)
    return (when, end) if when else None


def _weekday_date(doc: _Doc, i: int) -> tuple[date, int] | None:
    """ "friday", "this friday", "next friday", "last friday"."""
    modifier = doc.word(i)
    day_at = i + 1 if modifier in ("next", "this", "coming", "last") else i
    if modifier == "this" and doc.word(day_at) == "coming":
        day_at += 1
    if doc.word(day_at) not in _WEEKDAYS:
        return None
    ahead = (_WEEKDAYS[doc.word(day_at)] - doc.today.weekday()) % 7
    if modifier == "last":
        return doc.today - timedelta(days=(7 - ahead) if ahead else 7), day_at + 1
    return doc.today + timedelta(days=ahead or 7), day_at + 1


_DAY_WORDS = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}


def _relative_day(doc: _Doc, i: int) -> tuple[date, int] | None:
    """ "today", "tomorrow", "the day after tomorrow", "in three days", "in two weeks"."""
    word = doc.word(i)
    if word in _DAY_WORDS:
        return doc.today + timedelta(days=_DAY_WORDS[word]), i + 1
    day_at = i + 1 if word == "the" else i
    phrase = doc.words[day_at : day_at + 3]
    if phrase == ["day", "after", "tomorrow"]:
        return doc.today + timedelta(days=2), day_at + 3
    if phrase == ["day", "before", "yesterday"]:
        return doc.today - timedelta(days=2), day_at + 3
    if word == "in":
        for unit_at in range(i + 2, min(i + 6, len(doc.words))):
            if doc.word(unit_at) in ("day", "days", "week", "weeks"):
                said = doc.words[i + 1 : unit_at]
                count = 1 if said in (["a"], ["one"]) else words_to_number(said)
                if count is None or not 0 < count <= 366:
                    return None
                days = count * (7 if doc.word(unit_at).startswith("week") else 1)
                return doc.today + timedelta(days=days), unit_at + 1
    return None


def _typed_dates(doc: _Doc) -> None:
    for match in _TYPED_DATE_RE.finditer(doc.text):
        parts = match.groupdict()
        if parts["iy"]:
            year, month, day = int(parts["iy"]), int(parts["im"]), int(parts["id"])
        elif parts["sm"]:
            year, month, day = _typed_year(parts["sy"], doc.today), int(parts["sm"]), int(parts["sd"])
        else:
            year, month, day = int(parts["dy"]), int(parts["dm"]), int(parts["dd"])
        if not 1 <= month <= 12:
            continue
        when = _make_date(year, month, day, doc.today)
        if when:
            doc.claim_chars("date", when.isoformat(), match.start(), match.end())


def _typed_year(text: str, today: date) -> int:
    if len(text) == 4:
        return int(text)
    this_century = 2000 + int(text)  # "3/5/80" is 1980, "1/15/25" is 2025
    return this_century if this_century <= today.year + 10 else this_century - 100


def _date_at(doc: _Doc, i: int) -> tuple[date, int] | None:
    for reader in (_month_first_date, _day_first_date, _weekday_date, _relative_day):
        if found := reader(doc, i):
            return found
    return None


def _spoken_dates(doc: _Doc) -> None:
    i = 0
    while i < len(doc.words):
        found = _date_at(doc, i) if doc.free[i] else None
        if found and doc.all_free(i, found[1]):
            doc.claim_tokens("date", found[0].isoformat(), i, found[1])
            i = found[1]
        else:
            i += 1


# --- amounts ----------------------------------------------------------------------------------


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


# --- digit runs: policy and claim numbers, phones, ZIPs ---------------------------------------


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


# --- the public entry point -------------------------------------------------------------------

_STAGES: tuple[Callable[[_Doc], None], ...] = (
    _typed_emails,
    _spoken_emails,
    _typed_dates,
    _spoken_dates,
    _typed_amounts,
    _spoken_amounts,
    _digit_run_entities,
)


def extract_entities(text: str, *, today: date | None = None) -> tuple[Entity, ...]:
    """Every entity found in `text`, in order of appearance; () when there are none.

    `today` anchors relative dates ("tomorrow", "next tuesday") and year-less dates; it
    defaults to the machine's date. Never raises: a stage that fails is logged (without the
    text, which may hold personal data) and skipped.
    """
    if not isinstance(text, str) or not text:
        return ()
    if isinstance(today, datetime):
        today = today.date()  # date arithmetic on a datetime would put a time in the ISO value
    doc = _Doc.read(text, today if isinstance(today, date) else date.today())
    for stage in _STAGES:
        try:
            stage(doc)
        except Exception as exc:  # one odd input must not cost the caller the whole call
            log.warning("entity stage %s failed: %s", stage.__name__, type(exc).__name__)
    return tuple(sorted(doc.found, key=lambda entity: entity.start))
