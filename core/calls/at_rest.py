"""How an event rests in the store: its fields as JSON, personal fields scrubbed, masked or sealed.

Each field that may hold personal data says so (`personal(Personal.…)` in its event's
definition), so a new event kind cannot slip a caller's secrets past the store by accident.
Scrubbing and masking are for good (the store never held the value); sealed fields read back.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from warmline.calls.events import CallEvent, Personal
from warmline.privacy import Sealer, scrub_text


def _mask_keys(digits: str) -> str:
    return digits if len(digits) <= 1 else "*" * len(digits)


def _scrub_pairs(pairs: tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[kind, scrub_text(str(value))] for kind, value in pairs]


def stored_form(event: CallEvent, sealer: Sealer) -> dict[str, Any]:
    """The event's fields as they rest: JSON-ready, nothing personal in clear."""
    data: dict[str, Any] = {}
    for f in fields(event):
        value = getattr(event, f.name)
        match f.metadata.get("personal"):
            case Personal.SPEECH:
                value = scrub_text(value)
            case Personal.KEYS:
                value = _mask_keys(value)
            case Personal.PAIRS:
                value = _scrub_pairs(value)
            case Personal.SEALED:
                value = sealer.seal(value) if value else value
        data[f.name] = value
    return data


def restored(kind: type[CallEvent], data: dict[str, Any], sealer: Sealer) -> CallEvent:
    """The event rebuilt from its stored form (scrubbed values stay scrubbed)."""
    sealed = {f.name for f in fields(kind) if f.metadata.get("personal") == Personal.SEALED}
    fixed = {name: _tuples(value) if isinstance(value, list) else value for name, value in data.items()}
    for name in sealed & fixed.keys():
        if fixed[name]:
            fixed[name] = sealer.open(fixed[name])
    return kind(**fixed)


def _tuples(value: list) -> tuple:
    # JSON has no tuples: fields declared as tuples come back as lists
    return tuple(_tuples(v) if isinstance(v, list) else v for v in value)
