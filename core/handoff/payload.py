"""The hand-off payload: everything a producer needs, read from the call's event stream only.

Versioned and strict (`extra="forbid"`), so a console or CRM reading it knows exactly what it
gets. It is stored (as a HandoffPrepared event) before any phone rings; the channel variables,
SIP headers and user event carry only its id and a few short fields.

Secrets stay out because the events never carry them: a verified caller's date of birth is only
compared, never emitted, and private keyed digits arrive already masked ("****").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from warmline.calls.events import CallEvent, CallJournal, CallStarted, PromptStarted
from warmline.calls.store import EventStore
from warmline.dialog.events import (
    ActionTaken,
    CallerTurn,
    EscalationDecided,
    IdentityChecked,
    KeysPressed,
    TurnAction,
)
from warmline.handoff.errors import HandoffError
from warmline.handoff.events import HandoffPrepared

SCHEMA_VERSION = 1
SECRET_QUESTIONS = ("verify_dob", "verify_zip")  # their answers never leave the identity check
WITHHELD = "[identity answer withheld]"
DISCLOSURE_PROMPT = "greeting"  # flows' prompts.greeting: the prompt that tells the caller it is an AI


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TranscriptLine(_Strict):
    at: AwareDatetime
    speaker: Literal["caller", "warmline"]
    text: str


class ActionRecord(_Strict):
    at: AwareDatetime
    intent: str
    action: str
    ok: bool
    result: str


class Skills(_Strict):
    queue: str
    line: str | None  # line of business of the caller's policy (None: not verified)
    state: str | None  # two-letter state of the caller's address (None: not verified)


class HandoffPayload(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    payload_id: str
    call_id: str
    caller_number: str
    dialed: str
    caller_name: str  # the verified CRM name, else the caller-id name, else ""
    contact_id: str | None
    policy_id: str | None
    authenticated: bool
    auth_method: str  # "" when not authenticated
    stated_reason: str  # the caller's own first words
    intent: str | None
    confidence: float | None
    reason: str  # the escalation reason code (triggers.Reason)
    reason_detail: str
    actions: tuple[ActionRecord, ...]
    transcript: tuple[TranscriptLine, ...]
    sentiment_trend: tuple[float, ...]
    consent_reference: str | None  # the AI disclosure the caller heard, and when; None: never played
    skills: Skills
    started_at: AwareDatetime
    escalated_at: AwareDatetime | None
    prepared_at: AwareDatetime


def payload_id_for(call_id: str) -> str:
    return f"hp-{call_id}"


def build_payload(events: Sequence[CallEvent], *, queue: str, now: float | None = None,
                  disclosure: str = DISCLOSURE_PROMPT) -> HandoffPayload:
    """The payload for a hand-off to `queue`, from the call's typed events alone."""
    call_id = events[0].call_id if events else ""
    started = _first(events, CallStarted)
    identity = _last(events, IdentityChecked, lambda e: e.verified)
    escalation = _last(events, EscalationDecided)
    intent, confidence = _intent(events, escalation)
    return HandoffPayload(
        payload_id=payload_id_for(call_id), call_id=call_id,
        caller_number=started.caller_number if started else "", dialed=started.dialed if started else "",
        caller_name=identity.name if identity else (started.caller_name if started else ""),
        **_identity(identity), stated_reason=_stated_reason(events), intent=intent, confidence=confidence,
        reason=escalation.reason.value if escalation else "", reason_detail=escalation.detail if escalation else "",
        actions=actions(events), transcript=transcript(events),
        sentiment_trend=tuple(e.sentiment for e in events if isinstance(e, CallerTurn)),
        consent_reference=consent_reference(events, disclosure),
        skills=Skills(queue=queue, line=(identity and identity.line) or None,
                      state=(identity and identity.state) or None),
        started_at=_utc(started.at if started else events[0].at if events else _now(now)),
        escalated_at=_utc(escalation.at) if escalation else None, prepared_at=_utc(_now(now)),
    )


def _identity(checked: IdentityChecked | None) -> dict:
    if checked is None:
        return {"contact_id": None, "policy_id": None, "authenticated": False, "auth_method": ""}
    return {"contact_id": checked.contact_id, "policy_id": checked.policy_id, "authenticated": True,
            "auth_method": checked.method.value}


def _requests(events: Sequence[CallEvent]) -> list[CallerTurn]:
    """Turns where the caller asked for something (not answers to a question)."""
    return [e for e in events if isinstance(e, CallerTurn) and not e.answer]


def _stated_reason(events: Sequence[CallEvent]) -> str:
    requests = _requests(events)
    return requests[0].text if requests else ""


