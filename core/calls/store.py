"""The persisted event stream: every call's events, in order, in SQLite.

`record` (a journal listener) only queues the event; a writer thread commits whatever has queued
in one transaction (WAL mode), so the event loop never waits on the disk, and `close` drains the
queue before it returns. An event is acknowledged once its transaction has committed (`flush`
waits for that, `on_commit` is told): a process killed mid-call loses at most the events of the
last few milliseconds that were never acknowledged, never one that was.

Events rest without the caller's secrets (calls/at_rest.py) and are rebuilt through an explicit
registry of kinds: a kind the registry does not know is an error naming it, on the way in and out.

The database is an SQLite file on the box (the default) or a PostgreSQL server that several
Warmline processes or boxes share: each call is written by the one process serving it, and
every process can read every call.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from warmline.calls.at_rest import restored, stored_form
from warmline.calls.databases import Database, Postgres, SqliteFile, StoreError, one_line
from warmline.calls.events import CallEnded, CallEvent
from warmline.privacy import PrivacyError, Sealer

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS call_events (
        call_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (call_id, seq))""",
    "CREATE INDEX IF NOT EXISTS call_events_at ON call_events (at)",
)
BATCH = 500  # events per transaction at most
PURGE_EVERY_S = 3600.0
_STOP = object()


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


