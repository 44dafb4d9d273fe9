"""The event store on a real PostgreSQL server, as several Warmline boxes share it: each box
writes its own calls and reads everyone's; nothing acknowledged is lost when a writer is killed;
events queued while the server restarts are written when it is back; the password never shows."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from warmline.calls.events import CallEnded, CallStarted, EndReason, PromptStarted
from warmline.calls.store import EventStore, Postgres, StoreError
from warmline.catalog import EVENT_KINDS

from ..store_writer import killed_after


@pytest.fixture
def table_cleared(postgres):
    with psycopg.connect(postgres.url, autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS call_events")
    return postgres


def started(call_id: str, number: str) -> CallStarted:
    return CallStarted(call_id=call_id, pbx="asterisk", channel_id=f"ch-{call_id}", caller_number=number,
                       caller_name="Maria Alvarez", dialed="7000")


def test_two_boxes_write_their_own_calls_and_read_each_others(table_cleared, tmp_path):
    key = tmp_path / "shared.key"
    box_a = EventStore(Postgres(table_cleared.url), EVENT_KINDS, key_file=key)
    box_b = EventStore(Postgres(table_cleared.url), EVENT_KINDS, key_file=key)
    for box, call in ((box_a, "a-1"), (box_b, "b-1"), (box_a, "a-2")):
        box.record(started(call, "+12075550100"))
        box.record(PromptStarted(call_id=call, prompt="greeting"))
        box.record(CallEnded(call_id=call, reason=EndReason.CONTAINED))
    box_a.flush()
    box_b.flush()
    for reader in (box_a, box_b):
        assert sorted(reader.call_ids()) == ["a-1", "a-2", "b-1"]
        events = reader.events("b-1")
        assert [type(e).__name__ for e in events] == ["CallStarted", "PromptStarted", "CallEnded"]
        assert events[0].caller_number == "+12075550100"  # sealed by box B, opened by box A: one key
    with psycopg.connect(table_cleared.url) as db:
        stored = " ".join(row[0] for row in db.execute("SELECT data FROM call_events"))
    assert "5550100" not in stored and "Alvarez" not in stored
    box_a.close()
    box_b.close()


def test_a_box_killed_mid_call_loses_nothing_it_acknowledged(table_cleared, tmp_path):
    acked = killed_after(["postgres", table_cleared.url, str(tmp_path / "k.key")], 2000)
    store = EventStore(Postgres(table_cleared.url), EVENT_KINDS, key_file=tmp_path / "k.key")
    kept = {e.prompt for c in store.call_ids() for e in store.events(c)}
    store.close()
    assert not [p for p in acked if p not in kept]


def test_events_queued_while_the_server_restarts_are_written_when_it_is_back(table_cleared, tmp_path):
    store = EventStore(Postgres(table_cleared.url), EVENT_KINDS, key_file=tmp_path / "r.key")
    store.record(PromptStarted(call_id="r", prompt="before"))
    store.flush()
    table_cleared.stop()
    try:
        for i in range(20):
            store.record(PromptStarted(call_id="r", prompt=f"during-{i}"))
        time.sleep(0.5)  # the writer has tried and is retrying
    finally:
        table_cleared.start()
    store.flush(timeout=30)
    assert [e.prompt for e in store.events("r")] == ["before", *(f"during-{i}" for i in range(20))]
    store.close()


def test_a_wrong_password_is_one_line_without_the_password(postgres, tmp_path):
    wrong = postgres.url.replace("warmline:", "warmline:x" + uuid.uuid4().hex[:6], 1)
    password = wrong.split(":")[2].split("@")[0]
    with pytest.raises(StoreError) as error:
        EventStore(Postgres(wrong), EVENT_KINDS, key_file=tmp_path / "w.key")
    message = str(error.value)
    assert "[store] url" in message and "\n" not in message
    assert password not in message and "postgresql://127.0.0.1" in message


def test_a_shared_store_needs_its_sealing_key_named(postgres):
    with pytest.raises(StoreError, match="needs \\[store\\] key_file"):
        EventStore(Postgres(postgres.url), EVENT_KINDS)
