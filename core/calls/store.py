"""The persisted event stream: every call's events, in order, in SQLite.

A journal listener appends each event as it happens (one small insert, WAL mode: well under a
millisecond), so a crash mid-call loses nothing already decided. `events()` rebuilds the typed,
frozen events, which is how the hand-off payload, metrics and audit read a call after the fact.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path

from warmline.calls.events import CallEvent
from warmline.errors import WarmlineError

SCHEMA = """
CREATE TABLE IF NOT EXISTS call_events (
    call_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);
CREATE INDEX IF NOT EXISTS call_events_at ON call_events (at);
"""


class StoreError(WarmlineError):
    """The event store cannot be opened or written."""


def _event_types() -> dict[str, type[CallEvent]]:
    found, todo = {}, [CallEvent]
    while todo:
        for sub in todo.pop().__subclasses__():
            found[sub.__name__] = sub
            todo.append(sub)
    return found


class EventStore:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the event store {path}: {exc}; set [store] path to a writable file") from None
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}

    def record(self, event: CallEvent) -> None:
        """A journal listener: append one event."""
        data = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
        with self._lock:
            seq = self._seq.get(event.call_id)
            if seq is None:
                row = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM call_events WHERE call_id=?",
                                       (event.call_id,)).fetchone()
                seq = row[0]
            self._seq[event.call_id] = seq + 1
            self._db.execute("INSERT INTO call_events VALUES (?, ?, ?, ?, ?)",
                             (event.call_id, seq + 1, event.at, type(event).__name__, json.dumps(data, default=str)))
        if type(event).__name__ == "CallEnded":
            self._seq.pop(event.call_id, None)

    def events(self, call_id: str) -> list[CallEvent]:
        kinds = _event_types()
        rows = self._db.execute("SELECT kind, data FROM call_events WHERE call_id=? ORDER BY seq", (call_id,))
        return [_rebuild(kinds[kind], json.loads(data)) for kind, data in rows if kind in kinds]

    def call_ids(self) -> list[str]:
        rows = self._db.execute("SELECT call_id FROM call_events GROUP BY call_id ORDER BY MIN(at)")
        return [r[0] for r in rows]

    def close(self) -> None:
        self._db.close()


def _rebuild(kind: type[CallEvent], data: dict) -> CallEvent:
    # JSON has no tuples: fields declared as tuples come back as lists
    fixed = {k: _tuples(v) if isinstance(v, list) else v for k, v in data.items()}
    return kind(**fixed)


def _tuples(value):
    return tuple(_tuples(v) if isinstance(v, list) else v for v in value)
