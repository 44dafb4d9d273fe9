"""What a pop shows, most important first, in words a producer reads in 10–15 seconds.

Built from the stored HandoffPayload (never from anything the caller could inject markup into:
the templates autoescape every value) plus a CRM snapshot of the verified caller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from warmline.console.pops import CallCard, PopStatus
from warmline.crm.base import Crm, CrmError
from warmline.handoff.errors import HandoffError
from warmline.handoff.payload import HandoffPayload, parse_payload

log = logging.getLogger(__name__)

REASONS = {  # triggers.Reason in plain words: why this call came to a person
    "caller_requested_human": "The caller asked for a person",
    "caller_pressed_zero": "The caller pressed 0 for a person",
    "regulated_intent": "Needs a licensed producer (advice, quotes or policy changes)",
    "out_of_scope": "Something the AI does not handle",
    "low_confidence": "The AI could not tell what the caller wants",
    "resolution_failed": "The AI tried and could not resolve it",
    "crm_data_missing": "The records the AI needed are missing",
    "action_failed": "A system action failed for the caller",
    "identity_not_verified": "The caller could not be verified",
    "negative_sentiment": "The caller is frustrated",
    "no_input": "The caller did not answer the AI",
    "no_match": "The AI did not understand the caller",
    "opt_out": "The caller asked not to be contacted",
    "system_error": "Warmline had a technical problem",
}
STATUS_WORDS = {
    PopStatus.RINGING: "Ringing you", PopStatus.ANSWERED: "You answered — press 1 to accept",
    PopStatus.PASSED: "You passed", PopStatus.CALLER_GONE: "Caller hung up",
    PopStatus.BRIDGED: "You accepted — with the caller", PopStatus.WRAP_UP: "Tag this call",
    PopStatus.DONE: "Tagged",
}
LOST_WORDS = {"busy": "you were busy", "no_answer": "not answered", "declined": "you declined",
              "rejected": "rejected by the phone", "unavailable": "phone unavailable",
              "unreachable": "phone unreachable", "hung_up": "you hung up during the whisper",
              "no_decision": "no key pressed in time"}


def words(code: str) -> str:
    """policy_number+date_of_birth → policy number and date of birth."""
    return " and ".join(part.replace("_", " ") for part in code.split("+") if part)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The CRM's view of a verified caller: policies, billing, open claims."""

    policies: tuple[tuple[str, str, str, str], ...] = ()  # number, line, status, carrier
    billing: tuple[tuple[str, str, str], ...] = ()  # policy number, balance, due date
    open_claims: tuple[tuple[str, str, str], ...] = ()  # number, status, next step
    problem: str = ""


async def crm_snapshot(crm: Crm | None, contact_id: str | None) -> Snapshot | None:
    if crm is None or not contact_id:
        return None
    try:
        policies = await crm.policies_of(contact_id)
        bills = [(p, await crm.billing(p.id)) for p in policies]
        claims = await crm.claims_of(contact_id)
    except CrmError as exc:
        log.warning("CRM snapshot for the console failed: %s", type(exc).__name__)
        return Snapshot(problem="the CRM did not answer")
    numbers = {p.id: p.number for p in policies}
    return Snapshot(
        policies=tuple((p.number, p.line, p.status, p.carrier) for p in policies),
        billing=tuple((p.number, f"${b.balance_cents / 100:,.2f}", b.due_date.isoformat() if b.due_date else "—")
                      for p, b in bills if b is not None),
        open_claims=tuple((c.number, c.status.replace("_", " "), c.next_step) for c in claims
                          if c.status not in ("paid", "denied", "closed") and c.policy_id in numbers),
    )


