"""Verdicts printed by `warmline check`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckResult:
    item: str
    ok: bool
    detail: str
