"""Who to ring for a hand-off, as tables: producers and a caller in, a ring list and skip reasons out."""

import dataclasses

import pytest
from pydantic import ValidationError
from warmline.handoff.routing import Availability, Producer, RoutePlan, available, plan, with_wrap_up


def producer(name="dana", **kw):
    """A producer who takes both queues and holds a Massachusetts licence, unless told otherwise."""
    return Producer(**{"name": name, "endpoint": "PJSIP/1001", "queues": ("licensed", "service"),
                       "states": ("MA",), **kw})


CALL = {"queue": "service", "line": "auto", "state": "MA", "licensed_queues": ("licensed",),
        "availability": {}, "limit": 3}
LIC = {"queue": "licensed"}


def route(producers, **call) -> RoutePlan:
    return plan(producers, **{**CALL, **call})


def free(availability=Availability.FREE):
    return {"dana": availability}


# (name, producer overrides, call overrides, why dana is skipped; None = dana is rung)
TABLE = [
    ("takes-the-queue", {}, {}, None),
    ("other-queue", {}, {"queue": "claims"}, "other_queue"),
    ("queue-beats-everything", {"lines": ("home",)}, {"queue": "claims", "availability": free(Availability.DND)},
     "other_queue"),
    # line of business: only when both the caller's line and the producer's lines are known
    ("line-matches", {"lines": ("auto", "home")}, {}, None),
    ("line-mismatch", {"lines": ("home",)}, {}, "line_of_business"),
    ("no-lines-takes-all", {"lines": ()}, {"line": "commercial"}, None),
    ("unverified-line-unknown", {"lines": ("home",)}, {"line": None}, None),
    ("line-case-insensitive", {"lines": ("auto",)}, {"line": "Auto"}, None),
    # licensing: only for licensed queues
    ("licensed-in-state", {}, LIC, None),
    ("licensed-other-state", {}, {**LIC, "state": "NH"}, "not_licensed_in_state"),
    ("licensed-no-licence", {"states": ()}, LIC, "not_licensed_in_state"),
    ("licensed-state-lowercase", {}, {**LIC, "state": "ma"}, None),
    ("licensed-one-of-several", {"states": ("nh", "ma")}, LIC, None),
    # an unverified caller's state is unknown: any licence will do, none will not
    ("unverified-any-licence", {"states": ("NH",)}, {**LIC, "state": None}, None),
    ("unverified-no-licence", {"states": ()}, {**LIC, "state": None}, "not_licensed_in_state"),
    ("unlicensed-queue-needs-none", {"states": ()}, {"state": "NH"}, None),
    ("other-licensed-queues", {"states": ()}, {"licensed_queues": ("retention",)}, None),
    ("line-beats-licence", {"lines": ("home",), "states": ()}, LIC, "line_of_business"),
    # availability: missing from the mapping = UNKNOWN, worth a try
    ("no-availability-known", {}, {"availability": {}}, None),
    ("free", {}, {"availability": free(Availability.FREE)}, None),
    ("unknown", {}, {"availability": free(Availability.UNKNOWN)}, None),
    ("dnd", {}, {"availability": free(Availability.DND)}, "dnd"),
    ("busy", {}, {"availability": free(Availability.BUSY)}, "busy"),
    ("offline", {}, {"availability": free(Availability.OFFLINE)}, "offline"),
    ("licence-beats-availability", {"states": ()}, {**LIC, "availability": free(Availability.BUSY)},
     "not_licensed_in_state"),
    ("other-producer-availability", {}, {"availability": {"lee": Availability.DND}}, None),
    # wrap-up: tagging the last transfer on the console; never rung, whatever the phone says
    ("wrap-up", {}, {"availability": free(Availability.WRAP_UP)}, "wrap_up"),
    ("wrap-up-over-free", {}, {"availability": with_wrap_up(free(Availability.FREE), ["dana"])}, "wrap_up"),
    ("wrap-up-over-unknown", {}, {"availability": with_wrap_up({}, ["dana"])}, "wrap_up"),
    ("wrap-up-over-dnd", {}, {"availability": with_wrap_up(free(Availability.DND), ["dana"])}, "wrap_up"),
    ("other-in-wrap-up", {}, {"availability": with_wrap_up(free(Availability.FREE), ["lee"])}, None),
    ("licence-beats-wrap-up", {"states": ()}, {**LIC, "availability": free(Availability.WRAP_UP)},
     "not_licensed_in_state"),
    ("queue-beats-wrap-up", {}, {"queue": "claims", "availability": free(Availability.WRAP_UP)}, "other_queue"),
]


@pytest.mark.parametrize("name,who,call,why", TABLE, ids=[row[0] for row in TABLE])
def test_rules(name, who, call, why):
    result = route([producer(**who)], **call)
    if why is None:
        assert [p.name for p in result.ring] == ["dana"] and result.skipped == ()
    else:
        assert result.ring == () and result.skipped == (("dana", why),)