@dataclass(frozen=True, slots=True)
class Line:
    at: str  # HH:MM:SS
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class Pop:
    """Everything the template shows for one call to one viewer."""

    call_id: str
    status: str  # PopStatus value, "" for a supervisor's view
    status_words: str
    caller_name: str
    caller_number: str
    verified: bool
    verified_how: str
    first_words: str
    reason: str
    reason_detail: str
    intent: str
    confidence: str
    did: tuple[tuple[bool, str, str], ...]  # ok, action, result
    told: tuple[str, ...]
    sentiment: tuple[float, ...]
    sentiment_words: str
    consent: str
    queue: str
    transcript: tuple[Line, ...]
    snapshot: Snapshot | None
    changed_at: float
    bridged_to: str = ""
    ring: tuple[str, ...] = ()
    wrap_up: bool = False
    reminded: bool = False
    saved: dict = field(default_factory=dict)


def payload_of(card: CallCard) -> HandoffPayload | None:
    if not card.payload:
        return None
    try:
        return parse_payload(card.payload)
    except HandoffError as exc:
        log.warning("a stored hand-off payload cannot be shown: %s", exc)
        return None


def trend_words(values: tuple[float, ...]) -> str:
    if not values:
        return "no caller turns"
    last = values[-1]
    mood = "negative" if last < -0.3 else "positive" if last > 0.3 else "neutral"
    if len(values) > 1 and values[-1] - values[0] < -0.3:
        return f"{mood}, getting worse"
    if len(values) > 1 and values[-1] - values[0] > 0.3:
        return f"{mood}, improving"
    return mood


def said(prompt: str, texts: dict[str, str]) -> str:
    """A prompt as the caller heard it: catalog keys to their text, spoken values as themselves."""
    parts = []
    for media in prompt.split():
        kind, _, value = media.partition(":")
        parts.append(texts.get(media) or (value if value else media.replace("_", " ")))
    return " ".join(p for p in parts if p)


def build_pop(card: CallCard, payload: HandoffPayload, *, viewer: str, texts: dict[str, str],
              snapshot: Snapshot | None = None) -> Pop:
    status = card.status(viewer) if viewer else None
    words_now = STATUS_WORDS.get(status, "") if status else ""
    if status == PopStatus.PASSED and card.lost_why.get(viewer):
        words_now = f"You passed ({LOST_WORDS.get(card.lost_why[viewer], card.lost_why[viewer])})"
    told = tuple(said(t.text, texts) for t in payload.transcript if t.speaker == "warmline"
                 and not t.text.startswith("greeting"))
    transcript = tuple(Line(t.at.astimezone().strftime("%H:%M:%S"), t.speaker,
                            said(t.text, texts) if t.speaker == "warmline" else t.text) for t in payload.transcript)
    return Pop(
        call_id=card.call_id, status=status.value if status else "", status_words=words_now,
        caller_name=payload.caller_name or "Unknown caller", caller_number=payload.caller_number,
        verified=payload.authenticated, verified_how=words(payload.auth_method),
        first_words=payload.stated_reason, reason=REASONS.get(payload.reason, words(payload.reason)),
        reason_detail=payload.reason_detail, intent=(payload.intent or "unknown").replace("_", " "),
        confidence=f"{payload.confidence:.0%}" if payload.confidence is not None else "—",
        did=tuple((a.ok, a.action.replace("_", " "), a.result) for a in payload.actions),
        told=told[-3:], sentiment=payload.sentiment_trend, sentiment_words=trend_words(payload.sentiment_trend),
        consent=_consent(payload.consent_reference), queue=payload.skills.queue, transcript=transcript,
        snapshot=snapshot, changed_at=card.changed_at.get(viewer, card.started_at), bridged_to=card.bridged_to,
        ring=card.ring, wrap_up=status == PopStatus.WRAP_UP,
    )


def _consent(reference: str | None) -> str:
    if not reference:
        return "AI disclosure NOT played"
    key, _, at = reference.partition("@")
    try:
        when = datetime.fromisoformat(at).astimezone().strftime("%H:%M:%S")
    except ValueError:
        when = at
    return f"AI disclosure played at {when} ({key})"
