import dataclasses

import pytest
from warmline.calls.events import CallEnded, CallJournal, CallStarted, MediaConnected


def started(call_id="c1"):
    return CallStarted(call_id=call_id, pbx="asterisk", channel_id="ch", caller_number="5550100",
                       caller_name="", dialed="s")


def test_events_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        started().call_id = "other"


def test_journal_keeps_order_and_fans_out():
    seen = []
    journal = CallJournal("c1", [seen.append])
    events = [started(), MediaConnected(call_id="c1", transport="rtp", audio_format="slin16"),
              CallEnded(call_id="c1", reason="caller_hangup")]
    for event in events:
        journal.emit(event)
    assert journal.events == events == seen
    assert journal.of_type(CallEnded) == [events[-1]]


def test_a_broken_listener_does_not_stop_the_others():
    seen = []

    def broken(event):
        raise RuntimeError("listener bug")

    journal = CallJournal("c1", [broken, seen.append])
    journal.emit(started())
    assert len(seen) == 1 and len(journal.events) == 1


def test_event_for_another_call_is_refused():
    with pytest.raises(ValueError, match="c2"):
        CallJournal("c1").emit(started("c2"))
