"""A thin ARI REST client: explicit methods, one error type, credentials only in a header."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp
from warmline.ari_app.settings import AriSettings
from warmline.errors import PbxError

log = logging.getLogger(__name__)


class AriError(PbxError):
    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        what = f"failed: {status} {message}" if status >= 400 else f"gave an answer Warmline cannot use: {message}"
        super().__init__(f"ARI {method} {path} {what}")
        self.status = status


class AriUnreachable(PbxError):
    """Asterisk's HTTP server did not answer."""


def auth_header(settings: AriSettings) -> dict[str, str]:
    raw = f"{settings.username}:{settings.password.get_secret_value()}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


class AriClient:
    def __init__(self, settings: AriSettings, http: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.http = http
        self.base = str(settings.url).rstrip("/")
        self._headers = auth_header(settings)
        self._timeout = aiohttp.ClientTimeout(total=settings.request_timeout_s)

    @property
    def ws_base(self) -> str:
        return "ws" + self.base.removeprefix("http")  # http→ws, https→wss

    def events_url(self) -> str:
        return f"{self.ws_base}/ari/events?app={self.settings.app}&subscribeAll=false"

    def media_url(self, connection_id: str) -> str:
        return f"{self.ws_base}/media/{connection_id}"

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._headers)

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None, missing_ok: bool = False,
    ) -> Any:
        """Call /ari{path}. With missing_ok, a 404 (already gone) returns None."""
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        try:
            async with self.http.request(
                method, f"{self.base}/ari{path}", params=clean, json=body,
                headers=self._headers, timeout=self._timeout,
            ) as resp:
                if resp.status == 404 and missing_ok:
                    return None
                if resp.status >= 400:
                    raise AriError(method, path, resp.status, _message(await resp.read(), resp.reason))
                if resp.status == 204 or resp.content_length == 0:
                    return None
                status, body = resp.status, await resp.read()
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise AriUnreachable(f"ARI {method} {path}: Asterisk unreachable at {self.base} ({type(exc).__name__})") from exc
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past reading
            raise AriError(method, path, status, f"not JSON; {_FIX}") from None

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw: Any) -> Any:
        return await self.request("POST", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.request("DELETE", path, **kw)


STRINGS = "a list of strings"  # a field type for ari_object: a JSON list of strings
_FIX = "check that ari.url is Asterisk's own ARI"
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a fractional number", bool: "true/false",
               dict: "an object", list: "a list", type(None): "null"}


def ari_object(value: Any, path: str, fields: dict[str, Any], required: tuple[str, ...] = (),
               method: str = "GET") -> dict[str, Any]:
    """An answer that must be a JSON object whose named fields, where present (and always, for
    `required` ones), have these types: str, dict or STRINGS. Else a one-line AriError."""
    if not isinstance(value, dict):
        raise AriError(method, path, 200, f"{_JSON_NAMES.get(type(value), 'a value')}, not an object; {_FIX}")
    for name, kind in fields.items():
        if name not in value:
            if name in required:
                raise AriError(method, path, 200, f"no {name}; {_FIX}")
            continue
        field = value[name]
        ok = (isinstance(field, list) and all(isinstance(item, str) for item in field)) if kind is STRINGS \
            else isinstance(field, kind)
        if not ok:
            shown = "a list with other than strings" if isinstance(field, list) else _JSON_NAMES.get(type(field), "a value")
            raise AriError(method, path, 200, f"{name} is {shown}, not {_JSON_NAMES.get(kind, kind)}; {_FIX}")
    return value


def ari_objects(value: Any, path: str, fields: dict[str, Any], required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """A GET answer that must be a JSON list of such objects."""
    if not isinstance(value, list):
        raise AriError("GET", path, 200, f"{_JSON_NAMES.get(type(value), 'a value')}, not a list; {_FIX}")
    return [ari_object(item, path, fields, required) for item in value]


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _message(body: bytes, reason: str | None) -> str:
    """ARI's {"message": ...} of an error answer, as one line; else the HTTP reason."""
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        decoded = None
    message = decoded.get("message") if isinstance(decoded, dict) else None
    text = message if isinstance(message, str) and message.strip() else (reason or "")
    return " ".join(text.split())[:200]
