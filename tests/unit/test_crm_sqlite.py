"""The embedded SQLite CRM on a real file: the seeded demo, idempotent audited writes, the
schema checks, and the guard that turns a slow CRM into CrmUnavailable."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, datetime, timedelta

import pytest
from pydantic import ValidationError
from warmline.crm.base import CrmError, CrmUnavailable, GuardedCrm, key_digest
from warmline.crm.records import ContactChange
from warmline.crm.seed import (
    DEMO_AGENCY,
    DEMO_APPROVED_CLAIM,
    DEMO_CALLER,
    DEMO_NO_BILLING,
    DEMO_PRODUCERS,
    seed_command,
    seed_demo,
)
from warmline.crm.settings import CrmSettings, open_crm
from warmline.crm.sqlite import APP_ID, MIGRATIONS, SqliteCrm

TODAY = date(2026, 11, 23)  # a Monday
NOW = datetime(2026, 11, 23, 10, 0)


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "crm.sqlite3"
    seed_demo(file, TODAY)
    return file


@pytest.fixture
async def crm(path):
    store = await SqliteCrm.open(path)
    yield store
    await store.close()


def rows(path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


# --- the seeded demo ----------------------------------------------------------------------------

async def test_demo_caller_is_found_by_policy_number_and_phone(crm):
    policy = await crm.find_policy(DEMO_CALLER.policy_number)
    contact = await crm.contact(policy.contact_id)
    assert (policy.id, policy.line, policy.status) == (DEMO_CALLER.policy_id, "auto", "active")
    assert (contact.id, contact.date_of_birth, contact.zip) == (DEMO_CALLER.contact_id, date(1980, 3, 5), "02108")
    assert [c.id for c in await crm.contacts_by_phone("5550100")] == [DEMO_CALLER.contact_id]


async def test_demo_balance_is_due_nine_days_from_today(crm):
    bill = await crm.billing(DEMO_CALLER.policy_id)
    assert (bill.balance_cents, bill.due_date) == (12840, TODAY + timedelta(days=9))
    assert DEMO_CALLER.balance_prompt == "your_balance_is number:128 dollars and_cents number:40 cents"


async def test_one_demo_policy_has_no_billing_row(crm):
    policy = await crm.find_policy(DEMO_NO_BILLING.policy_number)
    assert policy.contact_id == DEMO_NO_BILLING.contact_id
    assert await crm.billing(policy.id) is None


async def test_unknown_records_are_none_not_errors(crm):
    assert await crm.find_policy("99999999") is None
    assert await crm.contact("C9999") is None
    assert await crm.find_claim("1") is None
    assert await crm.policies_of("C9999") == []


async def test_demo_claims_cover_several_statuses(crm):
    approved = await crm.find_claim(DEMO_APPROVED_CLAIM)
    assert approved.status == "approved" and approved.adjuster_phone
    assert approved.expected_payment_date == TODAY + timedelta(days=5)
    [mine] = await crm.claims_of(DEMO_CALLER.contact_id)
    assert (mine.number, mine.status) == (DEMO_CALLER.claim_number, "under_review")
    statuses = {c.status for cid in ("C1001", "C1002", "C1003", "C1006") for c in await crm.claims_of(cid)}
    assert len(statuses) >= 3


async def test_agency_info_and_consents(crm):
    assert await crm.agency() == DEMO_AGENCY
    assert (await crm.agency()).payment_phone == "5550142"
    consents = await crm.consents(DEMO_CALLER.contact_id)
    assert {(c.channel, c.purpose, c.granted) for c in consents} >= {("voice", "service", True)}


async def test_free_slots_are_distinct_future_business_hours(crm):
    slots = await crm.free_slots(NOW, limit=5)
    starts = [s.start for s in slots]
    assert len(slots) == 5 and starts == sorted(set(starts))
    assert all(s.start > NOW and s.start.weekday() < 5 and 9 <= s.start.hour < 16 for s in slots)
    assert slots[0].producer == DEMO_PRODUCERS[1]  # the first producer's first slot is already booked
    assert await crm.free_slots(NOW, limit=0) == []


# --- writes -------------------------------------------------------------------------------------

async def test_a_retried_booking_books_once_and_audits_both(crm, path):
    [slot] = await crm.free_slots(NOW, limit=1)
    first = await crm.book_appointment(DEMO_CALLER.contact_id, slot, "policy_review", key="c1:appointment", call_id="c1")
    again = await crm.book_appointment(DEMO_CALLER.contact_id, slot, "policy_review", key="c1:appointment", call_id="c1")
    assert again == first and first.status == "booked"
    assert [a.id for a in await crm.appointments_of(DEMO_CALLER.contact_id)] == [first.id]
    assert rows(path, "SELECT count(*) FROM appointments WHERE contact_id = 'C1001'") == [(1,)]
    log = await crm.audit_log(10)
    assert [(e.operation, e.replayed) for e in log] == [("book_appointment", False), ("book_appointment", True)]
    assert log[0].entity_ids == (DEMO_CALLER.contact_id, first.id) and "start" in log[0].fields
    assert log[1].fields == () and log[0].key == log[1].key == key_digest("c1:appointment")
    assert (await crm.free_slots(NOW, limit=1))[0].start > slot.start  # both producers are now taken at that time


async def test_two_calls_cannot_book_the_same_slot(crm):
    [slot] = await crm.free_slots(NOW, limit=1)
    results = await asyncio.gather(*(crm.book_appointment("C1002", slot, "review", key=f"c{n}:appointment",
                                                          call_id=f"c{n}") for n in range(2)),
                                   return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], CrmError) and "slot no longer free" in str(errors[0])


async def test_cancelling_frees_the_slot(crm):
    [slot] = await crm.free_slots(NOW, limit=1)
    booked = await crm.book_appointment("C1003", slot, "review", key="c3:appointment", call_id="c3")
    cancelled = await crm.cancel_appointment(booked.id, key="c3:cancel", call_id="c3")
    assert cancelled.status == "cancelled"
    assert [a.status for a in await crm.appointments_of("C1003")] == ["cancelled"]
    assert slot in await crm.free_slots(NOW, limit=3)


async def test_update_contact_audits_field_names_not_values(crm, path):
    change = ContactChange(email="maria.new@example.com")
    updated = await crm.update_contact(DEMO_CALLER.contact_id, change, key="c1:contact:email:maria.new@example.com",
                                       call_id="c1")
    assert updated.email == "maria.new@example.com" and updated.phone == DEMO_CALLER.phone
    assert (await crm.contact(DEMO_CALLER.contact_id)).email == "maria.new@example.com"
    [entry] = await crm.audit_log(5)
    assert (entry.operation, entry.fields, entry.entity_ids) == ("update_contact", ("email",), (DEMO_CALLER.contact_id,))
    stored = " ".join(map(str, rows(path, "SELECT * FROM audit") + rows(path, "SELECT key, entity_ids FROM idempotency")))
    assert "maria.new" not in stored  # not in the audit row, not in the stored key


async def test_a_queued_message_is_queued_once(crm, path):
    args = (DEMO_CALLER.contact_id, "id_card", "email", DEMO_CALLER.email)
    first = await crm.queue_message(*args, key="c1:id_card:P1001", call_id="c1")
    again = await crm.queue_message(*args, key="c1:id_card:P1001", call_id="c1")
    assert first == again and first.status == "queued"
    assert rows(path, "SELECT count(*) FROM outbound_messages") == [(1,)]


async def test_a_note_is_added_once(crm, path):
    for _ in range(2):
        await crm.add_note(DEMO_CALLER.contact_id, "asked about roadside assistance", key="c1:note", call_id="c1")
    assert rows(path, "SELECT contact_id, text FROM notes") == [("C1001", "asked about roadside assistance")]


async def test_a_key_cannot_be_reused_for_another_operation(crm):
    await crm.add_note("C1002", "called", key="c2:x", call_id="c2")
    with pytest.raises(CrmError, match="already used for add_note"):
        await crm.queue_message("C1002", "callback", "sms", "5550101", key="c2:x", call_id="c2")


async def test_writes_to_unknown_contacts_or_slots_are_refused(crm):
    [slot] = await crm.free_slots(NOW, limit=1)
    with pytest.raises(CrmError, match="no contact C9999"):
        await crm.add_note("C9999", "x", key="k1", call_id="c9")
    with pytest.raises(CrmError, match="no calendar slot"):
        await crm.book_appointment("C1001", slot.model_copy(update={"producer": "Nobody"}), "x", key="k2", call_id="c9")
    with pytest.raises(CrmError, match="idempotency key"):
        await crm.add_note("C1001", "x", key="", call_id="c9")
    assert await crm.audit_log() == []  # refused writes leave no trace


@pytest.mark.parametrize("fields", [{"zip": "2108"}, {"zip": "02108-1234"}, {"state": "Maine"}, {"phone": "5550100"},
                                    {"email": "maria@@example.com"}, {"email": "maria.example.com"}, {}],
                         ids=["zip-short", "zip-plus4", "state", "phone-7", "email-two-at", "email-no-at", "empty"])
def test_contact_change_rejects_malformed_values(fields):
    with pytest.raises(ValidationError):
        ContactChange(**fields)


def test_contact_change_lists_only_given_fields():
    assert ContactChange(state="me", zip="04101").fields() == {"state": "ME", "zip": "04101"}


# --- the file -----------------------------------------------------------------------------------

async def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path):
    crm = await SqliteCrm.open(tmp_path / "new.sqlite3")
    await crm.close()
    crm = await SqliteCrm.open(tmp_path / "new.sqlite3")  # reopening migrates nothing and keeps it
    await crm.close()
    with sqlite3.connect(tmp_path / "new.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APP_ID
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_file_from_a_newer_warmline_is_refused(path):
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(CrmError, match="newer Warmline"):
        await SqliteCrm.open(path)


async def test_a_file_that_is_not_a_warmline_crm_is_refused(tmp_path):
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    with pytest.raises(CrmError, match="not a Warmline CRM"):
        await SqliteCrm.open(other)
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("this is a text file, not a database\n" * 50)
    with pytest.raises(CrmError, match="not a Warmline CRM"):
        await SqliteCrm.open(junk)


async def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(CrmError, match="does not exist"):
        await SqliteCrm.open(tmp_path / "nowhere" / "crm.sqlite3")


async def test_calls_after_close_are_refused(path):
    crm = await SqliteCrm.open(path)
    await crm.close()
    with pytest.raises(CrmError, match="after close"):
        await crm.agency()


def test_seeding_refuses_a_real_agency_and_reseeds_the_demo(path, capsys):
    assert seed_command(path, TODAY) == 0  # an earlier demo is replaced
    assert "Harbor Point" in capsys.readouterr().out
    assert rows(path, "SELECT count(*) FROM contacts") == [(6,)]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE agency SET name = 'Real Agency LLC'")
    with pytest.raises(CrmError, match="not the demo"):
        seed_demo(path, TODAY)
    assert rows(path, "SELECT name FROM agency") == [("Real Agency LLC",)]


async def test_open_crm_gives_a_guarded_sqlite_crm(tmp_path):
    settings = CrmSettings(sqlite_path=str(tmp_path / "crm.sqlite3"))
    seed_demo(settings.sqlite_path, TODAY)
    crm = await open_crm(settings)
    try:
        assert isinstance(crm, GuardedCrm) and isinstance(crm.inner, SqliteCrm)
        assert (await crm.find_policy(DEMO_CALLER.policy_number)).id == DEMO_CALLER.policy_id
    finally:
        await crm.close()


# --- the guard ----------------------------------------------------------------------------------

class FakeCrm:
    """Answers find_policy the way it is told to: slowly, or by raising."""

    def __init__(self, behaviour):
        self.behaviour = behaviour

    async def find_policy(self, number):
        return await self.behaviour()


async def test_a_slow_crm_raises_crm_unavailable():
    async def slow():
        await asyncio.sleep(30)
    with pytest.raises(CrmUnavailable, match=r"did not answer find_policy within 0\.05 s"):
        await GuardedCrm(FakeCrm(slow), 0.05).find_policy("40061234")


@pytest.mark.parametrize("raised,expected", [(ConnectionRefusedError(), CrmUnavailable), (KeyError("x"), CrmError),
                                             (CrmError("kept as is"), CrmError)])
async def test_the_guard_turns_failures_into_crm_errors(raised, expected):
    async def fail():
        raise raised
    with pytest.raises(expected) as caught:
        await GuardedCrm(FakeCrm(fail), 1.0).find_policy("40061234")
    assert type(caught.value) is expected
    if raised.__class__ is CrmError:
        assert caught.value is raised


async def test_the_crm_file_and_its_wal_are_owner_only(tmp_path):
    import stat

    from warmline.crm.sqlite import SqliteCrm

    path = tmp_path / "crm.sqlite3"
    crm = await SqliteCrm.open(path)
    try:
        files = [p for p in tmp_path.iterdir() if p.name.startswith("crm.sqlite3")]
        assert path in files
        for each in files:
            assert stat.S_IMODE(each.stat().st_mode) == 0o600, each
    finally:
        await crm.close()
