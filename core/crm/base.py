"""The CRM as the conversation sees it: one protocol, its errors, and a guard that never hangs.

Writes carry an idempotency `key` (a write retried after a timeout must not book twice or send
two emails) and the `call_id` they were made for (the audit says which call changed what).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol, TypeVar

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
    Slot,
)
from warmline.errors import WarmlineError

log = logging.getLogger(__name__)
T = TypeVar("T")


class CrmError(WarmlineError):
    """The CRM refused, failed or lacks what was asked; the message is one line naming the fix."""


class CrmUnavailable(CrmError):
    """The CRM did not answer in time or could not be reached."""


class SlotTaken(CrmError):
    """The appointment slot was booked by someone else between the offer and the booking."""


def key_digest(key: str) -> str:
    """What is stored and sent for an idempotency key: keys may embed the new phone or email."""
    if not key:
        raise CrmError("a CRM write needs a non-empty idempotency key; pass key=<call id>:<action>")
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class Crm(Protocol):
    async def agency(self) -> AgencyInfo: ...
    async def find_policy(self, number: str) -> Policy | None: ...
    async def contact(self, contact_id: str) -> Contact | None: ...
    async def contacts_by_phone(self, phone: str) -> list[Contact]: ...
    async def policies_of(self, contact_id: str) -> list[Policy]: ...
    async def billing(self, policy_id: str) -> Billing | None: ...
    async def claims_of(self, contact_id: str) -> list[Claim]: ...
    async def find_claim(self, number: str) -> Claim | None: ...
    async def free_slots(self, after: datetime, limit: int = 3) -> list[Slot]: ...
    async def appointments_of(self, contact_id: str) -> list[Appointment]: ...
    async def consents(self, contact_id: str) -> list[Consent]: ...

    async def book_appointment(self, contact_id: str, slot: Slot, topic: str, *, key: str, call_id: str) -> Appointment: ...
    async def cancel_appointment(self, appointment_id: str, *, key: str, call_id: str) -> Appointment: ...
    async def update_contact(self, contact_id: str, change: ContactChange, *, key: str, call_id: str) -> Contact: ...
    async def queue_message(self, contact_id: str, kind: MessageKind, channel: MessageChannel, destination: str,
                            *, key: str, call_id: str) -> OutboundMessage: ...
    async def add_note(self, contact_id: str, text: str, *, key: str, call_id: str) -> None: ...
    async def record_disposition(self, disposition: CallDisposition, *, key: str) -> CallDisposition: ...

    async def close(self) -> None: ...


class GuardedCrm:
    """Any Crm with every call bounded: a slow or unreachable CRM becomes CrmUnavailable, so the
    conversation can hand the caller to a person instead of leaving them in silence."""

    def __init__(self, crm: Crm, timeout_s: float, where: str = "[crm]") -> None:
        self.inner, self.timeout_s, self.where = crm, timeout_s, where

    async def _bounded(self, op: str, pending: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(pending, self.timeout_s)
        except CrmError:
            raise
        except TimeoutError:  # asyncio.TimeoutError is this since 3.11
            raise CrmUnavailable(f"CRM did not answer {op} within {self.timeout_s:g} s; "
                                 f"check {self.where} is reachable or raise [crm] timeout_s") from None
        except OSError as exc:
            raise CrmUnavailable(f"CRM unreachable for {op} ({type(exc).__name__}); check {self.where}") from None
        except Exception as exc:  # noqa: BLE001 — a bug or an adapter surprise must still end in a hand-off, not a crash
            log.error("CRM %s failed unexpectedly: %s", op, type(exc).__name__)  # no message: it may hold data
            raise CrmError(f"CRM {op} failed unexpectedly ({type(exc).__name__}); see the log and report it") from None

    async def agency(self) -> AgencyInfo:
        return await self._bounded("agency", self.inner.agency())

    async def find_policy(self, number: str) -> Policy | None:
        return await self._bounded("find_policy", self.inner.find_policy(number))

    async def contact(self, contact_id: str) -> Contact | None:
        return await self._bounded("contact", self.inner.contact(contact_id))

    async def contacts_by_phone(self, phone: str) -> list[Contact]:
        return await self._bounded("contacts_by_phone", self.inner.contacts_by_phone(phone))

    async def policies_of(self, contact_id: str) -> list[Policy]:
        return await self._bounded("policies_of", self.inner.policies_of(contact_id))

    async def billing(self, policy_id: str) -> Billing | None:
        return await self._bounded("billing", self.inner.billing(policy_id))

    async def claims_of(self, contact_id: str) -> list[Claim]:
        return await self._bounded("claims_of", self.inner.claims_of(contact_id))

    async def find_claim(self, number: str) -> Claim | None:
        return await self._bounded("find_claim", self.inner.find_claim(number))

    async def free_slots(self, after: datetime, limit: int = 3) -> list[Slot]:
        return await self._bounded("free_slots", self.inner.free_slots(after, limit))

    async def appointments_of(self, contact_id: str) -> list[Appointment]:
        return await self._bounded("appointments_of", self.inner.appointments_of(contact_id))

    async def consents(self, contact_id: str) -> list[Consent]:
        return await self._bounded("consents", self.inner.consents(contact_id))

    async def book_appointment(self, contact_id: str, slot: Slot, topic: str, *, key: str, call_id: str) -> Appointment:
        return await self._bounded("book_appointment",
                                   self.inner.book_appointment(contact_id, slot, topic, key=key, call_id=call_id))

    async def cancel_appointment(self, appointment_id: str, *, key: str, call_id: str) -> Appointment:
        return await self._bounded("cancel_appointment",
                                   self.inner.cancel_appointment(appointment_id, key=key, call_id=call_id))

    async def update_contact(self, contact_id: str, change: ContactChange, *, key: str, call_id: str) -> Contact:
        return await self._bounded("update_contact",
                                   self.inner.update_contact(contact_id, change, key=key, call_id=call_id))

    async def queue_message(self, contact_id: str, kind: MessageKind, channel: MessageChannel, destination: str,
                            *, key: str, call_id: str) -> OutboundMessage:
        return await self._bounded("queue_message", self.inner.queue_message(
            contact_id, kind, channel, destination, key=key, call_id=call_id))

    async def add_note(self, contact_id: str, text: str, *, key: str, call_id: str) -> None:
        return await self._bounded("add_note", self.inner.add_note(contact_id, text, key=key, call_id=call_id))

    async def record_disposition(self, disposition: CallDisposition, *, key: str) -> CallDisposition:
        return await self._bounded("record_disposition", self.inner.record_disposition(disposition, key=key))

    async def close(self) -> None:
        await self._bounded("close", self.inner.close())
