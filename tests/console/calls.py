"""Scripted call streams for the console's tests: the events serve's listeners see, in order."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from warmline.calls.events import CallEnded, CallEvent, CallStarted, PromptStarted
from warmline.crm.seed import DEMO_CALLER
from warmline.dialog.events import ActionTaken, CallerTurn, EscalationDecided, IdentityChecked
from warmline.handoff.events import (  # noqa: F401 - the queue's kinds are used through this module
    CallbackRequested,
    HandoffPrepared,
    ProducerAnswered,
    ProducerDialled,
    ProducerLost,
    ProducerRinging,
    QueueAgentAnswered,
    TalkEnded,
    TransferBridged,
    TransferPlanned,
)
from warmline.handoff.payload import build_payload


def escalated(call_id: str, *, words: str = "Should I add full coverage to my car?", verified: bool = True,
              at: float | None = None, queue: str = "licensed") -> list[CallEvent]:
    """A call up to its stored hand-off payload (HandoffPrepared last)."""
    t = at if at is not None else time.time() - 60
    events: list[CallEvent] = [
        CallStarted(call_id=call_id, at=t, pbx="asterisk", channel_id=f"ch-{call_id}", caller_number="6175550142",
                    caller_name="PAT CALLER", dialed="100"),
        PromptStarted(call_id=call_id, at=t + 1, prompt="greeting"),
        CallerTurn(call_id=call_id, at=t + 4, turn=1, text=words, answer=False, intent="coverage_advice",
                   confidence=0.92, action="escalate", entities=(), sentiment=-0.1),
    ]
    if verified:
        events += [
            PromptStarted(call_id=call_id, at=t + 5, prompt="verify_dob"),
            CallerTurn(call_id=call_id, at=t + 8, turn=2, text="March 5, 1980", answer=True, intent="out_of_scope",
                       confidence=0.2, action="contain", entities=(), sentiment=0.0),
            IdentityChecked(call_id=call_id, at=t + 9, verified=True, method="policy_number+date_of_birth", attempt=1,
                            contact_id="C1001", policy_id="P1001", name="Maria Alvarez", why="", state="MA", line="auto"),
            # the due date as the demo CRM (seeded for today) has it
            ActionTaken(call_id=call_id, at=t + 10, intent="billing_inquiry", action="read_balance", ok=True,
                        result=f"balance $128.40 due {DEMO_CALLER.due_date(date.today())}"),
        ]
    events.append(EscalationDecided(call_id=call_id, at=t + 11, reason="regulated_intent", intent="coverage_advice",
                                    detail="coverage_advice is escalate-class", final=False, queue=queue))
    payload = build_payload(events, queue=queue, now=t + 12)
    events.append(HandoffPrepared(call_id=call_id, at=t + 12, payload_id=payload.payload_id, queue=queue,
                                  payload=payload.model_dump_json()))
    return events


def planned(call_id: str, *ring: str, at: float = 0.0) -> TransferPlanned:
    return TransferPlanned(call_id=call_id, at=at or time.time(), queue="licensed", ring=ring, skipped=())


def dialled(call_id: str, producer: str, attempt: int = 1) -> ProducerDialled:
    return ProducerDialled(call_id=call_id, producer=producer, endpoint=f"PJSIP/{producer}", attempt=attempt,
                           channel_id=f"wl-{call_id}-p{attempt}")


def ringing(call_id: str, producer: str) -> ProducerRinging:
    return ProducerRinging(call_id=call_id, producer=producer)


def answered(call_id: str, producer: str) -> ProducerAnswered:
    return ProducerAnswered(call_id=call_id, producer=producer)


def lost(call_id: str, producer: str, why: str) -> ProducerLost:
    return ProducerLost(call_id=call_id, producer=producer, why=why)


def bridged(call_id: str, producer: str) -> TransferBridged:
    return TransferBridged(call_id=call_id, producer=producer, bridge_id=f"{call_id}-talk")


def ended(call_id: str, reason: str = "handed_to", queue: str | None = "licensed") -> CallEnded:
    return CallEnded(call_id=call_id, reason=reason, queue=queue if reason == "handed_to" else None)


def talk_ended(call_id: str, producer: str, by: str = "producer", seconds: float = 95.0) -> TalkEnded:
    return TalkEnded(call_id=call_id, producer=producer, ended_by=by, talk_seconds=seconds)


def accepted_call(call_id: str, producer: str, **kw) -> list[CallEvent]:
    """Escalated, rung, accepted, bridged; Warmline's part ended; then the talk ended (wrap-up)."""
    return [*escalated(call_id, **kw), planned(call_id, producer), dialled(call_id, producer),
            ringing(call_id, producer), answered(call_id, producer), bridged(call_id, producer), ended(call_id),
            talk_ended(call_id, producer)]
