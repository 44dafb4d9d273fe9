"""[console] settings: where the producer console listens and how long its sessions and wrap-ups last."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ConsoleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="serve the producer console from `warmline serve`", examples=[False])
    listen: str = Field("127.0.0.1:8088", description="HOST:PORT the console binds (keep it on loopback behind a "
                        "reverse proxy, or give tls_cert and tls_key)", examples=["127.0.0.1:8088"])
    tls_cert: str = Field("", description="PEM certificate file: the console speaks HTTPS itself", examples=[""])
    tls_key: str = Field("", description="PEM private key file for tls_cert", examples=[""])
    behind_tls_proxy: bool = Field(False, description="a reverse proxy terminates HTTPS in front of the console: "
                                   "cookies are marked Secure", examples=[False])
    database: str = Field("/var/lib/warmline/console.sqlite3", description="accounts, sessions and wrap-ups "
                          "(SQLite, owner-only)", examples=["/var/lib/warmline/console.sqlite3"])
    idle_timeout_s: int = Field(3600, ge=60, le=86400, description="a session with no activity for this long "
                                "is logged out", examples=[3600])
    wrap_up_max_s: int = Field(120, ge=10, le=3600, description="longest a producer stays paused to tag a "
                               "transfer; then they are un-paused and reminded", examples=[120])
    login_attempts: int = Field(5, ge=1, le=100, description="failed logins per account or address allowed in "
                                "login_window_s", examples=[5])
    login_window_s: int = Field(300, ge=10, le=86400, description="window of the login rate limit",
                                examples=[300])

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8088")
        return value

    @model_validator(mode="after")
    def _tls_pair(self) -> ConsoleSettings:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: set both (HTTPS) or neither (HTTP, e.g. behind "
                             "a reverse proxy)")
        return self

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def secure(self) -> bool:
        """Cookies only over HTTPS: the console's own, or a proxy's."""
        return bool(self.tls_cert) or self.behind_tls_proxy
