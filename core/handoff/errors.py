"""The hand-off stage's one error type."""

from __future__ import annotations

from warmline.errors import WarmlineError


class HandoffError(WarmlineError):
    """A hand-off payload or routing configuration that cannot be used."""
