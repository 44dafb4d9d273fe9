"""Configuration of the Asterisk plugin (plain pydantic: importing it loads no PBX client)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

from warmline.handoff.routing import Producer


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AriSettings(_Section):
    url: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:8088"),
        description="Asterisk's HTTP server (http.conf bindaddr:bindport), without /ari",
        examples=["http://127.0.0.1:8088"],
    )
    username: str = Field("warmline", min_length=1, description="ari.conf user", examples=["warmline"])
    password: SecretStr = Field(SecretStr(""), description="ari.conf password", examples=["<the ari.conf password>"])
    app: str = Field(
        "warmline", pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Stasis application name used by Stasis() in the dialplan", examples=["warmline"],
    )
    request_timeout_s: float = Field(5.0, gt=0, le=60, description="timeout of one ARI REST request", examples=[5.0])
    reconnect_max_s: float = Field(10.0, ge=0.5, le=300, description="longest wait between reconnect attempts", examples=[10.0])


class AmiSettings(_Section):
    enabled: bool = Field(True, description="connect to AMI (screen-pop events, device state)", examples=[True])
    host: str = Field("127.0.0.1", min_length=1, description="manager.conf bindaddr", examples=["127.0.0.1"])
    port: int = Field(5038, ge=1, le=65535, description="manager.conf port", examples=[5038])
    username: str = Field("warmline", min_length=1, description="manager.conf user", examples=["warmline"])
    password: SecretStr = Field(SecretStr(""), description="manager.conf secret", examples=["<the manager.conf secret>"])


class MediaSettings(_Section):
    transport: Literal["websocket", "rtp"] = Field(
        "websocket", description="externalMedia transport: chan_websocket or RTP", examples=["websocket"]
    )
    rtp_bind_host: str = Field(
        "127.0.0.1", description="address Warmline receives RTP on (RTP transport only)", examples=["127.0.0.1"]
    )
    connect_timeout_s: float = Field(5.0, gt=0, le=30, description="time allowed to get media flowing", examples=[5.0])


class FallbackSettings(_Section):
    """Where a caller goes when Warmline must hand them to a person without a specific target."""

    context: str = Field("warmline-fallback", min_length=1, description="dialplan context", examples=["warmline-fallback"])
    extension: str = Field("s", min_length=1, description="dialplan extension", examples=["s"])
    priority: int = Field(1, ge=1, description="dialplan priority", examples=[1])


class HandoffSettings(_Section):
    """How callers reach people: Warmline's own attended transfer, then the dialplan's chain."""

    context: str = Field("warmline-handoff", min_length=1,
                         description="dialplan context; the extension is the queue (or `payment`)",
                         examples=["warmline-handoff"])
    mode: Literal["transfer", "dialplan"] = Field(
        "transfer", description="transfer: Warmline rings producers itself (hold music, whisper, bridge), then "
        "continues the caller into `context`; dialplan: straight to `context`", examples=["transfer"])
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
