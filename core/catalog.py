"""Every kind of event a call's stream may hold, and the event store opened with them.

The registry is explicit: each events module lists its kinds (KINDS), and this is the one place
that gathers them, above the rooms that define them.
"""

from __future__ import annotations

from pathlib import Path

from warmline.calls import events as call_events
from warmline.calls.store import EventKinds, EventStore, Postgres
from warmline.dialog import events as dialog_events
from warmline.dialog import survey
from warmline.handoff import events as handoff_events
from warmline.speech.settings import StoreSettings

EVENT_KINDS = EventKinds((*call_events.KINDS, *dialog_events.KINDS, *survey.KINDS, *handoff_events.KINDS))


def open_store(settings: StoreSettings, **options) -> EventStore:
    """The event store as [store] configures it: the SQLite file, or the shared PostgreSQL server."""
    url = settings.url.get_secret_value()
    return EventStore(Postgres(url) if url else Path(settings.path), EVENT_KINDS,
                      key_file=Path(settings.key_file) if settings.key_file else None,
                      retention_days=settings.retention_days, **options)
