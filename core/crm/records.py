"""What the CRM knows, as Warmline sees it: frozen, validated records.

Every adapter returns these and nothing else, so the conversation never depends on how an
agency's system names its fields (the HTTP adapter maps them; see settings.HttpCrmSettings).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Line = Literal["auto", "home", "renters", "umbrella", "commercial"]
PolicyStatus = Literal["active", "cancelled", "lapsed"]
ClaimStatus = Literal["open", "under_review", "approved", "paid", "denied", "closed"]
AppointmentStatus = Literal["booked", "cancelled"]
MessageKind = Literal["id_card", "callback", "receipt"]
MessageChannel = Literal["email", "sms"]
MessageStatus = Literal["queued", "sent", "failed"]
ConsentChannel = Literal["voice", "sms", "email"]
ConsentPurpose = Literal["service", "marketing"]
# the producer's verdict on a transfer (handoff.events.Disposition; the CRM room stands below it)
DispositionCode = Literal["resolved", "rerouted", "misidentified", "lacked_knowledge", "integration_failure",
                          "over_escalated", "confirmation_only"]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(Record):
    id: str
    first_name: str
    last_name: str
    phone: str  # digits only
    email: str = ""  # not everyone has one; "" = none on file
    street: str
    city: str
    state: str
    zip: str
    date_of_birth: date


class Policy(Record):
    id: str
    number: str  # digits, as the caller keys it
    contact_id: str
    line: Line
    status: PolicyStatus
    effective: date
    renewal: date
    deductible_cents: int
    premium_cents: int
    carrier: str


class Billing(Record):
    policy_id: str
    balance_cents: int
    due_date: date | None = None
    last_payment_cents: int | None = None
    last_payment_date: date | None = None
    autopay: bool = False


class Claim(Record):
    id: str
    number: str
    policy_id: str
    status: ClaimStatus
    opened: date
    adjuster_name: str = ""  # "" until an adjuster is assigned
    adjuster_phone: str = ""
    next_step: str = ""  # a short sentence: "the adjuster will inspect the vehicle"
    expected_payment_date: date | None = None


class Slot(Record):
    start: datetime  # naive, the agency's local time
    minutes: int
    producer: str


class Appointment(Record):
    id: str
    contact_id: str
    start: datetime
    minutes: int
    producer: str
    topic: str
    status: AppointmentStatus


class ContactChange(Record):
    """Contact details a caller may change; at least one, each in the shape the CRM stores."""

    street: str | None = Field(None, min_length=1)
    city: str | None = Field(None, min_length=1)
    state: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    zip: str | None = Field(None, pattern=r"^\d{5}$")
    phone: str | None = Field(None, pattern=r"^\d{10}$")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    @model_validator(mode="after")
    def _something_to_change(self) -> ContactChange:
        if not self.fields():
            raise ValueError("a contact change needs at least one of street, city, state, zip, phone, email")
        return self

    def fields(self) -> dict[str, str]:
        """The fields being changed, with the state upper-cased as stored."""
        given = {k: v for k, v in self.model_dump().items() if v is not None}
        if "state" in given:
            given["state"] = given["state"].upper()
        return given


class OutboundMessage(Record):
    id: str
    contact_id: str
    kind: MessageKind
    channel: MessageChannel
    destination: str
    status: MessageStatus
    created: datetime


class Consent(Record):
    contact_id: str
    channel: ConsentChannel
    purpose: ConsentPurpose
    granted: bool
    source: str  # where it was given: "web form", "signed application", "call c1"
    recorded: datetime


class AgencyInfo(Record):
    name: str
    phone: str
    street: str
    city: str
    state: str
    zip: str
    fax: str = ""
    hours: str  # "Monday to Friday, 8 AM to 5 PM"
    payment_phone: str  # digits: the line callers pay by card on
    payment_mailing_address: str


class CallDisposition(Record):
    """A producer's wrap-up of one transfer: one per call and producer, the first one kept."""

    call_id: str
    producer: str  # as routing names them
    by: str  # the console account that tagged it
    disposition: DispositionCode
    caller_repeated: bool
    queue: str = ""  # rerouted: the queue it belonged to
    intent: str = ""  # misidentified: the intent it really was
    notes: str = ""
    recorded: datetime  # UTC


class AuditEntry(Record):
    """One write as the audit keeps it: who, what, which records, which fields — never values."""

    at: datetime  # UTC
    call_id: str
    operation: str
    entity_ids: tuple[str, ...]
    fields: tuple[str, ...]  # names of the fields changed; empty on a replay
    key: str  # digest of the idempotency key (keys may embed the new value)
    replayed: bool
