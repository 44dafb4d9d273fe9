"""[crm] settings: which CRM the conversation reads and writes, and how long it may take."""

from __future__ import annotations

import os
from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from warmline.crm.base import Crm, GuardedCrm
from warmline.crm.records import (
    AgencyInfo,
    Appointment,
    Billing,
    CallDisposition,
    Claim,
    Consent,
    Contact,
    OutboundMessage,
    Policy,
    Record,
    Slot,
)

# Each operation's endpoint and the placeholders its template may use.
DEFAULT_ENDPOINTS: dict[str, str] = {
    "agency": "GET /agency",
    "find_policy": "GET /policies?number={number}",
    "contact": "GET /contacts/{contact_id}",
    "contacts_by_phone": "GET /contacts?phone={phone}",
    "policies_of": "GET /contacts/{contact_id}/policies",
    "billing": "GET /policies/{policy_id}/billing",
    "claims_of": "GET /contacts/{contact_id}/claims",
    "find_claim": "GET /claims?number={number}",
    "free_slots": "GET /calendar/free?after={after}&limit={limit}",
    "appointments_of": "GET /contacts/{contact_id}/appointments",
    "consents": "GET /contacts/{contact_id}/consents",
    "book_appointment": "POST /appointments",
    "cancel_appointment": "POST /appointments/{appointment_id}/cancel",
    "update_contact": "PATCH /contacts/{contact_id}",
    "queue_message": "POST /messages",
    "add_note": "POST /contacts/{contact_id}/notes",
    "record_disposition": "POST /calls/{call_id}/dispositions",
}
PLACEHOLDERS: dict[str, set[str]] = {
    "agency": set(), "find_policy": {"number"}, "find_claim": {"number"}, "contacts_by_phone": {"phone"},
    "billing": {"policy_id"}, "free_slots": {"after", "limit"}, "cancel_appointment": {"appointment_id"},
    "record_disposition": {"call_id"},
    **{op: {"contact_id"} for op in ("contact", "policies_of", "claims_of", "appointments_of", "consents",
                                     "book_appointment", "update_contact", "queue_message", "add_note")},
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
RECORDS: dict[str, type[Record]] = {
    "agency": AgencyInfo, "contact": Contact, "policy": Policy, "billing": Billing, "claim": Claim, "slot": Slot,
    "appointment": Appointment, "message": OutboundMessage, "consent": Consent, "disposition": CallDisposition,
}


class HttpCrmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field("", description="the agency system's API root, e.g. https://ams.example/api/v1", examples=[""])
    token_env: str = Field("WARMLINE_CRM_TOKEN", description="NAME of the environment variable holding the bearer "
                           "token (never the token itself); empty = no Authorization header",
                           examples=["WARMLINE_CRM_TOKEN"])
    endpoints: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ENDPOINTS),
                                      description="per operation \"METHOD /path?q={placeholder}\"; unset ones keep the default",
                                      examples=[{"find_policy": DEFAULT_ENDPOINTS["find_policy"]}])
    field_maps: dict[str, dict[str, str]] = Field(default_factory=dict, description="per record, remote field name = "
                                                  "Warmline field name, e.g. policy = {policyNo = \"number\"}",
                                                  examples=[{"policy": {"policyNo": "number"}}])

    @field_validator("endpoints")
    @classmethod
    def _known_endpoints(cls, given: dict[str, str]) -> dict[str, str]:
        for op, template in given.items():
            if op not in DEFAULT_ENDPOINTS:
                raise ValueError(f"unknown operation {op!r}; the operations are: {', '.join(DEFAULT_ENDPOINTS)}")
            method, _, path = template.partition(" ")
            if method not in METHODS or not path.startswith("/"):
                raise ValueError(f"endpoint {op} = {template!r} must look like \"GET /path/{{placeholder}}\"")
            used = {name for _, name, _, _ in Formatter().parse(path) if name}
            if used - PLACEHOLDERS[op]:
                raise ValueError(f"endpoint {op} uses {', '.join(sorted(used - PLACEHOLDERS[op]))}; "
                                 f"it may use: {', '.join(sorted(PLACEHOLDERS[op])) or 'no placeholders'}")
        return {**DEFAULT_ENDPOINTS, **given}  # a partial table overrides only what it names

    @field_validator("field_maps")
    @classmethod
    def _known_fields(cls, given: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for kind, mapping in given.items():
            if kind not in RECORDS:
                raise ValueError(f"unknown record {kind!r}; the records are: {', '.join(RECORDS)}")
            unknown = sorted(set(mapping.values()) - set(RECORDS[kind].model_fields))
            if unknown:
                raise ValueError(f"{kind} has no field {', '.join(unknown)}; its fields are: "
                                 f"{', '.join(RECORDS[kind].model_fields)}")
        return given


class CrmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["sqlite", "http"] = Field("sqlite", description="sqlite = the embedded CRM file; http = the "
                                               "agency's own system over its API", examples=["sqlite"])
    sqlite_path: str = Field("/var/lib/warmline/crm.sqlite3", description="the embedded CRM file (created if missing)",
                             examples=["/var/lib/warmline/crm.sqlite3"])
    timeout_s: float = Field(1.5, gt=0, le=30, description="longest a CRM call may take before the caller is handed "
                             "to a person", examples=[1.5])
    http: HttpCrmSettings = Field(default_factory=HttpCrmSettings, description="how to reach the agency system "
                                  "(backend = \"http\")")

    @model_validator(mode="after")
    def _http_needs_a_url(self) -> CrmSettings:
        if self.backend == "http" and not self.http.base_url:
            raise ValueError("backend \"http\" needs [crm.http] base_url, e.g. https://ams.example/api/v1")
        return self


async def open_crm(settings: CrmSettings) -> Crm:
    """The configured CRM, every call bounded by timeout_s."""
    if settings.backend == "http":
        from warmline.crm.http import HttpCrm

        crm: Crm = await HttpCrm.open(settings.http, settings.timeout_s)
        return GuardedCrm(crm, settings.timeout_s, f"[crm.http] base_url ({settings.http.base_url})")
    from warmline.crm.sqlite import SqliteCrm

    path = os.path.expanduser(settings.sqlite_path)
    return GuardedCrm(await SqliteCrm.open(path), settings.timeout_s, f"[crm] sqlite_path ({path})")
