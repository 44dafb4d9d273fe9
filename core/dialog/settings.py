"""[dialog] settings: whether Warmline converses, and with which flow file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DialogSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="converse with callers (false: listen only, then the fallback)", examples=[True])
    flows: str = Field("", description="flow file (YAML); empty = the packaged warmline/data/flows-en.yaml", examples=[""])
