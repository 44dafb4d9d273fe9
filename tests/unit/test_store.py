"""The event store: an explicit registry of kinds, writes off the caller's thread, nothing
acknowledged ever lost (a writer killed mid-call), retention, owner-only files."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sqlite3
import sys
import threading
import time

import pytest
import warmline
from warmline.calls.events import CallEnded, CallEvent, CallStarted, EndReason, PromptStarted
from warmline.calls.store import EventKinds, EventStore, StoreError
from warmline.catalog import EVENT_KINDS
from warmline.dialog.events import KeysPressed

from ..store_writer import killed_after


def test_the_catalog_holds_every_event_kind_warmline_defines():
    for module in pkgutil.walk_packages(warmline.__path__, "warmline."):
        importlib.import_module(module.name)
    defined, todo = set(), [CallEvent]
    while todo:
        for sub in todo.pop().__subclasses__():
            # slots=True dataclasses replace the class they decorate: count the one the module holds
            if sub.__module__.startswith("warmline.") and getattr(sys.modules[sub.__module__], sub.__name__, None) is sub:
                defined.add(sub)
            todo.append(sub)
    assert defined == set(EVENT_KINDS), f"not in warmline.catalog: {sorted(k.__name__ for k in defined - set(EVENT_KINDS))}"


def test_a_registry_refuses_two_kinds_of_one_name():
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True, kw_only=True)
    class CallStarted(CallEvent):  # noqa: F811 - the clash is the point
        pass

    with pytest.raises(ValueError, match="two event kinds are named CallStarted"):
        EventKinds([EVENT_KINDS.kind("CallStarted", "-"), CallStarted])


def test_an_unknown_kind_read_back_is_an_error_naming_it(tmp_path):
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    store.record(PromptStarted(call_id="c1", prompt="greeting"))
    store.flush()
    with sqlite3.connect(tmp_path / "e.sqlite3") as db:
        db.execute("INSERT INTO call_events VALUES ('c1', 2, 0, 'CallTeleported', '{}')")
    with pytest.raises(StoreError, match="'CallTeleported' event \\(call c1\\)"):
        store.events("c1")
    store.close()


def test_a_kind_outside_the_registry_is_refused_on_the_way_in(tmp_path):
    store = EventStore(tmp_path / "e.sqlite3", EventKinds([PromptStarted]))
    with pytest.raises(StoreError, match="cannot store a CallEnded event"):
        store.record(CallEnded(call_id="c1", reason=EndReason.CONTAINED))
    store.close()


def test_events_come_back_typed_and_in_order_from_many_threads(tmp_path):
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)

    def one_call(n: int) -> None:
        for i in range(200):
            store.record(PromptStarted(call_id=f"c{n}", prompt=f"p{i}"))
        store.record(CallEnded(call_id=f"c{n}", reason="handed_to_service"))

    threads = [threading.Thread(target=one_call, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):
        events = store.events(f"c{n}")
        assert [e.prompt for e in events[:-1]] == [f"p{i}" for i in range(200)]
        assert events[-1] == CallEnded(call_id=f"c{n}", at=events[-1].at, reason=EndReason.HANDED_TO_QUEUE, queue="service")
    store.close()


def test_record_does_not_write_on_the_callers_thread(tmp_path, monkeypatch):
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    writers = []
    real = store._commit
    monkeypatch.setattr(store, "_commit", lambda items: (writers.append(threading.current_thread().name), real(items)))
    store.record(PromptStarted(call_id="c1", prompt="greeting"))
    store.flush()
    assert writers and threading.current_thread().name not in writers
    store.close()


def test_close_writes_everything_queued(tmp_path):
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    for i in range(5000):
        store.record(KeysPressed(call_id=f"c{i % 7}", digits="1"))
    store.close()
    with pytest.raises(StoreError, match="is closed"):
        store.record(KeysPressed(call_id="late", digits="1"))
    reopened = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    assert sum(len(reopened.events(c)) for c in reopened.call_ids()) == 5000
    reopened.close()


def test_events_after_call_ended_in_one_batch_keep_numbering(tmp_path):
    """A disposition or survey answer recorded with the call's end (one writer batch) is stored after it."""
    store = EventStore(tmp_path / "e.sqlite3", EVENT_KINDS)
    store.record(CallEnded(call_id="c", reason=EndReason.CONTAINED))
    store.record(KeysPressed(call_id="c", digits="5"))
    store.record(KeysPressed(call_id="c", digits="4"))
    store.flush()
    store.record(KeysPressed(call_id="c", digits="3"))  # a later batch: numbered on from the stored rows
    assert [type(e).__name__ for e in store.events("c")] == ["CallEnded", "KeysPressed", "KeysPressed", "KeysPressed"]
    assert [e.digits for e in store.events("c")[1:]] == ["5", "4", "3"]
    store.close()
    rows = sqlite3.connect(tmp_path / "e.sqlite3").execute("SELECT seq FROM call_events ORDER BY seq").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]


