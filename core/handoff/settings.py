"""How escalated callers reach people: the PBX-neutral part (who, in what order, how long)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from warmline.handoff.routing import Producer


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HandoffSettings(_Section):
    """How callers reach people: Warmline's own attended transfer, then the PBX's own routing (the plugin
says where: for Asterisk, the `[dialplan] handoff_context`)."""

    mode: Literal["transfer", "dialplan"] = Field(
        "transfer", description="transfer: Warmline rings producers itself (hold music, whisper, bridge), then "
        "hands the caller to the PBX's routing; dialplan: straight to the PBX's routing", examples=["transfer"])
    ring_timeout_s: int = Field(20, ge=5, le=120, description="how long one producer's phone rings", examples=[20])
    accept: Literal["dtmf", "auto"] = Field(
        "dtmf", description="dtmf: the producer presses 1 to take the call (2 declines); auto: the whisper is "
        "played and the call is bridged", examples=["dtmf"])
    accept_timeout_s: float = Field(8.0, ge=1, le=60, description="time after the whisper to press 1 or 2",
                                    examples=[8.0])
    max_producers: int = Field(3, ge=0, le=20, description="producers tried before the dialplan's queue",
                               examples=[3])
    licensed_queues: tuple[str, ...] = Field(
        ("licensed", "retention"), description="queues whose producers must be licensed in the caller's state",
        examples=[["licensed", "retention"]])
    console_url: str = Field("", description="POST the hand-off payload here before the phone rings (screen "
                             "pop); empty = no push", examples=[""])
    console_token_env: str = Field("", description="environment variable holding a bearer token for "
                                   "console_url", examples=[""])
    producers: tuple[Producer, ...] = Field((), description="who takes transfers, in the order they are tried")
