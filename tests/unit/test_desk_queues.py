"""The desk on Asterisk as tables: producers as queue members, AMI's queue events as call events,
and the QueuePause the console's wrap-up sends (against a fake AMI link: what is sent, what is done
with the answer)."""

import asyncio

import pytest
from warmline.ari_app.ami import AmiError, one_line
from warmline.ari_app.desk import AsteriskDesk, DeskError, QueueWatch, pause_action
from warmline.ari_app.channels import Channels
from warmline.ari_app.client import AriError
from warmline.ari_app.queues import (agent_answered, agent_completed, callback_requested, producer_of, queue_member,
                                     same_interface, survey_answered)
from warmline.ari_app.settings import AsteriskSettings
from warmline.ari_app.talk import Talk
from warmline.dialog.survey import SurveyAnswered
from warmline.handoff.events import CallbackRequested, QueueAgentAnswered
from warmline.handoff.routing import Producer


def producer(name, endpoint, **kw):
    return Producer(name=name, endpoint=endpoint, queues=("licensed",), **kw)


DANA = producer("Dana Reyes", "PJSIP/1001")
LEE = producer("Lee Park", "PJSIP/1002", queue_member="Local/1002@agents/n")
SAM = producer("Sam Ortiz", "Local/1003@producers/n")
TEAM = [DANA, LEE, SAM]


@pytest.mark.parametrize("who,member", [
    (DANA, "PJSIP/1001"),  # default: the endpoint
    (LEE, "Local/1002@agents/n"),  # configured
    (SAM, "Local/1003@producers/n"),
])
def test_queue_member(who, member):
    assert queue_member(who) == member


# (AMI's member interface, the producer it is; "" = nobody configured)
MEMBERS = [
    ("PJSIP/1001", "Dana Reyes"),
    ("pjsip/1001", "Dana Reyes"),  # Asterisk spells the technology in any case
    (" PJSIP/1001 ", "Dana Reyes"),
    ("PJSIP/10011", ""),  # no prefix matching
    ("PJSIP/1001/sip:1001@10.0.0.5", ""),  # a contact is another interface
    ("Local/1002@agents/n", "Lee Park"),
    ("PJSIP/1002", ""),  # Lee is a member by his configured interface only
    ("Local/1003@producers/n", "Sam Ortiz"),
    ("Local/1003@Producers/n", ""),  # the resource is exact
    ("", ""),
    ("PJSIP", ""),
]


@pytest.mark.parametrize("interface,name", MEMBERS, ids=[repr(m[0]) for m in MEMBERS])
def test_member_to_producer(interface, name):
    assert producer_of(TEAM, interface) == name


def test_same_interface_needs_a_resource():
    assert not same_interface("PJSIP", "PJSIP") and same_interface("IAX2/a", "iax2/a")


AGENT_CONNECT = {"Event": "AgentConnect", "Queue": "warmline-licensed", "Interface": "PJSIP/1001",
                 "MemberName": "Dana", "Channel": "PJSIP/trunk-00000001", "DestChannel": "PJSIP/1001-00000002"}


@pytest.mark.parametrize("overrides,producer,ended_by,talk", [
    ({"Reason": "caller", "TalkTime": "95"}, "Dana Reyes", "caller", 95.0),
    ({"Reason": "agent", "TalkTime": "12"}, "Dana Reyes", "producer", 12.0),
    ({"Reason": "transfer", "TalkTime": "7"}, "Dana Reyes", "pbx", 7.0),  # blind-transferred on by the agent
    ({"Reason": "agent", "TalkTime": "n/a"}, "Dana Reyes", "producer", 0.0),  # odd AMI value: no crash
    ({"Reason": "caller", "Interface": "PJSIP/2000"}, "", "caller", 0.0),  # no configured producer
])
def test_agent_complete_is_the_queue_calls_talk_ended(overrides, producer, ended_by, talk):
    event = agent_completed({**AGENT_CONNECT, "Event": "AgentComplete", **overrides}, "c0ffee000001", TEAM)
    assert (event.call_id, event.producer, event.ended_by, event.talk_seconds) == ("c0ffee000001", producer,
                                                                                  ended_by, talk)