class EventStore:
    def __init__(self, database: Path | Database, kinds: EventKinds | Iterable[type[CallEvent]], *,
                 key_file: Path | None = None, retention_days: int | None = None,
                 on_commit: Callable[[Sequence[CallEvent]], None] | None = None) -> None:
        self.db = SqliteFile(database) if isinstance(database, Path) else database
        self.kinds = kinds if isinstance(kinds, EventKinds) else EventKinds(kinds)
        if key_file is None and not isinstance(self.db, SqliteFile):
            raise StoreError("a shared event store needs [store] key_file: the same sealing key on every box")
        try:
            self._sealer = Sealer(key_file or self.db.path.with_name(self.db.path.name + ".key"))
            self._writer_db = self.db.connect()
            for statement in SCHEMA:
                self._writer_db.execute(statement)
            self._writer_db.commit()
            self._reader_db = self.db.connect(reader=True)
        except (OSError, PrivacyError, *self.db.errors) as exc:
            where = "[store] url" if isinstance(self.db, Postgres) else "[store] path to a writable file"
            raise StoreError(f"cannot open the event store {self.db}: {one_line(exc)}; set {where}") from None
        self._retention_s = retention_days * 86400.0 if retention_days else None
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._done = threading.Condition()
        self._queued = self._committed = 0
        self._seq: dict[str, int] = {}  # writer thread only
        self._read_lock = threading.Lock()
        self._closed = False
        self._purge_at = 0.0
        self._writer = threading.Thread(target=self._write_loop, name="event-store-writer", daemon=True)
        self._writer.start()

    def record(self, event: CallEvent) -> None:
        """A journal listener: queue one event for the writer (never touches the disk)."""
        name = self.kinds.name_of(event)
        with self._done:
            if self._closed:
                raise StoreError(f"the event store {self.db} is closed; {name} of call {event.call_id} not stored")
            self._queued += 1
            self._queue.put((name, event))

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event recorded so far is committed."""
        with self._done:
            target = self._queued
            if not self._done.wait_for(lambda: self._committed >= target, timeout):
                raise StoreError(f"the event store {self.db} has not written {target - self._committed} events "
                                 f"in {timeout:g} s: is its disk full or failing?")

    def events(self, call_id: str) -> list[CallEvent]:
        """One call's events in order, as typed events (read-your-writes: waits for the writer)."""
        self.flush()
        rows = self._read("SELECT kind, data FROM call_events WHERE call_id=? ORDER BY seq", (call_id,))
        return [self._rebuild(call_id, kind, data) for kind, data in rows]

    def call_ids(self, since: float | None = None, until: float | None = None) -> list[str]:
        """Every call in the order they started; with since/until, the calls that started in [since, until)."""
        self.flush()
        if since is None and until is None:
            rows = self._read("SELECT call_id FROM call_events GROUP BY call_id ORDER BY MIN(at)", ())
        else:
            rows = self._read("SELECT call_id FROM call_events GROUP BY call_id HAVING MIN(at) >= ? AND MIN(at) < ? "
                              "ORDER BY MIN(at)", (since if since is not None else 0.0,
                                                   until if until is not None else 1e18))
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
                      self.db, self._queued - self._committed, timeout)
            return  # the thread still owns its connection
        self._writer_db.close()
        self._reader_db.close()

    def _read(self, statement: str, params: tuple) -> list:
        with self._read_lock:
            try:
                return self._reader_db.execute(self._sql(statement), params).fetchall()
            except self.db.errors as exc:
                if not getattr(self._reader_db, "closed", False):
                    raise StoreError(f"cannot read the event store {self.db}: {one_line(exc)}") from None
            try:  # a PostgreSQL server that restarted: once more, on a new connection
                self._reader_db = self.db.connect(reader=True)
                return self._reader_db.execute(self._sql(statement), params).fetchall()
            except self.db.errors as exc:
                raise StoreError(f"cannot read the event store {self.db}: {one_line(exc)}") from None

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self.db.mark)

    def _rebuild(self, call_id: str, kind: str, data: str) -> CallEvent:
        try:
            return restored(self.kinds.kind(kind, call_id), json.loads(data), self._sealer)
        except PrivacyError as exc:
            raise StoreError(f"{self.db}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise StoreError(f"{self.db}: a stored {kind} event of call {call_id} does not fit its kind "
                             f"({exc}); it was written by another version") from None

    def _rollback(self) -> None:
        try:
            self._writer_db.rollback()
        except self.db.errors:
            pass
        if getattr(self._writer_db, "closed", False):  # a PostgreSQL server that went away: reconnect
            try:
                self._writer_db = self.db.connect()
            except self.db.errors:
                pass  # still away: the next retry tries again

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
        # an ended call's counter is dropped once its rows are in: an event after CallEnded in the same
        # batch (a disposition, a survey answer) still numbers on from it, a later one reads MAX(seq)
        ended = [event.call_id for _, event in items if isinstance(event, CallEnded)]
        backoff, warned = 0.1, False
        while rows:
            try:
                self._writer_db.cursor().executemany(self._sql("INSERT INTO call_events VALUES (?, ?, ?, ?, ?)"), rows)
                self._writer_db.commit()
                break
            except self.db.errors as exc:
                self._rollback()
                if not warned:  # keep the events and retry: a full disk is freed, a lock or a server is back
                    log.error("event store %s: cannot write %d events (%s); retrying", self.db, len(rows),
                              one_line(exc))
                    warned = True
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
        for call_id in ended:
            self._seq.pop(call_id, None)
        if warned:
            log.warning("event store %s: written again", self.db)
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
            seq = self._writer_db.execute(self._sql("SELECT COALESCE(MAX(seq), 0) FROM call_events WHERE call_id=?"),
                                          (event.call_id,)).fetchone()[0]
        self._seq[event.call_id] = seq + 1
        return (event.call_id, seq + 1, event.at, name, data)

    def _purge_if_due(self) -> None:
        if self._retention_s is None or time.monotonic() < self._purge_at:
            return
        self._purge_at = time.monotonic() + PURGE_EVERY_S
        try:
            gone = self._writer_db.execute(self._sql(
                "DELETE FROM call_events WHERE call_id IN "
                "(SELECT call_id FROM call_events GROUP BY call_id HAVING MAX(at) < ?)"),
                (time.time() - self._retention_s,)).rowcount
            self._writer_db.commit()
        except self.db.errors as exc:
            self._rollback()
            log.error("event store %s: cannot purge old calls (%s); will try again in an hour", self.db, one_line(exc))
            return
        if gone:
            log.info("event store: %d events of calls past [store] retention_days deleted", gone)

