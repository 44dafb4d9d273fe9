"""Keep personal data out of logs, and away from other users at rest.

Two tools for what a call stores: `scrub_text` takes the values a caller may say or key that
identify them (dates, long numbers, e-mail addresses) out of free text for good, and `Sealer`
encrypts what must be kept for the people who need it (the number to call back, the hand-off
payload) with a key only the service account can read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from warmline.errors import WarmlineError


class PrivacyError(WarmlineError):
    """A sealing key cannot be read or does not open what it should."""


def mask_number(number: str | None) -> str:
    """A phone number as its last two digits: enough to tell calls apart in a log, not to identify anyone."""
    digits = "".join(ch for ch in (number or "") if ch.isdigit())
    return f"…{digits[-2:]}" if len(digits) > 2 else "…"


def private_file(path: Path, *, create_folder: bool = True) -> None:
    """A file that will hold personal data (an SQLite database): owner-only (0600), and so are the
    -wal/-shm files SQLite makes beside it (it gives them the database's mode); a folder created
    for it is 0700. Call before opening the database."""
    if create_folder and not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if each.exists() and each.stat().st_mode & 0o077:
            os.chmod(each, 0o600)


_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december"
           "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_NUMBER_WORDS = ("zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen"
                 "|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty"
                 "|sixty|seventy|eighty|ninety|hundred|thousand|first|second|third|fourth|fifth"
                 "|sixth|seventh|eighth|ninth|tenth|twelfth|thirteenth|twentieth|thirtieth|st|nd|rd|th")
_NUMBER_WORD = rf"(?:{_NUMBER_WORDS})(?:-(?:{_NUMBER_WORDS}))?"
_DAY = rf"(?:\d+(?:st|nd|rd|th)?|{_NUMBER_WORD})"
_SCRUBS = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "‹email›"),
    # "March 5, 1980", "5th of March 1980", "march fifth nineteen eighty"; a month name alone
    # ("I may be late") is not a date
    (re.compile(rf"\b(?:{_DAY}\s+(?:of\s+)?(?:{_MONTHS})\b\.?(?:[\s,]+{_DAY}\b)*"
                rf"|(?:{_MONTHS})\b\.?(?:[\s,]+{_DAY}\b)+)", re.IGNORECASE), "‹date›"),
    (re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"), "‹date›"),
    # a run of three or more digits, possibly broken by spaces, dashes or dots: policy, phone, ZIP, year
    (re.compile(r"(?<![\w$])[A-Za-z]{0,4}-?\d(?:[\s.-]?\d){2,}\b"), "‹number›"),
    (re.compile(rf"\b{_NUMBER_WORD}(?:[\s,-]+{_NUMBER_WORD}){{2,}}\b", re.IGNORECASE), "‹number›"),
)


def scrub_text(text: str) -> str:
    """Free text with dates, numbers of three digits or more and e-mail addresses replaced by
    placeholders. For what a caller said: what it was about survives, who they are does not."""
    for pattern, placeholder in _SCRUBS:
        text = pattern.sub(placeholder, text)
    return text


class Sealer:
    """Encrypts values at rest (Fernet: AES-128-CBC with an HMAC) with a key kept in an owner-only
    file, created on first use. Losing the file loses what it sealed: back it up with the database."""

    def __init__(self, key_file: Path) -> None:
        self.key_file = key_file
        try:
            if not key_file.exists():
                private_file(key_file)
                key_file.write_bytes(Fernet.generate_key())
            self._fernet = Fernet(key_file.read_bytes().strip())
        except (OSError, ValueError) as exc:
            raise PrivacyError(f"cannot use the sealing key {key_file}: {exc}; "
                               "restore it from the backup, or delete it only together with the database it seals") from None

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise PrivacyError(f"a sealed value does not open with the key in {self.key_file}: "
                               "the key was replaced; restore the key file that was used with this database") from None
