"""[metrics] and [numbers] settings: the live Prometheus endpoint, where the review keeps its files."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator
from warmline.errors import WarmlineError

_LISTEN = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]*):\d{1,5}$")


class NumbersError(WarmlineError):
    """The numbers, the report or the feedback loop cannot do what was asked."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricsSettings(_Section):
    listen: str = Field("", description="host:port of a standalone /metrics server for Prometheus (when the console, "
                        "which serves /metrics itself, is off); empty = none", examples=[""])

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value and (not _LISTEN.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536):
            raise ValueError("must be host:port, e.g. 127.0.0.1:9464 (or empty for none)")
        return value


class NumbersSettings(_Section):
    dir: str = Field("/var/lib/warmline/numbers", min_length=1, description="where the feedback review, its exported "
                     "training lines and the routing overrides with their audit are kept",
                     examples=["/var/lib/warmline/numbers"])
    containment_target: float = Field(0.5, gt=0, lt=1, description="the containment the weekly review draws "
                                      "for billing and policy-service calls", examples=[0.5])
    min_transfers: int = Field(5, ge=1, le=1000, description="transfers of one AI reading needed before the "
                               "review suggests a routing change for it", examples=[5])
