"""Assertions the replay tests share: the call's story, and what Warmline asked Asterisk to do."""

from __future__ import annotations

import re
from typing import Any

from .transcript import TOKEN

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")

# Fields that differ between the recording and a replay by construction (timing, the speech
# engine's name, ids Warmline makes afresh), not by behaviour.
VOLATILE = {"at_ms", "start_ms", "end_ms", "decode_seconds", "frames", "audio_seconds", "engine", "channel_id",
            "bridge_id", "error", "talk_seconds"}
TIMING = {"CallerSpeechStarted"}  # where speech starts in the audio: the replay's VAD is not Silero


def story(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The call's event stream with volatile fields dropped and generated ids replaced by <id>."""
    out = []
    for event in summary:
        if event["type"] in TIMING:
            continue
        out.append({k: _scrub(v) for k, v in event.items() if k not in VOLATILE})
    return out


def _scrub(value):
    if isinstance(value, str):
        return TIMESTAMP.sub("<time>", TOKEN.sub("<id>", value))
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def calls(requests: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(method, path) of each request, /ari dropped, in the order Warmline sent them."""
    return [(r["method"], r["path"].removeprefix("/ari")) for r in requests]


def created_and_deleted(requests: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """Ids of the channels and bridges Warmline created, and of those it deleted."""
    created, deleted = set(), set()
    for r in requests:
        path, q = r["path"].removeprefix("/ari"), r.get("query") or {}
        if r["method"] == "POST" and path == "/bridges" and q.get("bridgeId"):
            created.add(q["bridgeId"])
        elif r["method"] == "POST" and path in ("/channels/externalMedia", "/channels/create"):
            created.add(q["channelId"])
        elif r["method"] == "POST" and path.endswith("/snoop"):
            created.add(q["snoopId"])
        elif r["method"] == "DELETE" and path.startswith(("/channels/", "/bridges/")) and path.count("/") == 2:
            deleted.add(path.rsplit("/", 1)[1])
    return created, deleted


def prompts_played(requests: list[dict[str, Any]]) -> list[str]:
    """The first sound of each prompt Warmline played, in order (catalog keys)."""
    return [r["query"]["media"].split(",")[0].rsplit("/", 1)[-1] for r in requests if r["path"].endswith("/play")]


def first(requests: list[dict[str, Any]], method: str, path: str, start: int = 0) -> int:
    """Index of the first request with this method and path (without /ari) from `start` on."""
    for i, (m, p) in enumerate(calls(requests)[start:], start):
        if m == method and p == path:
            return i
    raise AssertionError(f"Warmline never sent {method} {path}; it sent: {calls(requests)[start:]}")
