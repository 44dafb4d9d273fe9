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
Each stage has its module (emails, dates, amounts, digit_runs); `document` holds the tokens and
what has been claimed, `spoken_numbers` and `vocabulary` what more than one stage reads.

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
from collections.abc import Callable
from datetime import date, datetime

from warmline.nlu.entities.amounts import _spoken_amounts, _typed_amounts
from warmline.nlu.entities.dates import _spoken_dates, _typed_dates
from warmline.nlu.entities.digit_runs import _digit_run_entities
from warmline.nlu.entities.document import ENTITY_KINDS, Entity, _Doc
from warmline.nlu.entities.emails import _spoken_emails, _typed_emails
from warmline.nlu.entities.spoken_numbers import spoken_digits, words_to_number

__all__ = ["ENTITY_KINDS", "Entity", "extract_entities", "spoken_digits", "words_to_number"]

log = logging.getLogger(__name__)

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
