"""The persisted event stream: every call's events, in order, in SQLite.

`record` (a journal listener) only queues the event; a writer thread commits whatever has queued
in one transaction (WAL mode), so the event loop never waits on the disk, and `close` drains the
queue before it returns. An event is acknowledged once its transaction has committed (`flush`
waits for that, `on_commit` is told): a process killed mid-call loses at most the events of the
last few milliseconds that were never acknowledged, never one that was.

Events rest without the caller's secrets (calls/at_rest.py) and are rebuilt through an explicit
registry of kinds: a kind the registry does not know is an error naming it, on the way in and out.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from warmline.calls.at_rest import restored, stored_form
from warmline.calls.events import CallEnded, CallEvent
from warmline.errors import WarmlineError
from warmline.privacy import PrivacyError, Sealer, private_file

log = logging.getLogger(__name__)

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
BATCH = 500  # events per transaction at most
PURGE_EVERY_S = 3600.0
_STOP = object()


class StoreError(WarmlineError):
    """The event store cannot be opened, written or read."""


class EventKinds:
    """The registry of event kinds a store may hold, by name."""

    def __init__(self, kinds: Iterable[type[CallEvent]]) -> None:
        self._by_name: dict[str, type[CallEvent]] = {}
        for kind in kinds:
            if not (isinstance(kind, type) and issubclass(kind, CallEvent)):
                raise TypeError(f"{kind!r} is not a CallEvent class")
            if self._by_name.setdefault(kind.__name__, kind) is not kind:
                raise ValueError(f"two event kinds are named {kind.__name__}: {kind.__module__} "
                                 f"and {self._by_name[kind.__name__].__module__}")

    def __iter__(self):
        return iter(self._by_name.values())

    def name_of(self, event: CallEvent) -> str:
        name = type(event).__name__
        if self._by_name.get(name) is not type(event):
            raise StoreError(f"cannot store a {name} event: the store's registry does not know the kind; "
                             "add it to its module's KINDS (warmline.catalog collects them)")
        return name

    def kind(self, name: str, call_id: str) -> type[CallEvent]:
        try:
            return self._by_name[name]
        except KeyError:
            raise StoreError(f"the event store holds a {name!r} event (call {call_id}) that this Warmline does not "
                             "know: it was written by another version; read it with that version") from None


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA secure_delete=ON")  # a purged or deleted call's bytes are zeroed, not left in free pages
    return db


class EventStore:
    def __init__(self, path: Path, kinds: EventKinds | Iterable[type[CallEvent]], *,
                 key_file: Path | None = None, retention_days: int | None = None,
                 on_commit: Callable[[Sequence[CallEvent]], None] | None = None) -> None:
        self.path = path
        self.kinds = kinds if isinstance(kinds, EventKinds) else EventKinds(kinds)
        try:
            private_file(path)
            self._sealer = Sealer(key_file or path.with_name(path.name + ".key"))
            self._writer_db = _connect(path)
            self._writer_db.executescript(SCHEMA)
            self._reader_db = _connect(path)
        except (OSError, sqlite3.Error, PrivacyError) as exc:
            raise StoreError(f"cannot open the event store {path}: {exc}; "
                             "set [store] path to a writable file") from None
        self._retention_s = retention_days * 86400.0 if retention_days else None
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Condition()
        self._queued = self._committed = 0
        self._seq: dict[str, int] = {}  # writer thread only
        self._read_lock = threading.Lock()
        self._closed = False
        self._purge_at = 0.0
        self._writer = threading.Thread(target=self._write_loop, name=f"event-store-writer:{path.name}", daemon=True)
        self._writer.start()

    def record(self, event: CallEvent) -> None:
        """A journal listener: queue one event for the writer (never touches the disk)."""
        name = self.kinds.name_of(event)
        with self._done:
            if self._closed:
                raise StoreError(f"the event store {self.path} is closed; {name} of call {event.call_id} not stored")
            self._queued += 1
            self._queue.put((name, event))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event recorded so far is committed."""
        with self._done:
            target = self._queued
            if not self._done.wait_for(lambda: self._committed >= target, timeout):
                raise StoreError(f"the event store {self.path} has not written {target - self._committed} events "
                                 f"in {timeout:g} s: is its disk full or failing?")

    def events(self, call_id: str) -> list[CallEvent]:
        """One call's events in order, as typed events (read-your-writes: waits for the writer)."""
        self.flush()
        with self._read_lock:
            rows = self._reader_db.execute(
                "SELECT kind, data FROM call_events WHERE call_id=? ORDER BY seq", (call_id,)).fetchall()
        return [self._rebuild(call_id, kind, data) for kind, data in rows]

    def call_ids(self) -> list[str]:
        self.flush()
        with self._read_lock:
            rows = self._reader_db.execute(
                "SELECT call_id FROM call_events GROUP BY call_id ORDER BY MIN(at)").fetchall()
        return [r[0] for r in rows]

    def close(self, timeout: float = 10.0) -> None:
        """Write everything queued, then close. Idempotent."""
        with self._done:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join(timeout)
        if self._writer.is_alive():
            log.error("event store %s: %d events still unwritten after %g s at shutdown",
                      self.path, self._queued - self._committed, timeout)
            return  # the thread still owns its connection
        self._writer_db.close()
        self._reader_db.close()

    def _rebuild(self, call_id: str, kind: str, data: str) -> CallEvent:
        try:
            return restored(self.kinds.kind(kind, call_id), json.loads(data), self._sealer)
        except PrivacyError as exc:
            raise StoreError(f"{self.path}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self.path}: a stored {kind} event of call {call_id} does not fit its kind "
                             f"({exc}); it was written by another version") from None

    # -- the writer thread --------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            items = [item for item in batch if item is not _STOP]
            if items:
                self._commit(items)
            self._purge_if_due()
            if len(items) < len(batch):
                return

    def _commit(self, items: list[tuple[str, CallEvent]]) -> None:
        rows = [row for row in map(self._row, items) if row]
        backoff, warned = 0.1, False
        while rows:
            try:
                self._writer_db.execute("BEGIN IMMEDIATE")
                self._writer_db.executemany("INSERT INTO call_events VALUES (?, ?, ?, ?, ?)", rows)
                self._writer_db.execute("COMMIT")
                break
            except sqlite3.Error as exc:
                if self._writer_db.in_transaction:
                    self._writer_db.execute("ROLLBACK")
                if not warned:  # keep the events and retry: a full disk is freed, a lock is released
                    log.error("event store %s: cannot write %d events (%s); retrying", self.path, len(rows), exc)
                    warned = True
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        if warned:
            log.warning("event store %s: written again", self.path)
        with self._done:
            self._committed += len(items)
            self._done.notify_all()
        if self._on_commit:
            self._on_commit([event for _, event in items])

    def _row(self, item: tuple[str, CallEvent]) -> tuple | None:
        name, event = item
        try:
            data = json.dumps(stored_form(event, self._sealer), default=str)
        except (TypeError, ValueError):
            log.exception("event store: a %s event of call %s cannot be stored", name, event.call_id)
            return None
        seq = self._seq.get(event.call_id)
        if seq is None:
            seq = self._writer_db.execute("SELECT COALESCE(MAX(seq), 0) FROM call_events WHERE call_id=?",
                                          (event.call_id,)).fetchone()[0]
        self._seq[event.call_id] = seq + 1
        if isinstance(event, CallEnded):
            self._seq.pop(event.call_id, None)
        return (event.call_id, seq + 1, event.at, name, data)

    def _purge_if_due(self) -> None:
        if self._retention_s is None or time.monotonic() < self._purge_at:
            return
        self._purge_at = time.monotonic() + PURGE_EVERY_S
        try:
            gone = self._writer_db.execute(
                "DELETE FROM call_events WHERE call_id IN "
                "(SELECT call_id FROM call_events GROUP BY call_id HAVING MAX(at) < ?)",
                (time.time() - self._retention_s,)).rowcount
        except sqlite3.Error as exc:
            log.error("event store %s: cannot purge old calls (%s); will try again in an hour", self.path, exc)
            return
        if gone:
            log.info("event store: %d events of calls past [store] retention_days deleted", gone)