@pytest.mark.parametrize("overrides,producer_name,member", [
    ({}, "Dana Reyes", "PJSIP/1001"),
    ({"Interface": "Local/1002@agents/n"}, "Lee Park", "Local/1002@agents/n"),
    ({"Interface": "PJSIP/2000"}, "", "PJSIP/2000"),  # a desk agent who is no producer: still recorded
    ({"Interface": ""}, "", "Dana"),  # no interface given: the member's name
])
def test_agent_connect_is_the_calls_queue_agent_answered(overrides, producer_name, member):
    event = agent_answered({**AGENT_CONNECT, **overrides}, "c0ffee000001", TEAM)
    assert event == QueueAgentAnswered(call_id="c0ffee000001", producer=producer_name, queue="warmline-licensed",
                                       member=member, at=event.at)


CALLBACK = {"Event": "UserEvent", "UserEvent": "WarmlineCallback", "CallId": "c0ffee000001",
            "PayloadId": "hp-c0ffee000001", "Queue": "complex", "Mailbox": "1000@default", "CallerNumber": "+15085550100"}


@pytest.mark.parametrize("overrides,expected", [
    ({}, ("c0ffee000001", "complex", "+15085550100")),
    ({"CallerNumber": ""}, ("c0ffee000001", "complex", "")),
    ({"CallId": ""}, None),  # not a Warmline call
    ({"CallId": "  "}, None),
    ({"UserEvent": "WarmlineHandoff"}, None),  # another user event
    ({"UserEvent": "SandboxQueueAgent"}, None),
])
def test_the_call_back_user_event(overrides, expected):
    event = callback_requested({**CALLBACK, **overrides})
    if expected is None:
        assert event is None
    else:
        assert isinstance(event, CallbackRequested)
        assert (event.call_id, event.queue, event.number) == expected


