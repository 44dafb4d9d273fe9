"""The wrap-up form: one disposition from the fixed taxonomy, with what each one needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from warmline.handoff.events import Disposition

LABELS = {  # the taxonomy as the producer reads it, in the form's order
    Disposition.RESOLVED: "Escalated correctly, and I resolved it",
    Disposition.REROUTED: "Belonged to another queue (re-routed)",
    Disposition.MISIDENTIFIED: "The AI misidentified the intent",
    Disposition.LACKED_KNOWLEDGE: "The AI understood but lacked the knowledge",
    Disposition.INTEGRATION_FAILURE: "An AI integration (CRM, system) failed",
    Disposition.OVER_ESCALATED: "The AI over-escalated: it could have served this",
    Disposition.CONFIRMATION_ONLY: "The caller only wanted what the AI said confirmed",
}
MAX_NOTES = 2000


class FormError(ValueError):
    """The form is not complete or not valid; the message says what to fix, in the producer's words."""


def parse_form(form: Mapping[str, str], *, queues: Iterable[str], intents: Iterable[str]) -> dict:
    """The DispositionRecorded fields this form gives (besides who and which call), or FormError."""
    raw = (form.get("disposition") or "").strip()
    try:
        disposition = Disposition(raw)
    except ValueError:
        raise FormError("choose what this transfer was (one of the reasons listed)") from None
    repeated = (form.get("caller_repeated") or "").strip()
    if repeated not in ("yes", "no"):
        raise FormError("say whether the caller had to repeat what the AI already had (yes or no)")
    queue, intent = (form.get("queue") or "").strip(), (form.get("intent") or "").strip()
    if disposition == Disposition.REROUTED:
        if queue not in set(queues):
            raise FormError("re-routed: choose the queue this call belonged to")
    else:
        queue = ""
    if disposition == Disposition.MISIDENTIFIED:
        if intent not in set(intents):
            raise FormError("misidentified: choose what the caller really wanted")
    else:
        intent = ""
    notes = (form.get("notes") or "").strip()
    if len(notes) > MAX_NOTES:
        raise FormError(f"notes are limited to {MAX_NOTES} characters")
    return {"disposition": disposition, "caller_repeated": repeated == "yes", "queue": queue, "intent": intent,
            "notes": notes}
