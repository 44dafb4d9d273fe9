"""The HTTP adapter against a real aiohttp server on 127.0.0.1 that speaks its own field names,
and the [crm] settings that describe such a system."""

from __future__ import annotations

import asyncio
import socket
from datetime import date, datetime

import pytest
from aiohttp import web
from pydantic import ValidationError
from warmline.crm.base import CrmError, CrmUnavailable, GuardedCrm, key_digest
from warmline.crm.http import HttpCrm
from warmline.crm.records import ContactChange, Slot
from warmline.crm.settings import (
    DEFAULT_ENDPOINTS,
    CrmSettings,
    HttpCrmSettings,
    open_crm,
)

TOKEN_ENV, TOKEN = "WARMLINE_TEST_CRM_TOKEN", "s3cret-token"

# The remote agency system's own names for things.
REMOTE_POLICY = {"policyId": "P1", "policyNo": "40061234", "holderId": "C1", "lob": "auto", "state": "active",
                 "effective": "2026-07-01", "renewal": "2027-07-01", "deductible_cents": 50000,
                 "premium_cents": 154080, "carrier": "Granite Mutual", "agentCode": "X7"}  # agentCode: not ours
REMOTE_CONTACT = {"personId": "C1", "givenName": "Maria", "familyName": "Alvarez", "phone": "5550100",
                  "email": "maria.alvarez@example.com", "street": "14 Beacon Street", "city": "Boston",
                  "state": "MA", "postal": "02108", "dob": "1980-03-05"}
FIELD_MAPS = {
    "policy": {"policyId": "id", "policyNo": "number", "holderId": "contact_id", "lob": "line", "state": "status"},
    "contact": {"personId": "id", "givenName": "first_name", "familyName": "last_name", "postal": "zip",
                "dob": "date_of_birth"},
    "appointment": {"apptId": "id", "personId": "contact_id", "when": "start", "agent": "producer"},
    "slot": {"when": "start", "agent": "producer"},
}