def _intent(events: Sequence[CallEvent], escalation: EscalationDecided | None) -> tuple[str | None, float | None]:
    """The escalation's intent, else the first understood request's; confidence from its turn."""
    requests = _requests(events)
    if escalation is not None and escalation.intent:
        # the latest turn of that intent is the one that led to the escalation
        turn = next((t for t in reversed(requests) if t.intent == escalation.intent), None)
        return escalation.intent, turn.confidence if turn else None
    turn = next((t for t in requests if t.action != TurnAction.CLARIFY), None)
    return (turn.intent, turn.confidence) if turn else (None, None)


def actions(events: Sequence[CallEvent]) -> tuple[ActionRecord, ...]:
    return tuple(ActionRecord(at=_utc(e.at), intent=e.intent, action=e.action, ok=e.ok, result=e.result)
                 for e in events if isinstance(e, ActionTaken))


def transcript(events: Sequence[CallEvent]) -> tuple[TranscriptLine, ...]:
    """Both sides in journal (= time) order; keyed digits as the event has them (masked if private).

    An answer to a second-factor question (date of birth, ZIP) is an identity secret: a producer
    needs to know the check passed, not the answer, so it is withheld."""
    lines, asked = [], ""
    for e in events:
        if isinstance(e, CallerTurn):
            secret = e.answer and asked.split(" ", 1)[0].startswith(SECRET_QUESTIONS)
            lines.append(TranscriptLine(at=_utc(e.at), speaker="caller", text=WITHHELD if secret else e.text))
        elif isinstance(e, KeysPressed):
            lines.append(TranscriptLine(at=_utc(e.at), speaker="caller", text=f"keyed {e.digits}"))
        elif isinstance(e, PromptStarted):
            asked = e.prompt
            lines.append(TranscriptLine(at=_utc(e.at), speaker="warmline", text=e.prompt))
    return tuple(lines)


def consent_reference(events: Sequence[CallEvent], disclosure: str = DISCLOSURE_PROMPT) -> str | None:
    """Where the caller heard the AI disclosure: its prompt key and start time, or None if never."""
    # PromptStarted.prompt is the media names joined by spaces, so the greeting is its first word
    heard = _first(events, PromptStarted, lambda e: e.prompt.split(" ", 1)[0] == disclosure)
    return f"disclosure:{disclosure}@{_utc(heard.at).isoformat()}" if heard else None


def _first(events, kind, when=lambda e: True):
    return next((e for e in events if isinstance(e, kind) and when(e)), None)


def _last(events, kind, when=lambda e: True):
    return _first(list(reversed(events)), kind, when)


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def prepare(journal: CallJournal, queue: str) -> HandoffPayload:
    """Build the payload and store it in the call's event stream (before any dial)."""
    payload = build_payload(journal.events, queue=queue)
    journal.emit(HandoffPrepared(call_id=journal.call_id, payload_id=payload.payload_id, queue=queue,
                                 payload=payload.model_dump_json()))
    return payload


def parse_payload(text: str | bytes) -> HandoffPayload:
    """A stored or received payload, validated; HandoffError (one line) when it is not one."""
    try:
        return HandoffPayload.model_validate_json(text)
    except ValidationError as exc:
        raise HandoffError(_problem(exc.errors()[0])) from None


def _problem(error: dict) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "payload"
    if error["type"] == "extra_forbidden":
        fix = f"remove it (schema version {SCHEMA_VERSION} has no such field)"
    elif error["type"] == "json_invalid":
        fix = "send the payload as one JSON object, as HandoffPayload.model_dump_json() writes it"
    elif error["loc"] == ("schema_version",):
        fix = f"this Warmline reads schema_version {SCHEMA_VERSION} only: upgrade the side that wrote it"
    else:
        fix = f"send the fields HandoffPayload.model_json_schema() lists for schema version {SCHEMA_VERSION}"
    msg = " ".join(str(error["msg"]).split())  # pydantic messages may span lines
    return f"hand-off payload: {where}: {msg}; {fix}"


def latest_payload(events: Sequence[CallEvent]) -> HandoffPayload | None:
    prepared = _last(events, HandoffPrepared)
    return parse_payload(prepared.payload) if prepared else None


def load_payload_from(journal: CallJournal) -> HandoffPayload | None:
    """The call's latest payload, from its live journal."""
    return latest_payload(journal.events)


def load_payload(store: EventStore, call_id: str) -> HandoffPayload | None:
    """The call's latest stored payload, from the event store."""
    return latest_payload(store.events(call_id))
