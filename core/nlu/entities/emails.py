"""Emails, typed ("j.smith@gmail.com") or spoken ("j smith at gmail dot com")."""

from __future__ import annotations

import re

from warmline.nlu.entities.document import _Doc
from warmline.nlu.entities.spoken_numbers import _single_digit
from warmline.nlu.entities.vocabulary import _UNITS, _WEAK_LETTERS

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
_TYPED_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
    re.ASCII,
)


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
