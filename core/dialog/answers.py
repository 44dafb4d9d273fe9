"""Reading a caller's answer to a specific question: yes or no, a date, a number, a field.

Each parser takes what the caller said or keyed and returns the value, or None when the answer
does not fit the question (a no-match: the dialogue asks again, then a person takes over).
"""

from __future__ import annotations

import re
from datetime import date

from warmline.dialog.port import Keyed, Said
from warmline.nlu.entities import extract_entities
from warmline.nlu.features import normalize

YES = {"yes", "yeah", "yep", "yup", "correct", "right", "sure", "ok", "okay", "that's right", "that is right",
       "it does", "it did", "that works", "sounds good", "perfect", "absolutely", "affirmative", "uh huh"}
NO = {"no", "nope", "nah", "not really", "it didn't", "it did not", "that's wrong", "wrong", "no it doesn't",
      "negative", "not quite"}
DONE = {"no", "nope", "no thanks", "no thank you", "that's all", "that is all", "that's it", "nothing else",
        "i'm good", "im good", "i'm all set", "all set", "we're good", "no that's all", "no that's it", "bye",
        "goodbye"}
CLOSINGS = ("that's all", "that is all", "that's it", "nothing else", "all set")  # end a short answer: done
FIELDS = {"phone": ("phone", "number", "cell", "mobile"), "email": ("email", "e-mail", "e mail", "mail"),
          "zip": ("zip", "postal"), "address": ("address", "street", "moved", "move")}


def _phrase(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w' -]", " ", text.lower())).strip()


def yes_no(answer: Said | Keyed) -> bool | None:
    """'Yes that's right' → True; keys 1 = yes, 2 = no."""
    if isinstance(answer, Keyed):
        return {"1": True, "2": False}.get(answer.digits)
    words = _phrase(answer.text)
    for prefix_len in (3, 2, 1):  # "yes that's right thanks": the opening words decide
        head = " ".join(words.split()[:prefix_len])
        if head in YES:
            return True
        if head in NO:
            return False
    return None


MISUNDERSTOOD = ("not what i asked", "not what i said", "not what i meant", "not what i wanted", "not what i'm asking",
                 "not what i am asking", "not my question", "you misunderstood", "you didn't understand",
                 "you did not understand", "you got it wrong", "wrong question", "not what i called about")
RESTATED_MIN_WORDS = 3  # "no, I wanted to know whether glass is covered": the rest is the request again


def misunderstood(text: str) -> bool:
    """'No, that's not what I asked': the AI answered another question than the caller's."""
    words = _phrase(text)
    return any(m in words for m in MISUNDERSTOOD)


def restated(text: str) -> str | None:
    """The words after an opening 'no' when they say what the caller wanted instead."""
    words = _phrase(text).split()
    for prefix_len in (3, 2, 1):
        if " ".join(words[:prefix_len]) in NO:
            rest = words[prefix_len:]
            return " ".join(rest) if len(rest) >= RESTATED_MIN_WORDS else None
    return None


def is_done(text: str) -> bool:
    """'No thanks, that's all' in answer to 'anything else?'."""
    words = _phrase(text)
    short = len(words.split()) <= 6
    return words in DONE or any(words.startswith(d + " ") for d in DONE if " " in d) or \
        (yes_no(Said(text)) is False and short) or \
        (short and any(words.endswith(" " + d) for d in CLOSINGS))  # "you know that's all": a misheard "no"


def _digit_runs(answer: Said | Keyed, kinds: tuple[str, ...]) -> list[str]:
    if isinstance(answer, Keyed):
        return [answer.digits]
    found = [e.value for e in extract_entities(answer.text) if e.kind in kinds]
    return [re.sub(r"\D", "", v) for v in found]


def policy_number(answer: Said | Keyed) -> str | None:
    runs = _digit_runs(answer, ("policy_number", "digits", "phone", "zip", "claim_number"))
    return next((r for r in runs if 6 <= len(r) <= 12), None)


def zip_code(answer: Said | Keyed) -> str | None:
    return next((r for r in _digit_runs(answer, ("zip", "digits")) if len(r) == 5), None)


def phone(answer: Said | Keyed) -> str | None:
    runs = _digit_runs(answer, ("phone", "digits"))
    return next((r[-10:] for r in runs if len(r) == 10 or (len(r) == 11 and r[0] == "1")), None)


def email(answer: Said | Keyed) -> str | None:
    if isinstance(answer, Keyed):
        return None
    return next((e.value for e in extract_entities(answer.text) if e.kind == "email"), None)


def birth_date(answer: Said | Keyed, today: date) -> date | None:
    if isinstance(answer, Keyed):  # MMDDYYYY on the keypad
        d = answer.digits
        try:
            return date(int(d[4:]), int(d[:2]), int(d[2:4])) if len(d) == 8 else None
        except ValueError:
            return None
    dates = [e.value for e in extract_entities(answer.text, today=today) if e.kind == "date"]
    parsed = [date.fromisoformat(v) for v in dates]
    return next((d for d in parsed if d < today), None)


def contact_field(answer: Said | Keyed) -> str | None:
    if isinstance(answer, Keyed):
        return {"1": "phone", "2": "email", "3": "zip"}.get(answer.digits)
    words = f" {normalize(answer.text)} "
    return next((field for field, cues in FIELDS.items() if any(f" {c} " in words for c in cues)), None)
