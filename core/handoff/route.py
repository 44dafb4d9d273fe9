"""What travels with a caller who leaves the conversation: a Route with short channel variables.

Everything here is read from the call's event stream. The variables stay short (an id, codes
and a one-line summary): the PBX caps substitutions and AMI lines, and a desk phone shows little.
"""

from __future__ import annotations

import re

from warmline.calls.events import CallJournal
from warmline.calls.session import Route
from warmline.dialog.dialogue import Ending
from warmline.dialog.events import CallerTurn, IdentityChecked, TurnAction
from warmline.handoff.payload import prepare

SUMMARY_MAX = 200


def route_for(ending: Ending, journal: CallJournal) -> Route:
    """The route out of the conversation; an escalation's payload is stored before it is returned."""
    if ending.target is None:
        return Route(ending.outcome.value)
    values = variables(ending, journal)
    if ending.escalation is not None:
        values["WARMLINE_PAYLOAD_ID"] = prepare(journal, ending.target).payload_id
    return Route(ending.outcome.value, ending.target, tuple(values.items()))


def variables(ending: Ending, journal: CallJournal) -> dict[str, str]:
    esc = ending.escalation
    verified = [e for e in journal.of_type(IdentityChecked) if e.verified]
    turns = [t for t in journal.of_type(CallerTurn) if not t.answer]
    intent = (esc.intent if esc else None) or next((t.intent for t in turns if t.action != TurnAction.CLARIFY), "")
    values = {
        "WARMLINE_CALL_ID": journal.call_id,
        "WARMLINE_OUTCOME": ending.outcome.value,  # plain strings: these become channel variables
        "WARMLINE_REASON": esc.reason.value if esc else "",
        "WARMLINE_INTENT": intent or "",
        "WARMLINE_QUEUE": ending.target or "",
        "WARMLINE_AUTH": f"verified:{verified[-1].method.value}" if verified else "not_verified",
        "WARMLINE_CALLER_NAME": verified[-1].name if verified else "",
    }
    values["WARMLINE_SUMMARY"] = summary(values, turns)
    return values


def summary(values: dict[str, str], turns: list[CallerTurn]) -> str:
    """'coverage_advice (regulated_intent), verified: "am I covered if my son drives my car"'."""
    said = next((t.text for t in turns if t.action != TurnAction.CLARIFY), turns[0].text if turns else "")
    said = re.sub(r"[\s\"]+", " ", said).strip()
    who = "verified" if values["WARMLINE_AUTH"].startswith("verified") else "not verified"
    head = f"{values['WARMLINE_INTENT'] or 'unknown'} ({values['WARMLINE_REASON'] or values['WARMLINE_OUTCOME']}), {who}: "
    room = SUMMARY_MAX - len(head) - 2
    quoted = said if len(said) <= room else said[: room - 1].rstrip() + "…"
    return f'{head}"{quoted}"'
