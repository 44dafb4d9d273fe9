"""Configuration of the engine's own stages (no PBX here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VadSettings(_Section):
    engine: Literal["silero", "webrtc"] = Field("silero", description="voice activity detector", examples=["silero"])
    threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability threshold", examples=[0.5])
    aggressiveness: int = Field(3, ge=0, le=3, description="WebRTC VAD aggressiveness 0-3", examples=[3])
    start_ms: int = Field(60, ge=10, le=1000, description="speech needed to open an utterance", examples=[60])
    hangover_ms: int = Field(700, ge=100, le=5000, description="silence that ends an utterance", examples=[700])
    max_utterance_ms: int = Field(20000, ge=1000, le=120000, description="longest utterance before it is cut", examples=[20000])
    no_input_ms: int = Field(8000, ge=1000, le=60000, description="silence before a no-input event", examples=[8000])
    pause_ms: int = Field(300, ge=0, le=5000, description="silence after which the words so far are decoded, and the "
                          "turn ends there if they are whole (not mid-number, mid-date or mid-phrase); 0 = always "
                          "wait for hangover_ms", examples=[300])


class SttSettings(_Section):
    engine: str = Field("whisper", min_length=1, description="speech engine (entry point group warmline.stt)", examples=["whisper"])
    model_path: str = Field("", description="model folder; empty = the packaged default", examples=[""])
    workers: int = Field(0, ge=0, le=64, description="parallel decodes; 0 = one per core", examples=[0])
    max_queue: int = Field(16, ge=0, le=1000, description="decodes that may wait for a worker", examples=[16])
    decode_timeout_s: float = Field(6.0, gt=0, le=120, description="longest one decode may run; past it the "
                                    "caller goes to a person and the stuck worker is replaced", examples=[6.0])


class PromptSettings(_Section):
    catalog: str = Field("", description="prompt texts (TOML [prompts] table); empty = the packaged English set", examples=[""])
    dir: str = Field("/var/lib/warmline/prompts", min_length=1, description="where `warmline prompts build` writes the 8 kHz WAVs", examples=["/var/lib/warmline/prompts"])
    asterisk_dir: str = Field("", description="the same folder as the PBX sees it (chroot or container); empty = dir", examples=[""])
    engine: Literal["flite", "espeak-ng"] = Field("flite", description="offline voice used to render prompts", examples=["flite"])
    voice: str = Field("", description="voice name for the engine; empty = its default (flite kal, espeak-ng en-us)", examples=[""])
    barge_in: bool = Field(True, description="a caller who talks over a prompt stops it", examples=[True])


class StoreSettings(_Section):
    path: str = Field("/var/lib/warmline/events.sqlite3", min_length=1,
                      description="SQLite file holding every call's event stream",
                      examples=["/var/lib/warmline/events.sqlite3"])
    key_file: str = Field("", description="key that seals the personal data the store must keep (call-back "
                          "number, caller name, hand-off payload); created 0600 on first use; back it up with "
                          "the database; empty = <path>.key", examples=[""])
    retention_days: int = Field(90, ge=1, le=3650, description="calls whose last event is older than this are "
                                "deleted (securely: the freed pages are zeroed)", examples=[90])
