"""The agency system's HTTP answers: a record (or None, or a list), or CrmError in one line."""

import asyncio
import json
from datetime import datetime

import aiohttp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.crm.base import CrmError
from warmline.crm.http import HttpCrm
from warmline.crm.records import ContactChange, Record, Slot
from warmline.crm.settings import HttpCrmSettings

from tests.fuzz.clean import assert_clean
from tests.fuzz.http_stub import Reply, StubServer
from tests.fuzz.mutate import mutated

# Valid answers, in Warmline's own field names (no field map), one per record kind.
RECORDS = {
    "policy": {"id": "P1", "number": "40061234", "contact_id": "C1", "line": "auto", "status": "active",
               "effective": "2026-07-01", "renewal": "2027-07-01", "deductible_cents": 50000,
               "premium_cents": 154080, "carrier": "Granite Mutual"},
    "contact": {"id": "C1", "first_name": "Maria", "last_name": "Alvarez", "phone": "6175550100",
                "email": "maria@example.com", "street": "14 Beacon Street", "city": "Boston", "state": "MA",
                "zip": "02108", "date_of_birth": "1980-03-05"},
    "billing": {"policy_id": "P1", "balance_cents": 12000, "due_date": "2026-12-15", "autopay": False},
    "slot": {"start": "2026-12-03T10:00:00", "minutes": 30, "producer": "Dana"},
    "appointment": {"id": "A1", "contact_id": "C1", "start": "2026-12-03T10:00:00", "minutes": 30,
                    "producer": "Dana", "topic": "review", "status": "booked"},
    "message": {"id": "M1", "contact_id": "C1", "kind": "id_card", "channel": "email",
                "destination": "maria@example.com", "status": "queued", "created": "2026-12-02T10:00:00"},
}
SLOT = Slot(start=datetime(2026, 12, 3, 10), minutes=30, producer="Dana")
# Each operation, called as the conversation calls it, and the record kind it answers with.
CALLS = {
    "find_policy": ("policy", lambda crm: crm.find_policy("40061234")),
    "contact": ("contact", lambda crm: crm.contact("C1")),
    "contacts_by_phone": ("contact", lambda crm: crm.contacts_by_phone("6175550100")),
    "billing": ("billing", lambda crm: crm.billing("P1")),
    "free_slots": ("slot", lambda crm: crm.free_slots(datetime(2026, 12, 2), 3)),
    "book_appointment": ("appointment", lambda crm: crm.book_appointment("C1", SLOT, "review", key="k1", call_id="c")),
    "update_contact": ("contact", lambda crm: crm.update_contact("C1", ContactChange(zip="02109"), key="k2",
                                                                  call_id="c")),
    "queue_message": ("message", lambda crm: crm.queue_message("C1", "id_card", "email", "m@example.com",
                                                                key="k3", call_id="c")),
}
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "text/html; charset=latin-1",
                 "application/json; charset=no-such-codec", None]


@pytest.fixture(scope="module")
def server():
    with StubServer() as stub:
        yield stub


async def _call(server, op):
    settings = HttpCrmSettings(base_url=server.url, token_env="")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        return await CALLS[op][1](HttpCrm(settings, session, 5))


def call_or_clean_error(server, op: str, reply: Reply) -> None:
    server.reply = reply
    try:
        result = asyncio.run(_call(server, op))
    except CrmError as exc:
        assert_clean(exc, CrmError)
        return
    assert result is None or isinstance(result, Record) or all(isinstance(r, Record) for r in result)


ops = st.sampled_from(sorted(CALLS))
statuses = st.sampled_from([200, 200, 200, 201, 204, 404, 500]) | st.integers(200, 599)  # 1xx: the client waits for a final answer


@given(ops, statuses, st.binary(max_size=200), st.sampled_from(CONTENT_TYPES))
@example("billing", 200, b"\x80", "application/json")  # resp.text(): UnicodeDecodeError escaped
@example("billing", 200, b"{}", "application/json; charset=no-such-codec")  # resp.text(): LookupError
@example("billing", 200, b"[" * 100_000, "application/json")  # json.loads: RecursionError
def test_arbitrary_bodies(server, op, status, body, content_type):
    call_or_clean_error(server, op, Reply(status, body, content_type))


@st.composite
def answers(draw, op):
    """The valid record for the operation, mutated, alone, in a list or in an envelope."""
    record = draw(mutated(RECORDS[CALLS[op][0]], st.sampled_from(sorted(RECORDS[CALLS[op][0]])) | st.text(max_size=8)))
    shape = draw(st.sampled_from(["alone", "list", "envelope", "list-envelope"]))
    return {"alone": record, "list": [record], "envelope": {"data": record},
            "list-envelope": {"data": [record, record]}}[shape]


@given(st.data())
def test_valid_records_with_fields_removed_and_retyped(server, data):
    op = data.draw(ops)
    body = json.dumps(data.draw(answers(op)), allow_nan=True).encode()
    call_or_clean_error(server, op, Reply(200, body, data.draw(st.sampled_from(CONTENT_TYPES))))
