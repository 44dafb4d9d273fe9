"""What a stage finds (`Entity`) and the document the stages read: tokens, which are still free."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date

ENTITY_KINDS = ("policy_number", "claim_number", "digits", "date", "amount", "phone", "zip", "email")


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # one of ENTITY_KINDS
    value: str  # normalised: "HO123456", "1980-03-05", "240.50", "+15551234567", "60611", "a@b.com"
    text: str  # the source text it came from, exactly source[start:end]
    start: int  # character offset into the source, inclusive
    end: int  # character offset into the source, exclusive


_TOKEN_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019][A-Za-z]+)?|\S")  # u2019: the curly apostrophe phones type


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
