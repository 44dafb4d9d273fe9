"""Producers as Asterisk queue members, and what AMI says about calls in those queues (sans-IO).

A call Warmline could not place itself continues to `[warmline-handoff]`, whose Queue() rings the
agency's members; from then on only AMI sees it. These functions read AMI's events into the
call's typed events; the channel's inherited `__WARMLINE_*` variables say which call it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from warmline.dialog.survey import SurveyAfter, SurveyAnswered
from warmline.handoff.events import CallbackRequested, Party, QueueAgentAnswered, TalkEnded
from warmline.handoff.routing import Producer

CALL_ID_VARIABLE = "WARMLINE_CALL_ID"
APP_VARIABLE = "WARMLINE_APP"  # the Stasis app (the Warmline instance) that owns the call
CALLBACK_EVENT = "WarmlineCallback"  # the UserEvent of [warmline-callback] in extensions_warmline.conf
SURVEY_EVENT = "WarmlineSurvey"  # the UserEvent of [warmline-survey]: the caller's score after a producer
_SCORE = re.compile(r"[1-5]")


def queue_member(producer: Producer) -> str:
    """The producer's interface in Asterisk's queues: `queue_member`, else their endpoint."""
    return producer.queue_member or producer.endpoint


def same_interface(a: str, b: str) -> bool:
    """Asterisk spells technologies in any case (PJSIP/1001 = pjsip/1001); the resource is exact."""
    tech_a, _, rest_a = a.strip().partition("/")
    tech_b, _, rest_b = b.strip().partition("/")
    return bool(rest_a) and tech_a.lower() == tech_b.lower() and rest_a == rest_b


def producer_of(producers: Sequence[Producer], interface: str) -> str:
    """The name of the producer who is this queue member; "" when none of them is."""
    return next((p.name for p in producers if same_interface(queue_member(p), interface)), "")


def agent_answered(event: Mapping[str, str], call_id: str, producers: Sequence[Producer]) -> QueueAgentAnswered:
    """AMI AgentConnect (a member picked up a queue call) as the call's event."""
    member = event.get("Interface") or event.get("MemberName") or ""
    return QueueAgentAnswered(call_id=call_id, producer=producer_of(producers, member),
                              queue=event.get("Queue", ""), member=member)


ENDED_BY = {"caller": Party.CALLER, "agent": Party.PRODUCER}  # AgentComplete's Reason; else transfer


def agent_completed(event: Mapping[str, str], call_id: str, producers: Sequence[Producer]) -> TalkEnded:
    """AMI AgentComplete (the queue call's talk is over) as the call's event: the agent's wrap-up starts."""
    member = event.get("Interface") or event.get("MemberName") or ""
    try:
        talk = max(0.0, float(event.get("TalkTime", "0") or 0))
    except ValueError:
        talk = 0.0
    return TalkEnded(call_id=call_id, producer=producer_of(producers, member),
                     ended_by=ENDED_BY.get(event.get("Reason", "").lower(), Party.PBX), talk_seconds=talk)


def callback_requested(event: Mapping[str, str], app: str = "") -> CallbackRequested | None:
    """The WarmlineCallback user event (the call ends in the call-back box) as the call's event;
    None for another user event, one without a Warmline call id, or another Warmline's call."""
    if event.get("UserEvent") != CALLBACK_EVENT or not (call_id := event.get("CallId", "").strip()):
        return None
    if not owned_by(event.get("App", ""), app):
        return None
    return CallbackRequested(call_id=call_id, queue=event.get("Queue", ""), number=event.get("CallerNumber", ""))


def survey_answered(event: Mapping[str, str], app: str = "") -> SurveyAnswered | None:
    """The WarmlineSurvey user event (the caller scored the call after the producer hung up) as the
    call's event; None for another user event, another Warmline's call, or a score that is not 1-5."""
    if event.get("UserEvent") != SURVEY_EVENT or not (call_id := event.get("CallId", "").strip()):
        return None
    if not owned_by(event.get("App", ""), app) or not _SCORE.fullmatch(score := event.get("Score", "").strip()):
        return None
    return SurveyAnswered(call_id=call_id, score=int(score), after=SurveyAfter.ESCALATED)


def owned_by(owner: str, app: str) -> bool:
    """A call marked with another Stasis app's name is that Warmline's to record (unmarked: anyone's)."""
    return not owner.strip() or not app or owner.strip() == app