@pytest.mark.parametrize("availability,free_to_ring", [
    (Availability.FREE, True), (Availability.UNKNOWN, True),  # UNKNOWN: the PBX cannot tell: try them
    (Availability.BUSY, False), (Availability.OFFLINE, False), (Availability.DND, False),
    (Availability.WRAP_UP, False),
])
def test_available(availability, free_to_ring):
    assert available(availability) is free_to_ring


TEAM = [producer("ann", lines=("home",)), producer("bob"), producer("cat", queues=("claims",)),
        producer("dee"), producer("eve"), producer("fay")]


@pytest.mark.parametrize("limit,ring", [
    (1, ["bob"]),
    (2, ["bob", "dee"]),
    (10, ["bob", "dee", "fay"]),  # fewer eligible than the limit: all of them
    (0, []),
])
def test_configured_order_and_limit(limit, ring):
    result = route(TEAM, limit=limit, availability={"eve": Availability.BUSY})
    assert [p.name for p in result.ring] == ring
    # skips are reported in configured order whatever the limit; producers past the limit are not "skipped"
    assert result.skipped == (("ann", "line_of_business"), ("cat", "other_queue"), ("eve", "busy"))


def test_wrap_up_passes_over_to_the_next_producer():
    result = route(TEAM, availability=with_wrap_up({"eve": Availability.BUSY}, ["bob", "nobody-configured"]))
    assert [p.name for p in result.ring] == ["dee", "fay"]
    assert ("bob", "wrap_up") in result.skipped and ("eve", "busy") in result.skipped


@pytest.mark.parametrize("pbx,wrap_up,expected", [
    ({}, [], {}),
    ({"dana": Availability.FREE}, [], {"dana": Availability.FREE}),
    ({"dana": Availability.FREE}, ["dana"], {"dana": Availability.WRAP_UP}),
    ({"dana": Availability.BUSY, "lee": Availability.FREE}, frozenset({"lee"}),
     {"dana": Availability.BUSY, "lee": Availability.WRAP_UP}),
    ({}, ["lee"], {"lee": Availability.WRAP_UP}),  # unknown to the PBX: the desk still says no
])
def test_with_wrap_up(pbx, wrap_up, expected):
    before = dict(pbx)
    assert with_wrap_up(pbx, wrap_up) == expected
    assert pbx == before  # the PBX's own reading is left as it was


def test_nobody_eligible():
    assert route(TEAM, queue="complex") == RoutePlan((), tuple((p.name, "other_queue") for p in TEAM))


def test_plan_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        route(TEAM).ring = ()


# (name, producer overrides, text the one-line error must contain)
INVALID = [
    ("endpoint-no-tech", {"endpoint": "1001"}, "Tech/resource"),
    ("endpoint-no-resource", {"endpoint": "PJSIP/"}, "Tech/resource"),
    ("endpoint-empty", {"endpoint": ""}, "Tech/resource"),
    ("endpoint-two-channels", {"endpoint": "PJSIP/1001&PJSIP/1002"}, "Tech/resource"),
    ("endpoint-dial-options", {"endpoint": "PJSIP/1001,30"}, "Tech/resource"),
    ("endpoint-space", {"endpoint": "PJSIP/10 01"}, "Tech/resource"),
    ("no-queues", {"queues": ()}, "at least 1"),
    ("state-not-two-letters", {"states": ("Mass",)}, "two-letter"),
    ("state-digits", {"states": ("M1",)}, "two-letter"),
    ("unknown-line", {"lines": ("boats",)}, "lines of business"),
    ("dnd-no-key", {"dnd": "DND"}, "family/key"),
    ("dnd-no-family", {"dnd": "/1001"}, "family/key"),
    ("queue-member-no-tech", {"queue_member": "1001"}, "queue member interface"),
    ("queue-member-space", {"queue_member": "PJSIP/10 01"}, "queue member interface"),
    ("no-name", {"name": ""}, "at least 1"),
    ("unknown-field", {"skills": ("auto",)}, "Extra inputs"),
]


@pytest.mark.parametrize("name,kw,says", INVALID, ids=[row[0] for row in INVALID])
def test_validation_errors(name, kw, says):
    with pytest.raises(ValidationError) as caught:
        producer(**kw)
    message = caught.value.errors()[0]["msg"]
    assert says in message and "\n" not in message


def test_normalised_on_validation():
    dana = producer(states=("ma", "nh"), lines=(" Auto", "HOME"), endpoint="Local/1001@producers/n", dnd="DND/1001")
    assert dana.states == ("MA", "NH") and dana.lines == ("auto", "home")
    assert dana.endpoint == "Local/1001@producers/n" and dana.dnd == "DND/1001"
    with pytest.raises(ValidationError):
        dana.name = "other"  # frozen: settings cannot be changed mid-call
