"""Who to ring for a hand-off: producers by queue, skills and availability (sans-IO).

The PBX plugin reads availability (device state, Do Not Disturb) into `Availability`, and the
console's wrap-up on top (`with_wrap_up`); this module only decides, so every rule is a row in a
table test.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator
from warmline.crm.records import Line

LINES = get_args(Line)


class Producer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="shown in logs, events and the console")
    endpoint: str = Field(description="the PBX's dial string: PJSIP/1001, Local/1001@producers")
    queues: tuple[str, ...] = Field(min_length=1, description="queues this producer takes")
    lines: tuple[str, ...] = Field((), description="lines of business (auto, home...); empty = all")
    states: tuple[str, ...] = Field((), description="two-letter states where they hold a licence")
    device: str = Field("", description="device whose state tells if they are free (Asterisk: DEVICE_STATE); "
                                        "empty = the PBX plugin derives it from the endpoint")
    dnd: str = Field("", description="where the PBX keeps their Do Not Disturb flag (Asterisk: an AstDB "
                                     "family/key, non-empty under DND, e.g. DND/1001)")
    queue_member: str = Field("", description="who they are in the PBX's own queues (Asterisk: the queue "
                                              "member's interface, e.g. PJSIP/1001): paused there during "
                                              "wrap-up, and named when a queue call reaches them; empty = "
                                              "the endpoint")

    @field_validator("endpoint")
    @classmethod
    def _dial_string(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+/[^\s,&]+", value):  # one channel: no "&" lists, no Dial options
            raise ValueError(f"endpoint {value!r} is not a dial string: write Tech/resource, e.g. PJSIP/1001")
        return value

    @field_validator("queue_member")
    @classmethod
    def _member(cls, value: str) -> str:
        if value and not re.fullmatch(r"[A-Za-z0-9_]+/\S+", value):
            raise ValueError(f"queue_member {value!r} is not a queue member interface: write Tech/resource as "
                             "in queues.conf, e.g. PJSIP/1001, or \"\" for the endpoint")
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


class Availability(StrEnum):
    """Whether a producer can be rung now, as the PBX plugin reads it (device state, Do Not Disturb)."""

    FREE = "free"
    UNKNOWN = "unknown"  # the PBX cannot tell (e.g. a Local channel): worth a try
    BUSY = "busy"  # on a call, ringing or on hold
    OFFLINE = "offline"  # not registered, or no such device
    DND = "dnd"  # Do Not Disturb
    WRAP_UP = "wrap_up"  # tagging their last transfer on the console (the desk says so, not the PBX)


UNKNOWN = Availability.UNKNOWN
RINGABLE = frozenset({Availability.FREE, Availability.UNKNOWN})


def with_wrap_up(availability: Mapping[str, Availability], wrap_up: Iterable[str]) -> dict[str, Availability]:
    """The PBX's view with the desk's on top: a producer tagging their last transfer is not rung,
    whatever their phone says."""
    return {**availability, **{name: Availability.WRAP_UP for name in wrap_up}}


def available(a: Availability) -> bool:
    """Free to ring: idle, or of unknown state and so worth trying."""
    return a in RINGABLE


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
    if not available(availability):
        return availability.value  # "busy", "offline", "dnd", "wrap_up"
    return None


def _licensed(producer: Producer, state: str | None) -> bool:
    # an unverified caller's state is unknown: any licensed producer may take them
    return state.upper() in producer.states if state else bool(producer.states)