class Remote:
    """The fake agency system: canned answers, and every write it received."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, dict, dict]] = []
        self.contact = dict(REMOTE_CONTACT)
        self.release = asyncio.Event()  # set at teardown: the slow endpoint never answers before
        self.app = web.Application()
        self.app.router.add_get("/api/policies", self.policies)
        self.app.router.add_get("/api/people/{id}", self.person)
        self.app.router.add_patch("/api/people/{id}", self.patch_person)
        self.app.router.add_get("/api/policies/{id}/billing", self.billing)
        self.app.router.add_get("/api/agency", self.slow)
        self.app.router.add_get("/api/calendar/free", self.free)
        self.app.router.add_post("/api/appointments", self.book)

    async def policies(self, request: web.Request) -> web.Response:
        number = request.query["number"]
        if number == "40061234":
            return web.json_response([REMOTE_POLICY])
        if number == "40000000":  # a record the field map does not cover
            return web.json_response([{k: v for k, v in REMOTE_POLICY.items() if k != "policyNo"}])
        return web.json_response([])

    async def person(self, request: web.Request) -> web.Response:
        if request.match_info["id"] != "C1":
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response({"person": self.contact})  # an envelope around the record

    async def patch_person(self, request: web.Request) -> web.Response:
        self.writes.append(("PATCH", dict(request.headers), await request.json()))
        self.contact.update(await request.json())
        return web.Response(status=204)

    async def billing(self, request: web.Request) -> web.Response:
        return web.Response(status=500, text="stack trace for Maria Alvarez, dob 1980-03-05")

    async def slow(self, request: web.Request) -> web.Response:
        await self.release.wait()
        return web.json_response({})

    async def free(self, request: web.Request) -> web.Response:
        when = datetime.fromisoformat(request.query["after"])
        return web.json_response({"slots": [{"when": when.replace(hour=h).isoformat(), "minutes": 30, "agent": "Ellen Park"}
                                            for h in (11, 12, 13, 14, 15)]})  # ignores the limit

    async def book(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.writes.append(("POST", dict(request.headers), body))
        return web.json_response({"apptId": "A9", "personId": body["personId"], "when": body["when"], "minutes": 30,
                                  "agent": body["agent"], "topic": body["topic"], "status": "booked"}, status=201)


@pytest.fixture
async def remote():
    fake = Remote()
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}/api"
    yield fake
    fake.release.set()
    await runner.cleanup()


def settings_for(url: str) -> HttpCrmSettings:
    return HttpCrmSettings(base_url=url, token_env=TOKEN_ENV, field_maps=FIELD_MAPS,
                           endpoints={"contact": "GET /people/{contact_id}", "update_contact": "PATCH /people/{contact_id}"})


@pytest.fixture
async def crm(remote, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    store = await HttpCrm.open(settings_for(remote.url), timeout_s=2.0)
    yield store
    await store.close()


async def test_remote_field_names_are_mapped_onto_records(crm):
    policy = await crm.find_policy("40061234")
    assert (policy.id, policy.number, policy.contact_id, policy.line, policy.status) == ("P1", "40061234", "C1", "auto", "active")
    contact = await crm.contact(policy.contact_id)
    assert (contact.first_name, contact.zip, contact.date_of_birth) == ("Maria", "02108", date(1980, 3, 5))


async def test_not_found_is_none(crm):
    assert await crm.contact("C404") is None  # HTTP 404
    assert await crm.find_policy("99999999") is None  # an empty search


async def test_a_server_error_is_a_crm_error_without_the_body(crm):
    with pytest.raises(CrmError) as caught:
        await crm.billing("P1")
    message = str(caught.value)
    assert not isinstance(caught.value, CrmUnavailable)
    assert "500" in message and "billing" in message and "Maria" not in message and "1980" not in message


async def test_a_record_missing_a_mapped_field_names_the_field_and_the_map(crm):
    with pytest.raises(CrmError, match=r"no field for 'number'.*field_maps\.policy"):
        await crm.find_policy("40000000")


async def test_a_slow_endpoint_is_crm_unavailable(remote, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    crm = await open_crm(CrmSettings(backend="http", timeout_s=0.2, http=settings_for(remote.url)))
    try:
        assert isinstance(crm, GuardedCrm)
        with pytest.raises(CrmUnavailable, match="agency"):
            await crm.agency()
    finally:
        await crm.close()


async def test_an_unreachable_system_is_crm_unavailable(monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    crm = await HttpCrm.open(settings_for(f"http://127.0.0.1:{port}/api"), timeout_s=2.0)
    try:
        with pytest.raises(CrmUnavailable, match="unreachable for find_policy"):
            await crm.find_policy("40061234")
    finally:
        await crm.close()


async def test_writes_carry_the_idempotency_key_and_the_token(crm, remote):
    slot = Slot(start=datetime(2026, 11, 24, 9, 30), minutes=30, producer="Ellen Park")
    for _ in range(2):  # a retry sends the same key: the remote deduplicates it
        booked = await crm.book_appointment("C1", slot, "policy_review", key="c1:appointment", call_id="c1")
    assert (booked.id, booked.contact_id, booked.start, booked.producer) == ("A9", "C1", slot.start, "Ellen Park")
    assert len(remote.writes) == 2
    for _, headers, body in remote.writes:
        assert headers["Idempotency-Key"] == key_digest("c1:appointment")
        assert headers["Authorization"] == f"Bearer {TOKEN}"
        assert body == {"personId": "C1", "when": "2026-11-24T09:30:00", "minutes": 30, "agent": "Ellen Park",
                        "topic": "policy_review"}


async def test_an_update_answered_with_204_reads_the_contact_back(crm, remote):
    updated = await crm.update_contact("C1", ContactChange(zip="04101"), key="c1:contact:zip", call_id="c1")
    assert updated.zip == "04101"
    [(method, headers, body)] = remote.writes
    assert (method, body) == ("PATCH", {"postal": "04101"}) and headers["Idempotency-Key"]


async def test_free_slots_unwraps_and_keeps_to_the_limit(crm):
    slots = await crm.free_slots(datetime(2026, 11, 24, 8, 0), limit=2)
    assert [(s.start.hour, s.producer) for s in slots] == [(11, "Ellen Park"), (12, "Ellen Park")]


async def test_a_missing_token_is_named_at_open(monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(CrmError, match=TOKEN_ENV):
        await HttpCrm.open(settings_for("http://127.0.0.1:9/api"))


# --- settings -----------------------------------------------------------------------------------

def test_a_partial_endpoint_table_keeps_the_defaults():
    endpoints = settings_for("http://x").endpoints
    assert endpoints["contact"] == "GET /people/{contact_id}"
    assert endpoints["billing"] == DEFAULT_ENDPOINTS["billing"] and set(endpoints) == set(DEFAULT_ENDPOINTS)


@pytest.mark.parametrize("given,problem", [
    ({"endpoints": {"find_polcy": "GET /p"}}, "unknown operation"),
    ({"endpoints": {"billing": "FETCH /b"}}, "must look like"),
    ({"endpoints": {"billing": "GET /b/{number}"}}, "uses number"),
    ({"field_maps": {"policy": {"policyNo": "policy_number"}}}, "no field policy_number"),
    ({"field_maps": {"invoice": {}}}, "unknown record"),
], ids=["operation", "method", "placeholder", "field", "record"])
def test_bad_http_settings_are_explained(given, problem):
    with pytest.raises(ValidationError, match=problem):
        HttpCrmSettings(**given)


def test_the_http_backend_needs_a_base_url():
    with pytest.raises(ValidationError, match="base_url"):
        CrmSettings(backend="http")
    assert CrmSettings().backend == "sqlite" and CrmSettings().timeout_s == 1.5
