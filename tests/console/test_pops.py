"""The pop's routing as a table: a call's events in, each producer's view of it out (sans-IO)."""

import pytest
from warmline.console.pops import Phase, PopRouter, PopStatus

from .calls import (
    CallbackRequested,
    QueueAgentAnswered,
    answered,
    bridged,
    dialled,
    ended,
    escalated,
    lost,
    planned,
    ringing,
    talk_ended,
)

C = "call-1"
R, A, P, G, B, W = (PopStatus.RINGING, PopStatus.ANSWERED, PopStatus.PASSED, PopStatus.CALLER_GONE,
                    PopStatus.BRIDGED, PopStatus.WRAP_UP)

TABLE = [
    ("payload stored: nobody has it yet", [], {}, Phase.ON_HOLD, ()),
    ("planned: the first to ring has it before the dial", [planned(C, "Dana", "Sam")], {"Dana": R}, Phase.RINGING, ()),
    ("dialled and ringing", [planned(C, "Dana"), dialled(C, "Dana"), ringing(C, "Dana")], {"Dana": R},
     Phase.RINGING, ()),
    ("answered: press 1", [planned(C, "Dana"), dialled(C, "Dana"), answered(C, "Dana")], {"Dana": A},
     Phase.RINGING, ()),
    ("declined: the pop moves on before the next leg exists",
     [planned(C, "Sam", "Dana"), dialled(C, "Sam"), answered(C, "Sam"), lost(C, "Sam", "declined")],
     {"Sam": P, "Dana": R}, Phase.RINGING, ()),
    ("busy, then the next one takes it",
     [planned(C, "Sam", "Dana"), dialled(C, "Sam"), lost(C, "Sam", "busy"), dialled(C, "Dana", 2),
      answered(C, "Dana"), bridged(C, "Dana")], {"Sam": P, "Dana": B}, Phase.WITH_PRODUCER, ()),
    ("bridged, then Warmline's part ends: still talking, nothing owed yet",
     [planned(C, "Dana"), dialled(C, "Dana"), answered(C, "Dana"), bridged(C, "Dana"), ended(C)],
     {"Dana": B}, Phase.WITH_PRODUCER, ()),
    ("then the talk ends: wrap-up owed",
     [planned(C, "Dana"), dialled(C, "Dana"), answered(C, "Dana"), bridged(C, "Dana"), ended(C),
      talk_ended(C, "Dana", "caller")], {"Dana": W}, Phase.ENDED, ("Dana",)),
    ("a talk found after a restart names only its call: the bridged producer owes it",
     [planned(C, "Dana"), dialled(C, "Dana"), bridged(C, "Dana"), ended(C), talk_ended(C, "", "pbx")],
     {"Dana": W}, Phase.ENDED, ("Dana",)),
    ("a talk end for a producer not bridged changes nothing",
     [planned(C, "Dana"), dialled(C, "Dana"), lost(C, "Dana", "no_answer"), talk_ended(C, "Dana")],
     {"Dana": P}, Phase.ENDED, ()),
    ("the caller hangs up while it rings",
     [planned(C, "Dana"), dialled(C, "Dana"), lost(C, "Dana", "caller_gone"), ended(C, "abandoned")],
     {"Dana": G}, Phase.ENDED, ()),
    ("the caller hangs up before the loss is reported", [planned(C, "Dana"), dialled(C, "Dana"),
                                                         ended(C, "abandoned")], {"Dana": G}, Phase.ENDED, ()),
    ("nobody answers: on to the queue", [planned(C, "Dana"), dialled(C, "Dana"), lost(C, "Dana", "no_answer")],
     {"Dana": P}, Phase.IN_QUEUE, ()),
    ("a queue agent answers after the caller left Warmline",
     [planned(C, "Dana"), dialled(C, "Dana"), lost(C, "Dana", "no_answer"), ended(C),
      QueueAgentAnswered(call_id=C, producer="Alex", queue="licensed", member="PJSIP/alex")],
     {"Dana": P, "Alex": B}, Phase.WITH_PRODUCER, ()),
    ("... and hangs up: the agent owes the wrap-up",
     [planned(C, "Dana"), dialled(C, "Dana"), lost(C, "Dana", "no_answer"), ended(C),
      QueueAgentAnswered(call_id=C, producer="Alex", queue="licensed", member="PJSIP/alex"),
      talk_ended(C, "Alex")], {"Dana": P, "Alex": W}, Phase.ENDED, ("Alex",)),
    ("nobody free: straight to the call-back list",
     [planned(C), CallbackRequested(call_id=C, queue="complex", number="sealed"), ended(C)],
     {}, Phase.CALLBACK, ()),
    ("the plan changed under the first producer", [planned(C, "Dana", "Sam"), dialled(C, "Sam")],
     {"Dana": P, "Sam": R}, Phase.RINGING, ()),
]


@pytest.mark.parametrize("what, steps, views, phase, wrap", TABLE, ids=[t[0] for t in TABLE])
def test_events_in_views_out(what, steps, views, phase, wrap):
    router = PopRouter()
    owed: list[str] = []
    for event in [*escalated(C), *steps]:
        change = router.apply(event)
        if change is not None:
            owed += change.wrap_up
    card = router.calls[C]
    assert card.statuses == views
    assert card.phase == phase
    assert tuple(owed) == wrap


def test_a_producer_sees_only_calls_handed_to_them():
    router = PopRouter()
    for event in [*escalated("a"), planned("a", "Dana"), *escalated("b"), planned("b", "Sam")]:
        router.apply(event)
    assert [c.call_id for c in router.pops_of("Dana")] == ["a"]
    assert router.handed_to("a", "Dana") and not router.handed_to("b", "Dana")


def test_a_tagged_call_leaves_the_desk_and_the_board():
    from warmline.handoff.events import DispositionRecorded

    router = PopRouter()
    for event in [*escalated(C), planned(C, "Dana"), dialled(C, "Dana"), bridged(C, "Dana"), ended(C)]:
        router.apply(event)
    assert router.board() and router.pops_of("Dana")  # talking: on the board though Warmline let go
    router.apply(talk_ended(C, "Dana"))
    assert router.board() == [] and router.pops_of("Dana")  # the talk is over; the pop waits for its tag
    assert router.producer_state("Dana") == PopStatus.WRAP_UP
    router.apply(DispositionRecorded(call_id=C, producer="Dana", by="dana", disposition="resolved",
                                     caller_repeated=False))
    assert router.pops_of("Dana") == [] and router.board() == []
    assert router.forget_before(10**12) == [C]


def test_what_the_pbx_said_of_skipped_producers_is_kept_for_the_board():
    from warmline.handoff.events import TransferPlanned

    router = PopRouter()
    router.apply(TransferPlanned(call_id=C, queue="licensed", ring=("Dana",),
                                 skipped=(("Sam", "dnd"), ("Alex", "busy:INUSE"), ("Kim", "other_queue"))))
    assert {k: v[0] for k, v in router.presence.items()} == {"Sam": "dnd", "Alex": "busy", "Dana": "free"}
