"""Configuration of the Asterisk plugin: its own TOML sections on top of the engine's (plain pydantic:
importing it loads no PBX client)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr
from warmline.config import Settings


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
    heartbeat_s: float = Field(1.0, ge=0.2, le=10, description="how often serve renews its lease on the Stasis "
                               "app (an Asterisk global variable)", examples=[1.0])
    stale_after_s: float = Field(3.0, ge=0.5, le=60, description="a lease not renewed for this long means serve is "
                                 "gone: the watchdog hands its callers to the fallback", examples=[3.0])


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


class DialplanSettings(_Section):
    """Where in the dialplan callers continue when Warmline hands them on."""

    handoff_context: str = Field("warmline-handoff", min_length=1,
                                 description="context escalated callers continue in; the extension is the "
                                 "queue (or `payment`)", examples=["warmline-handoff"])


class AsteriskSettings(Settings):
    """Everything `warmline serve` reads when `pbx = "asterisk"`."""

    ari: AriSettings = AriSettings()
    ami: AmiSettings = AmiSettings()
    media: MediaSettings = MediaSettings()
    fallback: FallbackSettings = FallbackSettings()
    dialplan: DialplanSettings = DialplanSettings()