def test_a_writer_killed_mid_call_loses_nothing_it_acknowledged(tmp_path):
    path = tmp_path / "e.sqlite3"
    acked = killed_after(["sqlite", str(path)], 3000)
    store = EventStore(path, EVENT_KINDS)
    kept = {e.prompt for c in store.call_ids() for e in store.events(c)}
    store.close()
    missing = [p for p in acked if p not in kept]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"
    assert len(kept) >= len(acked)


def test_retention_deletes_calls_whose_last_event_is_old(tmp_path):
    path = tmp_path / "e.sqlite3"
    store = EventStore(path, EVENT_KINDS, retention_days=30)
    old, recent = time.time() - 40 * 86400, time.time() - 10 * 86400
    store.record(PromptStarted(call_id="old", at=old, prompt="greeting"))
    store.record(PromptStarted(call_id="spans", at=old, prompt="greeting"))
    store.record(PromptStarted(call_id="spans", at=recent, prompt="goodbye"))
    store.record(PromptStarted(call_id="recent", at=recent, prompt="greeting"))
    store.close()
    again = EventStore(path, EVENT_KINDS, retention_days=30)  # the purge runs when the store opens, then hourly
    assert again.call_ids() == ["spans", "recent"]
    again.close()
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                               if path.with_name(path.name + "-wal").exists() else b"")
    assert b'"call_id": "old"' not in raw  # secure_delete: the purged rows' bytes are gone too


def test_the_files_are_owner_only_and_the_key_seals(tmp_path):
    path = tmp_path / "new" / "e.sqlite3"
    store = EventStore(path, EVENT_KINDS)
    store.record(CallStarted(call_id="c1", pbx="asterisk", channel_id="x", caller_number="+12075550100",
                             caller_name="Maria Alvarez", dialed="7000"))
    store.flush()
    modes = {f.name: f.stat().st_mode & 0o777 for f in path.parent.iterdir()}
    assert modes == {"e.sqlite3": 0o600, "e.sqlite3-wal": 0o600, "e.sqlite3-shm": 0o600, "e.sqlite3.key": 0o600}
    assert path.parent.stat().st_mode & 0o777 == 0o700
    row = json.loads(sqlite3.connect(path).execute("SELECT data FROM call_events").fetchone()[0])
    assert "5550100" not in row["caller_number"] and "Alvarez" not in row["caller_name"]
    assert store.events("c1")[0].caller_number == "+12075550100"
    store.close()
    (path.parent / "e.sqlite3.key").write_bytes(b"AAAA" * 11)
    with pytest.raises(StoreError, match="cannot open the event store .*sealing key"):
        EventStore(path, EVENT_KINDS)


def test_a_replaced_key_is_named_when_sealed_values_do_not_open(tmp_path):
    path = tmp_path / "e.sqlite3"
    store = EventStore(path, EVENT_KINDS)
    store.record(CallStarted(call_id="c1", pbx="asterisk", channel_id="x", caller_number="+1", caller_name="",
                             dialed="7000"))
    store.close()
    (tmp_path / "e.sqlite3.key").unlink()
    other = EventStore(path, EVENT_KINDS)  # a new key is made: the old sealed values cannot open
    with pytest.raises(StoreError, match="does not open with the key"):
        other.events("c1")
    other.close()
