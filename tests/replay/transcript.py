"""Recorded ARI transcripts: one JSON object per line, in the order the proxy saw them.

Kinds of entry (every one has `t`, seconds since the recording started, and `kind`):

    meta        first line: scenario, settings used, seed date, clock, caller utterances
    ws_open     Warmline opened the events websocket            (conn, query)
    ws_refused  a reconnect attempt was refused                  (status)
    ws_close    the events websocket closed                      (conn, by: "server" | "client")
    event       an ARI event Asterisk sent                       (conn, data)
    request     a REST request Warmline sent                     (id, method, path, query, body)
    response    Asterisk's answer to request `id`                (id, status, body)
    media_open  Warmline opened a chan_websocket media socket    (conn, path)
    media_text  a text (control) message on it                   (conn, dir: "in" | "out", text)
    media       20 ms slin16 frames Asterisk sent, run-length    (conn, frame_bytes, runs: [[n, voiced], ...])
    media_close the media socket closed                           (conn, by)
    note        what the scenario driver did (not replayed)       (text)

No Warmline import here: this module only reads and writes the format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Ids Warmline makes itself are 12 hex digits (call ids, playback ids); they differ on every run.
TOKEN = re.compile(r"(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])")


@dataclass
class Transcript:
    meta: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> "Transcript":
        lines = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
        if not lines or lines[0].get("kind") != "meta":
            raise ValueError(f"{path}: a transcript starts with a meta line")
        return cls(lines[0], lines[1:])

    def save(self, path: str | Path) -> None:
        with Path(path).open("w") as out:
            for entry in (self.meta, *self.entries):
                out.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["kind"] == kind]

    def variable_tokens(self) -> set[str]:
        """Tokens whose first appearance is in a request: Warmline generated them, so they vary."""
        seen: set[str] = set()
        variable: set[str] = set()
        for entry in self.entries:
            if entry["kind"] in ("note", "meta"):
                continue
            text = json.dumps(entry, sort_keys=True)
            for token in TOKEN.findall(text):
                if token not in seen:
                    seen.add(token)
                    if entry["kind"] == "request":
                        variable.add(token)
        return variable

    def exchanges(self) -> dict[str, tuple[int, int | None]]:
        """request id → (index of the request, index of its response or None)."""
        found: dict[str, list[int | None]] = {}
        for i, entry in enumerate(self.entries):
            if entry["kind"] == "request":
                found[entry["id"]] = [i, None]
            elif entry["kind"] == "response" and entry["id"] in found:
                found[entry["id"]][1] = i
        return {k: (v[0], v[1]) for k, v in found.items()}

    # --- editing a recorded transcript (a failure Asterisk is hard to provoke on cue) ---------

    def answer(self, method: str, path_pattern: str, *, status: int, message: str,
               drop_events_of: str | None = None) -> dict[str, Any]:
        """Change the first matching exchange's response to an error; optionally drop the events about
        channel `drop_events_of` that followed it (a refused request causes none). Returns the request."""
        pattern = re.compile(path_pattern)
        for i, entry in enumerate(self.entries):
            if entry["kind"] == "request" and entry["method"] == method and pattern.search(entry["path"]):
                response = next(e for e in self.entries[i:] if e["kind"] == "response" and e["id"] == entry["id"])
                response["status"], response["body"] = status, {"message": message}
                if drop_events_of:
                    self.entries[i:] = [e for e in self.entries[i:] if not _about(e, drop_events_of)]
                return entry
        raise LookupError(f"no {method} {path_pattern} in the transcript")

    def drop_requests(self, method: str, path_pattern: str) -> int:
        """Remove matching exchanges (request and response): what Warmline no longer sends after an edit."""
        pattern = re.compile(path_pattern)
        ids = {e["id"] for e in self.entries
               if e["kind"] == "request" and e["method"] == method and pattern.search(e["path"])}
        self.entries = [e for e in self.entries if not (e["kind"] in ("request", "response") and e["id"] in ids)]
        return len(ids)


def _about(entry: dict[str, Any], channel_id: str) -> bool:
    if entry["kind"] != "event":
        return False
    data = entry["data"]
    return any((data.get(k) or {}).get("id") == channel_id for k in ("channel", "peer"))


def describe(entry: dict[str, Any]) -> str:
    """One line for a diff."""
    kind = entry["kind"]
    if kind == "request":
        query = "&".join(f"{k}={v}" for k, v in sorted((entry.get("query") or {}).items()))
        body = f" body={json.dumps(entry['body'], sort_keys=True)[:120]}" if entry.get("body") else ""
        return f"{entry['method']} {entry['path']}{'?' + query if query else ''}{body}"
    if kind == "response":
        return f"response {entry['status']} to #{entry['id']}"
    if kind == "event":
        data = entry["data"]
        target = (data.get("channel") or data.get("playback") or data.get("bridge") or {}).get("id", "")
        return f"event {data.get('type')} {target}"
    if kind == "media":
        return f"media {sum(n for n, _ in entry['runs'])} frames"
    return f"{kind} {entry.get('conn', '')}"
