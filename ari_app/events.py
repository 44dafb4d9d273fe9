"""ARI events off the websocket: JSON text in, a dict whose fields Warmline reads have the types
it reads them as, or PbxError in one line.

Every owner of a channel reads events with `.get()` and trusts the types (a channel id is a
string, a hang-up cause a number): this is the one place those are checked, so a malformed
event is skipped with a warning instead of failing deep inside a call.
"""

from __future__ import annotations

import json
from typing import Any

from warmline.errors import PbxError

# The fields Warmline reads (channels.subject, app, call, transfer, voice), by path. Each may be
# absent; when present it must have this type. An object may also be null (read as `or {}`).
FIELDS: dict[tuple[str, ...], type] = {
    ("type",): str,
    ("digit",): str,
    ("dialstatus",): str,
    ("cause",): int,  # not true/false
    ("channel",): dict,
    ("channel", "id"): str,
    ("channel", "name"): str,
    ("channel", "state"): str,
    ("channel", "caller"): dict,
    ("channel", "caller", "number"): str,
    ("channel", "caller", "name"): str,
    ("channel", "dialplan"): dict,
    ("channel", "dialplan", "exten"): str,
    ("playback",): dict,
    ("playback", "id"): str,
    ("playback", "state"): str,
    ("playback", "target_uri"): str,
    ("peer",): dict,
    ("peer", "id"): str,
    ("peer", "name"): str,
}
_JSON_NAMES = {str: "a string", int: "a whole number", float: "a fractional number", bool: "true/false", dict: "an object",
               list: "a list", type(None): "null"}
_FIX = "skipped it; check that ari.url is Asterisk's own ARI"


def parse_event(data: str | bytes) -> dict[str, Any]:
    """One websocket message as an event, or PbxError naming what is wrong with it."""
    try:
        event = json.loads(data)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise PbxError(f"ARI sent an event that is not JSON; {_FIX}") from None
    except RecursionError:
        raise PbxError(f"ARI sent an event nested too deeply to read; {_FIX}") from None
    if not isinstance(event, dict):
        raise PbxError(f"ARI sent {_JSON_NAMES.get(type(event), 'a value')} instead of an event object; {_FIX}")
    kind = event.get("type")
    if not isinstance(kind, str) or not kind:
        raise PbxError(f"ARI sent an event without a type; {_FIX}")
    for path, expected in FIELDS.items():
        _check(event, path, expected, kind)
    return event


def _check(event: dict[str, Any], path: tuple[str, ...], expected: type, kind: str) -> None:
    parent: Any = event
    for part in path[:-1]:
        parent = parent.get(part)
        if not isinstance(parent, dict):  # absent or null: nothing under it to check
            return
    if path[-1] not in parent:
        return
    value = parent[path[-1]]
    if value is None and expected is dict:
        return
    if isinstance(value, expected) and not (expected is int and isinstance(value, bool)):
        return
    raise PbxError(f"ARI event {kind[:40]!r}: {'.'.join(path)} is {_JSON_NAMES.get(type(value), 'a value')}, "
                   f"not {_JSON_NAMES[expected]}; {_FIX}")
