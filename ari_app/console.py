"""The producer-console hook: the hand-off payload POSTed before the producer's phone rings.

A screen pop that arrives after the ring is useless, so the push is bounded (it never delays a
transfer by more than PUSH_TIMEOUT_S) and a failure is logged, never fatal: the caller still
reaches the producer, with the context on the channel and in the user event.
"""

from __future__ import annotations

import logging
import os

import aiohttp
from warmline.handoff.payload import HandoffPayload

log = logging.getLogger(__name__)

PUSH_TIMEOUT_S = 0.5


class ConsolePush:
    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        self.pushed = 0
        self.failed = 0

    @classmethod
    def from_settings(cls, settings) -> "ConsolePush | None":
        if not settings.console_url:
            return None
        token = os.environ.get(settings.console_token_env, "") if settings.console_token_env else ""
        return cls(settings.console_url, token)

    async def push(self, payload: HandoffPayload, producer: str) -> bool:
        body = {"producer": producer, "payload": payload.model_dump(mode="json")}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT_S)) as http:
                async with http.post(self.url, json=body, headers=self.headers) as resp:
                    if resp.status >= 400:
                        raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status)
            self.pushed += 1
            return True
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.failed += 1
            log.warning("producer console push failed (%s); the transfer goes on", type(exc).__name__)
            return False
