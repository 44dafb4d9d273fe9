"""Who to ring for a hand-off: producers by queue, skills and availability (sans-IO).

The PBX plugin reads availability (device state, Do Not Disturb); this module only decides,
so every rule is a row in a table test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from warmline.crm.records import Line

LINES = get_args(Line)
AVAILABLE_STATES = frozenset({"NOT_INUSE", "UNKNOWN"})  # UNKNOWN: Asterisk cannot tell (e.g. Local channels): try


class Producer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="shown in logs, events and the console")
    endpoint: str = Field(description="Asterisk dial string: PJSIP/1001, Local/1001@producers")
    queues: tuple[str, ...] = Field(min_length=1, description="queues this producer takes")
    lines: tuple[str, ...] = Field((), description="lines of business (auto, home...); empty = all")
    states: tuple[str, ...] = Field((), description="two-letter states where they hold a licence")
    device: str = Field("", description="device for DEVICE_STATE; empty = derived from the endpoint "
                                        "(see state_device; none for Local channels)")
    dnd: str = Field("", description="AstDB family/key that is non-empty under Do Not Disturb, e.g. DND/1001")

    @field_validator("endpoint")
    @classmethod
    def _dial_string(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+/[^\s,&]+", value):  # one channel: no "&" lists, no Dial options
            raise ValueError(f"endpoint {value!r} is not a dial string: write Tech/resource, e.g. PJSIP/1001")
        return value

    @field_validator("lines")
    @classmethod
    def _line_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lines = tuple(v.strip().lower() for v in value)
        if bad := [v for v in lines if v not in LINES]:
            raise ValueError(f"lines {bad} are not lines of business: use some of {', '.join(LINES)}")
        return lines

    @field_validator("states")
    @classmethod
    def _state_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if bad := [s for s in value if not re.fullmatch(r"[A-Za-z]{2}", s)]:
            raise ValueError(f"states {bad} are not two-letter codes: write e.g. [\"MA\", \"NH\"]")
        return tuple(s.upper() for s in value)

    @field_validator("dnd")
    @classmethod
    def _astdb_key(cls, value: str) -> str:
        if value and not re.fullmatch(r"[^/\s]+/\S+", value):
            raise ValueError(f"dnd {value!r} is not an AstDB family/key: write e.g. DND/1001, or \"\" for none")
        return value

    @property
    def state_device(self) -> str | None:
        """The device whose DEVICE_STATE tells if they are free; None when Asterisk cannot know."""
        if self.device:
            return self.device
        tech, resource = self.endpoint.split("/", 1)
        if tech.lower() == "local":
            return None  # a Local channel's state is that of whatever it dials: unknown here
        if tech.upper() == "PJSIP":  # PJSIP/[user@]endpoint[/contact]: the state is the endpoint's
            return f"{tech}/{resource.split('/', 1)[0].rsplit('@', 1)[-1]}"
        return f"{tech}/{resource.split('@', 1)[0]}"


@dataclass(frozen=True, slots=True)
class Availability:
    device_state: str  # Asterisk DEVICE_STATE(): NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING...
    dnd: bool


UNKNOWN = Availability("UNKNOWN", False)


def available(a: Availability) -> bool:
    """Free to ring: idle (or of unknown state, so worth trying) and not on Do Not Disturb."""
    return a.device_state in AVAILABLE_STATES and not a.dnd


@dataclass(frozen=True, slots=True)
class RoutePlan:
    ring: tuple[Producer, ...]  # in configured order
    skipped: tuple[tuple[str, str], ...]  # (producer name, why)


def plan(producers: Sequence[Producer], *, queue: str, line: str | None, state: str | None,
         licensed_queues: Sequence[str], availability: Mapping[str, Availability], limit: int) -> RoutePlan:
    """Who to ring for this caller, in configured order, at most `limit`; and who not, and why."""
    ring, skipped = [], []
    for producer in producers:
        why = why_not(producer, queue=queue, line=line, state=state, licensed=queue in licensed_queues,
                      availability=availability.get(producer.name, UNKNOWN))
        if why:
            skipped.append((producer.name, why))
        elif len(ring) < limit:
            ring.append(producer)
    return RoutePlan(tuple(ring), tuple(skipped))


def why_not(producer: Producer, *, queue: str, line: str | None, state: str | None, licensed: bool,
            availability: Availability) -> str | None:
    """None when this producer may be rung for this caller; else why they are skipped."""
    if queue not in producer.queues:
        return "other_queue"
    if line and producer.lines and line.lower() not in producer.lines:
        return "line_of_business"
    if licensed and not _licensed(producer, state):
        return "not_licensed_in_state"
    if availability.dnd:
        return "dnd"
    if not available(availability):
        return f"busy:{availability.device_state}"
    return None


def _licensed(producer: Producer, state: str | None) -> bool:
    # an unverified caller's state is unknown: any licensed producer may take them
    return state.upper() in producer.states if state else bool(producer.states)