@pytest.mark.parametrize("paused,reason,action", [
    (True, "wrap-up", {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true", "Reason": "wrap-up"}),
    (False, "", {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "false", "Reason": ""}),
    # a reason cannot smuggle a header into the action
    (True, "wrap-up\r\nAction: Originate", {"Action": "QueuePause", "Interface": "PJSIP/1001", "Paused": "true",
                                            "Reason": "wrap-upAction: Originate"}),
])
def test_pause_action(paused, reason, action):
    assert pause_action("PJSIP/1001", paused, reason) == action


def test_one_line_is_short_and_printable():
    assert one_line("é\tx" * 100) == "x" * 80


class Reply(dict):
    @property
    def success(self):
        return self.get("Response") == "Success"


class FakeAmi:
    def __init__(self, *replies):
        self.sent, self.replies = [], list(replies)

    async def send(self, action):
        self.sent.append(action)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class Ctx:
    def __init__(self, producers=TEAM):
        self.settings = AsteriskSettings(handoff={"producers": [p.model_dump() for p in producers]})
        self.listeners = ()


def desk(ami):
    return AsteriskDesk(Ctx(), ami, take_over=lambda *_: None)


async def test_pause_sends_queuepause_on_the_producers_member_interface():
    ami = FakeAmi(Reply(Response="Success"), Reply(Response="Success"))
    await desk(ami).pause_producer("Lee Park", True, "wrap-up")
    await desk(ami).pause_producer("Lee Park", False, "")
    assert [(a["Interface"], a["Paused"]) for a in ami.sent] == [("Local/1002@agents/n", "true"),
                                                                 ("Local/1002@agents/n", "false")]
    assert all("Queue" not in a for a in ami.sent)  # every queue Asterisk has them in


async def test_a_producer_in_no_queue_is_not_an_error():
    ami = FakeAmi(Reply(Response="Error", Message="Interface not found"))
    await desk(ami).pause_producer("Dana Reyes", True, "wrap-up")
    assert len(ami.sent) == 1


@pytest.mark.parametrize("ami,name,says", [
    (FakeAmi(Reply(Response="Error", Message="Permission denied")), "Dana Reyes", "refused QueuePause"),
    (FakeAmi(AmiError("AMI at 127.0.0.1:5038 is not connected")), "Dana Reyes", "not connected"),
    (FakeAmi(), "Nobody", "no producer 'Nobody'"),
    (None, "Dana Reyes", "[ami] enabled = false"),
])
async def test_pause_failures_are_one_line(ami, name, says):
    with pytest.raises((DeskError, AmiError)) as caught:
        await desk(ami).pause_producer(name, True, "wrap-up")
    assert says in str(caught.value) and "\n" not in str(caught.value)


async def test_take_over_checks_the_supervisors_endpoint_before_touching_the_call():
    asked = []
    d = AsteriskDesk(Ctx(), None, take_over=lambda call_id, who: asked.append((call_id, who.name, who.endpoint)))
    await d.take_over("c0ffee000001", "pat", "PJSIP/2001")
    assert asked == [("c0ffee000001", "pat", "PJSIP/2001")]
    with pytest.raises(DeskError, match="dial string"):
        await d.take_over("c0ffee000001", "pat", "2001")
    assert len(asked) == 1


@pytest.mark.parametrize("owner,recorded_here", [
    ("warmline", True),  # this box's call
    ("", True),  # unmarked (a call from before the mark existed): recorded
    ("warmline-b", False),  # the other box on the same PBX records it, not this one
])
async def test_queue_watch_maps_agent_connect_through_the_channels_call_id(owner, recorded_here):
    recorded = []
    tasks = []
    watch = QueueWatch(TEAM, [recorded.append], lambda coro, name: tasks.append(asyncio.create_task(coro, name=name)),
                       app="warmline")
    watch.ami = FakeAmi(Reply(Response="Success", Value="c0ffee000001"), Reply(Response="Success", Value=owner))
    watch.on_agent_connect(AGENT_CONNECT)
    await asyncio.gather(*tasks)
    assert watch.ami.sent == [{"Action": "Getvar", "Channel": "PJSIP/trunk-00000001", "Variable": "WARMLINE_CALL_ID"},
                              {"Action": "Getvar", "Channel": "PJSIP/trunk-00000001", "Variable": "WARMLINE_APP"}]
    if not recorded_here:
        assert recorded == []
        return
    [event] = recorded
    assert (event.call_id, event.producer, event.queue) == ("c0ffee000001", "Dana Reyes", "warmline-licensed")


@pytest.mark.parametrize("owner,app,recorded_here", [
    ("warmline", "warmline", True), ("", "warmline", True), ("warmline-b", "warmline", False), ("warmline-b", "", True),
])
def test_the_call_back_event_is_recorded_by_the_box_that_owns_the_call(owner, app, recorded_here):
    assert (callback_requested({**CALLBACK, "App": owner}, app) is not None) == recorded_here


async def test_queue_watch_ignores_calls_that_were_never_warmlines():
    recorded, tasks = [], []
    watch = QueueWatch(TEAM, [recorded.append], lambda coro, name: tasks.append(asyncio.create_task(coro, name=name)))
    watch.ami = FakeAmi(Reply(Response="Success", Value=""), Reply(Response="Success", Value=""))
    watch.on_agent_connect(AGENT_CONNECT)
    watch.on_user_event({**CALLBACK, "CallId": ""})
    await asyncio.gather(*tasks)
    assert recorded == [] and len(watch.ami.sent) == 2  # the caller's channel, then the agent's


async def test_the_queue_calls_end_is_mapped_from_its_answer_when_the_callers_channel_is_gone():
    recorded, tasks = [], []
    watch = QueueWatch(TEAM, [recorded.append], lambda coro, name: tasks.append(asyncio.create_task(coro, name=name)),
                       app="warmline")
    watch.ami = FakeAmi(Reply(Response="Success", Value="c0ffee000001"), Reply(Response="Success", Value="warmline"))
    watch.on_agent_connect(AGENT_CONNECT)
    await asyncio.gather(*tasks)
    watch.on_agent_complete({**AGENT_CONNECT, "Event": "AgentComplete", "Reason": "caller", "TalkTime": "41"})
    await asyncio.gather(*tasks)
    assert len(watch.ami.sent) == 2  # no Getvar on a hung-up channel: the answer's mapping is used
    answered, ended = recorded
    assert (type(ended).__name__, ended.call_id, ended.producer, ended.ended_by, ended.talk_seconds) == (
        "TalkEnded", "c0ffee000001", "Dana Reyes", "caller", 41.0)
    assert watch._talking == {}  # forgotten once ended


# --- the survey after a producer's talk ([warmline-survey] in the dialplan) -----------------------------

SURVEYED = {"Event": "UserEvent", "UserEvent": "WarmlineSurvey", "CallId": "c0ffee000001", "App": "warmline",
            "Score": "4"}


@pytest.mark.parametrize("overrides,app,score", [
    ({}, "warmline", 4),
    ({"Score": "1"}, "warmline", 1),
    ({"Score": "5"}, "warmline", 5),
    ({"Score": " 5 "}, "warmline", 5),
    ({"App": ""}, "warmline", 4),  # unmarked: anyone's to record
    ({}, "", 4),
    ({"App": "warmline-b"}, "warmline", None),  # the other box records it
    ({"Score": ""}, "warmline", None),  # no key before the timeout
    ({"Score": "0"}, "warmline", None),
    ({"Score": "6"}, "warmline", None),
    ({"Score": "45"}, "warmline", None),
    ({"Score": "*"}, "warmline", None),
    ({"Score": "4.5"}, "warmline", None),
    ({"Score": "\u0664"}, "warmline", None),  # a digit, but not a keypad's
    ({"CallId": ""}, "warmline", None),  # not a Warmline call
    ({"UserEvent": "WarmlineCallback"}, "warmline", None),
], ids=lambda v: repr(v) if isinstance(v, dict) else None)
def test_the_survey_user_event(overrides, app, score):
    event = survey_answered({**SURVEYED, **overrides}, app)
    if score is None:
        assert event is None
    else:
        assert isinstance(event, SurveyAnswered)
        assert (event.call_id, event.score, event.after) == ("c0ffee000001", score, "escalated")


def test_queue_watch_records_the_survey_answer():
    recorded = []
    watch = QueueWatch(TEAM, [recorded.append], lambda *_: None, app="warmline")
    watch.on_user_event(SURVEYED)
    watch.on_user_event({**SURVEYED, "Score": ""})
    watch.on_user_event(CALLBACK)
    assert [(type(e).__name__, e.call_id) for e in recorded] == [("SurveyAnswered", "c0ffee000001"),
                                                                ("CallbackRequested", "c0ffee000001")]


class FakeAri:
    def __init__(self, fail: str = ""):
        self.sent: list[tuple[str, str, dict]] = []
        self.fail = fail  # a path that answers 409

    async def post(self, path, params=None, missing_ok=False, **_):
        self.sent.append(("POST", path, params or {}))
        if path.endswith(self.fail) and self.fail:
            raise AriError("POST", path, 409, "Channel not in Stasis application")

    async def delete(self, path, missing_ok=False, **_):
        self.sent.append(("DELETE", path, {}))


class TalkCtx:
    def __init__(self, tmp_path, survey: dict | None, fail: str = ""):
        import yaml
        from warmline.dialog.flows import packaged_flows

        flows = yaml.safe_load(packaged_flows().read_text())
        if survey is not None:
            flows["survey"] = survey
        path = tmp_path / f"flows-{id(self)}.yaml"
        path.write_text(yaml.safe_dump(flows))
        self.settings = AsteriskSettings(dialog={"flows": str(path)},
                                         prompts={"dir": "/var/lib/warmline/prompts", "asterisk_dir": "/sounds/wl/"})
        self.client = FakeAri(fail)
        self.channels = Channels()
        self.events: list = []
        self.listeners = (self.events.append,)
        self.tasks: list = []

    def spawn(self, coro, name):
        self.tasks.append(asyncio.get_running_loop().create_task(coro, name=name))


ON = {"enabled": True, "after": ["contained", "escalated"]}
CALLER, LEG = "sim-caller", "wl-c0ffee000001-p1"


@pytest.mark.parametrize("survey,leaves,surveyed", [
    (ON, LEG, True),  # the producer hung up first: the caller hears the survey
    (ON, CALLER, False),  # the caller hung up: not asked
    ({"enabled": True, "after": ["contained"]}, LEG, False),  # the AI's survey only
    ({"enabled": False}, LEG, False),
    (None, LEG, False),  # no survey: section at all
])
async def test_a_talk_ends_once_and_sends_the_caller_to_the_survey_only_when_the_producer_hung_up(
        tmp_path, survey, leaves, surveyed):
    ctx = TalkCtx(tmp_path, survey)
    talk = Talk(ctx, "wl-c0ffee000001-talk", (CALLER, LEG), call_id="c0ffee000001", producer="Dana Reyes")
    for kind in ("StasisEnd", "ChannelDestroyed"):  # both of the leaver's events, then the other's
        talk.on_event({"type": kind, "channel": {"id": leaves}})
    talk.on_event({"type": "StasisEnd", "channel": {"id": CALLER if leaves == LEG else LEG}})
    await asyncio.gather(*ctx.tasks)
    [ended] = [e for e in ctx.events if type(e).__name__ == "TalkEnded"]
    assert ended.ended_by == ("producer" if leaves == LEG else "caller")
    sent = ctx.client.sent
    assert sent[-1] == ("DELETE", "/bridges/wl-c0ffee000001-talk", {})  # the bridge always goes
    assert ("DELETE", f"/channels/{LEG}", {}) in sent
    continued = [p for m, path, p in sent if path == f"/channels/{CALLER}/continue"]
    if surveyed:
        assert continued == [{"context": "warmline-survey", "extension": "s", "priority": 1}]
        assert ("DELETE", f"/channels/{CALLER}", {}) not in sent
        variables = {p["variable"]: p["value"] for m, path, p in sent if path == f"/channels/{CALLER}/variable"}
        assert variables == {"WARMLINE_SOUNDS": "/sounds/wl", "WARMLINE_SURVEY_QUESTION": "survey_question",
                             "WARMLINE_SURVEY_THANKS": "survey_thanks"}
        assert sent.index(("POST", f"/channels/{CALLER}/continue", continued[0])) < len(sent) - 1
    else:
        assert continued == [] and ("DELETE", f"/channels/{CALLER}", {}) in sent
    assert ctx.channels.ids() == set()  # nothing of the talk is followed any more


async def test_a_caller_who_cannot_be_sent_to_the_survey_is_hung_up_as_before(tmp_path):
    ctx = TalkCtx(tmp_path, ON, fail="/continue")
    talk = Talk(ctx, "wl-c0ffee000001-talk", (CALLER, LEG), call_id="c0ffee000001", producer="Dana Reyes")
    talk.on_event({"type": "StasisEnd", "channel": {"id": LEG}})
    await asyncio.gather(*ctx.tasks)
    assert ("DELETE", f"/channels/{CALLER}", {}) in ctx.client.sent
    assert [type(e).__name__ for e in ctx.events] == ["TalkEnded"]
