"""What rests on disk after a real dialogue: the event store's bytes hold none of the caller's
secrets (date of birth, policy number, phone number, e-mail), while what a person needs later
(the number to call back, the hand-off payload) reads back through the sealing key."""

from __future__ import annotations

import stat

import pytest
from warmline.calls.events import CallStarted
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.crm.seed import DEMO_CALLER
from warmline.handoff.events import HandoffPrepared
from warmline.handoff.payload import parse_payload, prepare

CALLER = DEMO_CALLER
CALLER_NUMBER = "+1207" + CALLER.phone


def secrets_of(caller) -> list[bytes]:
    dob = caller.date_of_birth
    said = [dob.isoformat(), f"{dob:%B} {dob.day}, {dob.year}", caller.date_of_birth_spoken, str(dob.year),
            caller.policy_number, caller.phone, CALLER_NUMBER, caller.zip, caller.email, caller.last_name]
    return [s.encode() for s in said] + [s.lower().encode() for s in said]


@pytest.mark.parametrize("dob_said", [
    f"{CALLER.date_of_birth:%B} {CALLER.date_of_birth.day}, {CALLER.date_of_birth.year}",
    CALLER.date_of_birth_spoken,
])
async def test_stored_bytes_hold_no_caller_secret(play, tmp_path, dob_said):
    folder = tmp_path / "state"
    store = EventStore(folder / "events.sqlite3", EVENT_KINDS)
    played = await play([f"hi my policy is {CALLER.policy_number} what's my balance", f"keys:{CALLER.policy_number}#",
                         dob_said, "yes", "can I talk to a person, call me back on " + CALLER.phone])
    store.record(CallStarted(call_id="c1", pbx="asterisk", channel_id="ch-1", caller_number=CALLER_NUMBER,
                             caller_name=f"{CALLER.first_name} {CALLER.last_name}", dialed="7000"))
    for event in played.journal.events:
        store.record(event)
    payload = prepare(played.journal, "service")
    store.record(played.journal.events[-1])
    store.close()

    assert played.of("IdentityChecked")[0].verified  # the secrets really were said and used
    in_memory = repr(played.journal.events).encode()
    assert dob_said.encode() in in_memory and CALLER.policy_number.encode() in in_memory
    files = sorted(folder.iterdir())
    raw = b"".join(f.read_bytes() for f in files)
    found = [s for s in secrets_of(CALLER) if s in raw]
    assert not found, f"in clear at rest: {found}"
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    reread = EventStore(folder / "events.sqlite3", EVENT_KINDS).events("c1")
    [started] = [e for e in reread if isinstance(e, CallStarted)]
    assert started.caller_number == CALLER_NUMBER  # sealed, not lost: the call-back box needs it
    [stored] = [e for e in reread if isinstance(e, HandoffPrepared)]
    assert parse_payload(stored.payload) == payload
    texts = " ".join(e.text for e in reread if type(e).__name__ == "CallerTurn")
    assert "balance" in texts and "‹number›" in texts  # what the call was about survives
