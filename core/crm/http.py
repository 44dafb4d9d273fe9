"""The agency's own management system over its HTTP API, mapped onto Warmline's records.

Endpoints and field names are configuration ([crm.http]), so a new agency system needs a
settings table, not code. Writes send an Idempotency-Key (a digest of Warmline's key) for the
remote to deduplicate retries; the remote keeps its own audit, Warmline logs ids only.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import ValidationError
from pydantic_core import to_jsonable_python
from warmline.crm.base import CrmError, CrmUnavailable, SlotTaken, key_digest
from warmline.crm.records import (
    AgencyInfo,
    Appointment,
    Billing,
    CallDisposition,
    Claim,
    Consent,
    Contact,
    ContactChange,
    MessageChannel,
    MessageKind,
    OutboundMessage,
    Policy,
    Record,
    Slot,
)
from warmline.crm.settings import HttpCrmSettings

log = logging.getLogger(__name__)
R = TypeVar("R", bound=Record)


class HttpCrm:
    def __init__(self, settings: HttpCrmSettings, session: aiohttp.ClientSession, timeout_s: float) -> None:
        self.settings, self._session, self.timeout_s = settings, session, timeout_s
        self._base = settings.base_url.rstrip("/")

    @classmethod
    async def open(cls, settings: HttpCrmSettings, timeout_s: float = 1.5) -> HttpCrm:
        headers = {"Accept": "application/json"}
        if settings.token_env:
            token = os.environ.get(settings.token_env, "")
            if not token:
                raise CrmError(f"environment variable {settings.token_env} is empty; put the agency system's API "
                               "token in it, or set [crm.http] token_env = \"\" if the API needs none")
            headers["Authorization"] = f"Bearer {token}"
        session = aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s))
        return cls(settings, session, timeout_s)

    # --- the wire -------------------------------------------------------------------------------

    async def _call(self, op: str, params: dict[str, Any], body: dict[str, Any] | None = None,
                    key: str | None = None, call_id: str = "") -> Any:
        """The decoded JSON answer; None for a lookup's 404 or an empty answer."""
        method, _, path = self.settings.endpoints[op].partition(" ")
        url = self._base + path.format(**{k: quote(str(v), safe="") for k, v in params.items()})
        headers = {"Idempotency-Key": key_digest(key), "X-Warmline-Call": call_id} if key is not None else {}
        try:
            async with self._session.request(method, url, json=body, headers=headers) as resp:
                if resp.status == 404 and key is None:
                    return None  # a lookup of something the agency system does not have
                if resp.status == 409 and op == "book_appointment":  # the agency system's "already booked"
                    raise SlotTaken(f"agency system answered HTTP 409 to {op}: the slot was taken; offer another")
                if not 200 <= resp.status < 300:  # the body is never echoed: it may hold personal data
                    raise CrmError(f"agency system answered HTTP {resp.status} to {op} ({method} {path}); check "
                                   f"[crm.http] endpoints.{op}, base_url and the token in ${self.settings.token_env}")
                body, charset = await resp.read(), resp.charset
        except TimeoutError:
            raise CrmUnavailable(f"CRM did not answer {op} within {self.timeout_s:g} s; check [crm.http] base_url "
                                 "is reachable or raise [crm] timeout_s") from None
        except aiohttp.ClientError as exc:
            raise CrmUnavailable(f"agency system unreachable for {op} ({type(exc).__name__}); "
                                 "check [crm.http] base_url") from None
        return _decode(op, body, charset)

    def _record(self, op: str, kind: str, model: type[R], raw: Any) -> R:
        """A remote record renamed by the field map, its other fields dropped, then validated."""
        if not isinstance(raw, dict):
            raise CrmError(f"agency system answered {op} without a {kind} record; check [crm.http] endpoints.{op}")
        mapping = self.settings.field_maps.get(kind, {})
        ours = {mapping.get(name, name): value for name, value in raw.items()}
        try:
            return model.model_validate({k: v for k, v in ours.items() if k in model.model_fields})
        except ValidationError as exc:
            err = exc.errors()[0]  # the message names the field, never the remote's value
            field = str(err["loc"][0]) if err["loc"] else kind
            remote = next((r for r, o in mapping.items() if o == field), field)
            if err["type"] == "missing":
                raise CrmError(f"the agency system's {kind} record has no field for {field!r}; map it in "
                               f"[crm.http.field_maps.{kind}] as <remote name> = \"{field}\"") from None
            raise CrmError(f"the agency system's {kind} field {remote!r} is not a valid {field} ({err['msg']}); "
                           f"check [crm.http.field_maps.{kind}]") from None

    def _records(self, op: str, kind: str, model: type[R], raw: Any) -> list[R]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise CrmError(f"agency system answered {op} without a list of {kind} records; "
                           f"check [crm.http] endpoints.{op}")
        return [self._record(op, kind, model, item) for item in raw]

    def _remote(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Our field names back to the remote's, for a write's body."""
        back = {ours: remote for remote, ours in self.settings.field_maps.get(kind, {}).items()}
        return {back.get(name, name): value for name, value in to_jsonable_python(data).items()}

    async def _lookup(self, op: str, kind: str, model: type[R], **params: Any) -> R | None:
        raw = await self._call(op, params)
        if isinstance(raw, list):  # a search answers with a list: the first match is the one
            raw = raw[0] if raw else None
        return self._record(op, kind, model, raw) if raw is not None else None

    async def _list(self, op: str, kind: str, model: type[R], **params: Any) -> list[R]:
        return self._records(op, kind, model, await self._call(op, params))

    async def _write(self, op: str, kind: str, model: type[R], params: dict[str, Any], body: dict[str, Any],
                     key: str, call_id: str) -> R:
        raw = await self._call(op, params, self._remote(kind, body), key, call_id)
        record = self._record(op, kind, model, raw)
        log.info("CRM %s for call %s done (%s)", op, call_id, getattr(record, "id", ""))
        return record

    # --- reads ----------------------------------------------------------------------------------

    async def agency(self) -> AgencyInfo:
        info = await self._lookup("agency", "agency", AgencyInfo)
        if info is None:
            raise CrmError("agency system has no agency details at endpoints.agency; check [crm.http] endpoints.agency")
        return info

    async def find_policy(self, number: str) -> Policy | None:
        return await self._lookup("find_policy", "policy", Policy, number=number)

    async def contact(self, contact_id: str) -> Contact | None:
        return await self._lookup("contact", "contact", Contact, contact_id=contact_id)

    async def contacts_by_phone(self, phone: str) -> list[Contact]:
        return await self._list("contacts_by_phone", "contact", Contact, phone=phone)

    async def policies_of(self, contact_id: str) -> list[Policy]:
        return await self._list("policies_of", "policy", Policy, contact_id=contact_id)

    async def billing(self, policy_id: str) -> Billing | None:
        return await self._lookup("billing", "billing", Billing, policy_id=policy_id)

    async def claims_of(self, contact_id: str) -> list[Claim]:
        return await self._list("claims_of", "claim", Claim, contact_id=contact_id)

    async def find_claim(self, number: str) -> Claim | None:
        return await self._lookup("find_claim", "claim", Claim, number=number)

    async def free_slots(self, after: datetime, limit: int = 3) -> list[Slot]:
        slots = await self._list("free_slots", "slot", Slot, after=after.isoformat(timespec="seconds"), limit=limit)
        return slots[:limit]  # a remote that ignores the limit must not flood the caller with offers

    async def appointments_of(self, contact_id: str) -> list[Appointment]:
        return await self._list("appointments_of", "appointment", Appointment, contact_id=contact_id)

    async def consents(self, contact_id: str) -> list[Consent]:
        return await self._list("consents", "consent", Consent, contact_id=contact_id)

    # --- writes ---------------------------------------------------------------------------------

    async def book_appointment(self, contact_id: str, slot: Slot, topic: str, *, key: str, call_id: str) -> Appointment:
        body = {"contact_id": contact_id, "start": slot.start, "minutes": slot.minutes, "producer": slot.producer,
                "topic": topic}
        return await self._write("book_appointment", "appointment", Appointment, {"contact_id": contact_id}, body,
                                 key, call_id)

    async def cancel_appointment(self, appointment_id: str, *, key: str, call_id: str) -> Appointment:
        return await self._write("cancel_appointment", "appointment", Appointment, {"appointment_id": appointment_id},
                                 {"status": "cancelled"}, key, call_id)

    async def update_contact(self, contact_id: str, change: ContactChange, *, key: str, call_id: str) -> Contact:
        raw = await self._call("update_contact", {"contact_id": contact_id}, self._remote("contact", change.fields()),
                               key, call_id)
        if raw is None:  # many APIs answer a PATCH with 204: read the contact back
            found = await self.contact(contact_id)
            if found is None:
                raise CrmError(f"contact {contact_id} vanished after update_contact; check [crm.http] endpoints.contact")
            return found
        return self._record("update_contact", "contact", Contact, raw)

    async def queue_message(self, contact_id: str, kind: MessageKind, channel: MessageChannel, destination: str,
                            *, key: str, call_id: str) -> OutboundMessage:
        body = {"contact_id": contact_id, "kind": kind, "channel": channel, "destination": destination}
        return await self._write("queue_message", "message", OutboundMessage, {"contact_id": contact_id}, body,
                                 key, call_id)

    async def add_note(self, contact_id: str, text: str, *, key: str, call_id: str) -> None:
        await self._call("add_note", {"contact_id": contact_id}, {"contact_id": contact_id, "text": text}, key, call_id)

    async def record_disposition(self, disposition: CallDisposition, *, key: str) -> CallDisposition:
        """POSTed with the Idempotency-Key of (call, producer): a retry or a double submit is one tag."""
        body = disposition.model_dump(mode="json", exclude={"call_id"})
        raw = await self._call("record_disposition", {"call_id": disposition.call_id},
                               self._remote("disposition", body), key, disposition.call_id)
        if raw is None:  # 201/204 with no body: the remote kept what we sent
            return disposition
        return self._record("record_disposition", "disposition", CallDisposition,
                            {"call_id": disposition.call_id, **raw})

    async def close(self) -> None:
        await self._session.close()


def _decode(op: str, body: bytes, charset: str | None) -> Any:
    """The JSON of an answer's body (UTF-8 unless the answer names its charset); None if empty."""
    try:
        text = body.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):  # an unknown charset, or bytes that are not in it
        raise CrmError(f"agency system answered {op} with text that is not valid {charset or 'UTF-8'}; "
                       f"check [crm.http] endpoints.{op} answers JSON") from None
    if not text.strip():
        return None
    try:
        return _unwrap(json.loads(text))
    except ValueError:
        raise CrmError(f"agency system answered {op} with something other than JSON; "
                       f"check [crm.http] endpoints.{op}") from None
    except RecursionError:
        raise CrmError(f"agency system answered {op} with JSON nested too deeply to read; "
                       f"check [crm.http] endpoints.{op}") from None


def _unwrap(raw: Any) -> Any:
    """{"data": [...]} or {"policy": {...}}: a lone envelope key around the payload is dropped."""
    if isinstance(raw, dict) and len(raw) == 1:
        (inner,) = raw.values()
        if isinstance(inner, (dict, list)):
            return inner
    return raw
