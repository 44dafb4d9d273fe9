"""Routing overrides applied from the weekly review, each with an audit line naming who applied what.

Two plain files in `[numbers] dir`, readable without Warmline:
- `routing-overrides.json`: the overrides in force, {"queues": {intent: queue}, "actions": {intent: action}};
  they win over `[nlu] queues` / `[nlu] actions` of warmline.toml (every command loads them, serve too).
- `routing-audit.jsonl`: one JSON line per change, append-only: when, who, which suggestion and
  week, what changed, what it was before, and the tags' reason.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from warmline.nlu.taxonomy import DEFAULT_QUEUES, INTENTS
from warmline.numbers.settings import NumbersError

OVERRIDES = "routing-overrides.json"
AUDIT = "routing-audit.jsonl"
ACTIONS = ("contain", "escalate")


def _dir(settings) -> Path:
    return Path(os.path.expanduser(settings.numbers.dir))


def load_overrides(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / OVERRIDES
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"queues": {}, "actions": {}}
    except (OSError, ValueError) as exc:
        raise NumbersError(f"{path}: cannot read the routing overrides ({exc}); restore it from "
                           f"{folder / AUDIT} or remove it to drop every override") from None
    queues, actions = data.get("queues", {}), data.get("actions", {})
    bad = sorted(i for i in (*queues, *actions) if i not in INTENTS)
    bad += sorted(f"{i}={a}" for i, a in actions.items() if a not in ACTIONS)
    bad += sorted(f"{i}={q!r}" for i, q in queues.items() if not isinstance(q, str) or not q)
    if bad:
        raise NumbersError(f"{path}: unknown intent or value {', '.join(bad)}; fix or remove those entries")
    return {"queues": dict(queues), "actions": dict(actions)}


def with_routing_overrides(settings):
    """Settings with the applied overrides in [nlu] (unchanged when there are none)."""
    found = load_overrides(_dir(settings))
    if not found["queues"] and not found["actions"]:
        return settings
    nlu = settings.nlu.model_copy(update={"queues": {**settings.nlu.queues, **found["queues"]},
                                          "actions": {**settings.nlu.actions, **found["actions"]}})
    return settings.model_copy(update={"nlu": nlu})


def current_queues(settings) -> dict[str, str]:
    return {**DEFAULT_QUEUES, **settings.nlu.queues, **load_overrides(_dir(settings))["queues"]}


def apply_change(folder: Path, *, by: str, kind: str, intent: str, value: str, why: str, suggestion: str = "",
                 week: str = "") -> dict:
    """Set one override and append its audit line; returns the audit entry."""
    if not by.strip():
        raise NumbersError("say who applies the change: --by NAME (it is recorded in the audit)")
    if intent not in INTENTS:
        raise NumbersError(f"unknown intent {intent!r}; the intents are: {', '.join(INTENTS)}")
    if kind == "actions" and value not in ACTIONS:
        raise NumbersError(f"action {value!r} for {intent}: use contain or escalate")
    folder.mkdir(parents=True, exist_ok=True)
    overrides = load_overrides(folder)
    before = overrides[kind].get(intent)
    if value:
        overrides[kind][intent] = value
    else:
        overrides[kind].pop(intent, None)
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": by.strip(),
             "suggestion": suggestion, "week": week, "change": {kind: {intent: value or None}},
             "before": before, "why": why}
    with open(folder / AUDIT, "a", encoding="utf-8") as audit:
        audit.write(json.dumps(entry) + "\n")
        audit.flush()
        os.fsync(audit.fileno())
    tmp = folder / (OVERRIDES + ".tmp")
    tmp.write_text(json.dumps(overrides, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, folder / OVERRIDES)
    return entry


def audit_lines(folder: Path) -> list[dict]:
    path = folder / AUDIT
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def routing_command(settings, args, open_store) -> int:
    folder = _dir(settings)
    if args.action == "list":
        overrides = load_overrides(folder)
        if not overrides["queues"] and not overrides["actions"]:
            print("no routing overrides applied")
        for kind, values in overrides.items():
            for intent, value in sorted(values.items()):
                print(f"{kind[:-1]:<6} {intent:<22} {value}")
        for entry in audit_lines(folder)[-10:]:
            print(f"  {entry['at']}  {entry['by']}: {json.dumps(entry['change'])} (was {entry['before']!r}) "
                  f"{entry['suggestion']} {entry['week']}".rstrip())
        return 0
    return _apply_suggestion(settings, folder, args, open_store)


def _apply_suggestion(settings, folder: Path, args, open_store) -> int:
    from warmline.numbers.cli import last_complete_week
    from warmline.numbers.history import Week, facts_between
    from warmline.numbers.review import suggestions

    if not args.suggestion:
        raise NumbersError("routing apply needs the suggestion id from the report, e.g. warmline routing apply "
                           "S-1a2b3c --week 2026-W48 --by 'Pat Lee'")
    week = Week.parse(args.week) if args.week else last_complete_week()
    store = open_store(settings.store)
    try:
        facts = facts_between(store, *week.bounds())
    finally:
        store.close()
    found = {s.id: s for s in suggestions(facts, current_queues(settings), settings.numbers.min_transfers)}
    chosen = found.get(args.suggestion)
    if chosen is None:
        shown = ", ".join(found) or "none"
        raise NumbersError(f"{week} has no suggestion {args.suggestion} (it has: {shown}); check the id and --week")
    if not chosen.applicable:
        raise NumbersError(f"{chosen.id} is not a routing change: review the corrections with `warmline feedback "
                           "review --by NAME`, then `warmline train --with-feedback`")
    entry = apply_change(folder, by=args.by or "", kind="queues", intent=chosen.intent, value=chosen.target,
                         why=chosen.text, suggestion=chosen.id, week=str(week))
    print(f"applied {chosen.id}: {chosen.intent} now goes to queue {chosen.target} (was {entry['before'] or 'default'}); "
          f"audit in {folder / AUDIT}; restart serve to use it")
    return 0
