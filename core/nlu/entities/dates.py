"""Dates: typed ("3/5/1980", "1980-03-05"), spoken ("march fifth nineteen eighty"), or relative
("next friday", "in two weeks")."""

from __future__ import annotations

import re
from datetime import date, timedelta

from warmline.nlu.entities.document import _Doc
from warmline.nlu.entities.spoken_numbers import _is_digits, words_to_number
from warmline.nlu.entities.vocabulary import (
    _ORDINAL_DIGITS_RE,
    _TEENS,
    _TENS,
    _UNITS,
    _ZERO_WORDS,
)

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}

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
_TYPED_DATE_RE = re.compile(
    r"(?<![\d/.-])(?:"
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<sm>\d{1,2})/(?P<sd>\d{1,2})/(?P<sy>\d{4}|\d{2})"  # the year keeps fractions like 1/2 out
    r"|(?P<dm>\d{1,2})-(?P<dd>\d{1,2})-(?P<dy>\d{4})"
    r")(?![\d/])",
    re.ASCII,
)


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
