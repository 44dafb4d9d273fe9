"""Producers' corrections into training lines: `warmline feedback review` (an admin accepts or rejects
each, audited) and `warmline feedback export` (the accepted ones as <intent>.txt training lines for
`warmline train --with-feedback`).

Where they come from: a producer's wrap-up tag on a transfer (DispositionRecorded). MISIDENTIFIED
names the intent the caller really meant; with the caller's words the AI read wrong, that is a
training line once an admin accepts it. REROUTED (it belonged to another queue) and OVER_ESCALATED
(the AI could have served it) are listed too, but never become training lines: they say where a
call should have gone, not what the caller meant (`warmline report`, `warmline routing`).

Files in `[numbers] dir`, owner-only (0600 in a 0700 folder: the words are a caller's, as the store
keeps them, with dates, long numbers and e-mail addresses scrubbed):
- `feedback-decisions.json`: the decision per call. An accepted one keeps its training line (words
  and intent), so an export does not depend on the call still being in the store (retention_days).
- `feedback-audit.jsonl`: one JSON line per decision, append-only: when, who, accepted or rejected,
  the call, the AI's reading → the correction, and the decision before. No caller words.
- `feedback/<intent>.txt` (export): one utterance per line, the format of models/intents/train/,
  rewritten whole by each export. A line whose words (as the model reads them) are an evaluation
  row of models/intents/eval/ is never written: the model is never trained on what it is judged by.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path

from warmline.handoff.events import Disposition
from warmline.nlu.data import read_eval, read_train_dir
from warmline.nlu.features import canonical
from warmline.nlu.taxonomy import INTENTS
from warmline.numbers.facts import NO_INTENT, CallFacts, call_facts
from warmline.numbers.history import facts_between
from warmline.numbers.settings import NumbersError

DECISIONS = "feedback-decisions.json"
AUDIT = "feedback-audit.jsonl"
EXPORT = "feedback"  # the export's folder in [numbers] dir
HEADER = "# warmline feedback export"  # first line of every file an export writes (and may replace)
ACCEPTED, REJECTED = "accepted", "rejected"
LISTED = (Disposition.MISIDENTIFIED, Disposition.REROUTED, Disposition.OVER_ESCALATED)
SHOWN_WORDS = 100  # characters of the caller's words in a listing line


def numbers_dir(settings) -> Path:
    return Path(os.path.expanduser(settings.numbers.dir))


def repo() -> Path:
    from warmline.nlu.cli import REPO

    return REPO


# --- the tags ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tag:
    """A producer's tag on one transfer that says the AI got something wrong."""

    call_id: str
    started: float
    reading: str  # the AI's intent (NO_INTENT: nothing understood)
    words: str  # the caller's words it read as that, as stored (scrubbed)
    disposition: Disposition
    intent: str  # MISIDENTIFIED: the intent it really was; else ""
    queue: str  # REROUTED: the queue it belonged to; else ""
    producer: str
    by: str  # the console account that tagged it

    @property
    def correction(self) -> str:
        match self.disposition:
            case Disposition.MISIDENTIFIED:
                return self.intent or "?"
            case Disposition.REROUTED:
                return f"queue {self.queue or '?'}"
        return "the AI could have served it"

    @property
    def problem(self) -> str:
        """Why this tag cannot become a training line; "" when it can."""
        if self.disposition != Disposition.MISIDENTIFIED:
            says = ("which queue it belonged to" if self.disposition == Disposition.REROUTED
                    else "that the AI could serve it")
            return (f"{self.disposition.value} is not an intent correction (it says {says}, not what the caller "
                    "meant: a routing question for `warmline report`), so it is never a training line")
        if self.intent not in INTENTS:
            return f"the tag names no known intent ({self.intent!r})"
        if not canonical(self.words):
            return "no caller words are stored for it (keyed, or nothing said)"
        if self.intent == self.reading:
            return f"the tag names the AI's own reading ({self.intent})"
        return ""


def tag_of(facts: CallFacts) -> Tag | None:
    d = facts.disposition
    if d is None or d.disposition not in LISTED:
        return None
    return Tag(facts.call_id, facts.started or d.at, facts.reading or NO_INTENT,
               facts.reading_words or facts.request, d.disposition, d.intent, d.queue, d.producer, d.by)


def tags_of(facts: Iterable[CallFacts]) -> list[Tag]:
    return [t for t in map(tag_of, facts) if t is not None]


# --- decisions and their audit ------------------------------------------------------------------------


def private_dir(folder: Path) -> Path:
    """The folder, created 0700 (or made so: it holds callers' words)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_mode & 0o077:
        os.chmod(folder, 0o700)
    return folder


def write_private(path: Path, text: str) -> None:
    """Replace the file (0600) whole: a reader sees the old or the new text, never half."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)  # an old .tmp left with other bits
    os.replace(tmp, path)


def load_decisions(folder: Path) -> dict[str, dict]:
    path = folder / DECISIONS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise NumbersError(f"{path}: cannot read the feedback decisions ({exc}); restore it from a backup, "
                           f"or remove it to review every correction again ({folder / AUDIT} keeps who "
                           "decided what)") from None
    decisions = data.get("decisions") if isinstance(data, dict) else None
    if not isinstance(decisions, dict):
        raise NumbersError(f"{path}: not a feedback decisions file (no \"decisions\" object)")
    return decisions


def is_pending(tag: Tag, decisions: dict[str, dict]) -> bool:
    """A usable correction nobody has decided on (or re-tagged since with another intent)."""
    if tag.problem:
        return False
    decided = decisions.get(tag.call_id)
    return decided is None or decided.get("correction") != tag.intent


def decide(folder: Path, found: dict[str, Tag | None], *, by: str, accept: Iterable[str] = (),
           reject: Iterable[str] = (), now: datetime | None = None) -> list[dict]:
    """Record accept/reject decisions (all or none): audit lines first, then the decisions file.

    `found`: each named call's tag (None: no such call, or no tag that says the AI was wrong)."""
    accept, reject = list(dict.fromkeys(accept)), list(dict.fromkeys(reject))
    if not by.strip():
        raise NumbersError("say who decides: --by NAME (it is recorded in the audit)")
    if not accept and not reject:
        raise NumbersError("name the calls: --accept CALL… and/or --reject CALL… (the ids `warmline feedback "
                           "review` lists)")
    both = sorted(set(accept) & set(reject))
    if both:
        raise NumbersError(f"call {', '.join(both)} is both accepted and rejected; name each call once")
    unknown = [c for c in (*accept, *reject) if c not in found]
    if unknown:
        raise NumbersError(f"no stored call {', '.join(unknown)}; `warmline feedback review` lists the "
                           "corrections to decide on")
    untagged = [c for c in (*accept, *reject) if found[c] is None]
    if untagged:
        raise NumbersError(f"call {', '.join(untagged)} has no producer's correction to decide on (no "
                           "misidentified, rerouted or over-escalated tag)")
    for call in (*accept, *reject):
        tag = found[call]
        if tag.disposition != Disposition.MISIDENTIFIED or (call in accept and tag.problem):
            raise NumbersError(f"call {call} cannot be {'accepted' if call in accept else 'rejected'}: "
                               f"{tag.problem}")
    at = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    decisions = load_decisions(folder)
    entries = []
    for decision, calls in ((ACCEPTED, accept), (REJECTED, reject)):
        for call in calls:
            tag = found[call]
            before = decisions.get(call, {}).get("decision")
            entries.append({"at": at, "by": by.strip(), "decision": decision, "call": call,
                            "reading": tag.reading, "correction": tag.intent, "tagged_by": tag.by,
                            "before": before})
            decisions[call] = {"decision": decision, "by": by.strip(), "at": at, "reading": tag.reading,
                               "correction": tag.intent, "tagged_by": tag.by, "started": tag.started}
            if decision == ACCEPTED:  # the training line itself, kept past the store's retention
                decisions[call]["words"] = tag.words
    private_dir(folder)
    fd = os.open(folder / AUDIT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(fd, "a", encoding="utf-8") as audit:
        audit.write("".join(json.dumps(e) + "\n" for e in entries))
        audit.flush()
        os.fsync(audit.fileno())
    write_private(folder / DECISIONS, json.dumps({"decisions": decisions}, indent=1, sort_keys=True) + "\n")
    return entries


# --- the export -----------------------------------------------------------------------------------------


@dataclass
class Export:
    lines: dict[str, list[str]]  # intent -> training lines, sorted
    in_eval: int = 0  # skipped: an evaluation row's words
    duplicates: int = 0  # skipped: the same words accepted for the same intent again
    already_trained: int = 0  # skipped: the training data has these words as this intent already
    contradicting: int = 0  # skipped: the same words accepted as two different intents
    relabels: int = 0  # kept: words the training data has as another intent

    @property
    def total(self) -> int:
        return sum(map(len, self.lines.values()))


def eval_keys(folder: Path) -> set[str]:
    """Every evaluation row's words as the model reads them (models/intents/eval/*.tsv)."""
    return {canonical(row.text) for path in sorted(folder.glob("*.tsv")) for row in read_eval(path)}


def trained_keys(folder: Path) -> dict[str, set[str]]:
    """Words as the model reads them → the intents the training data gives them."""
    found: dict[str, set[str]] = defaultdict(set)
    for example in read_train_dir(folder):
        found[canonical(example.text)].add(example.intent)
    return found


def training_lines(accepted: Iterable[tuple[str, str]], evaluation: set[str],
                   trained: dict[str, set[str]]) -> Export:
    """(intent, words) of the accepted corrections → the lines to write, with what was skipped and why."""
    by_key: dict[str, list[tuple[str, str]]] = defaultdict(list)
    out = Export({})
    for intent, words in accepted:
        line = " ".join(words.split()).lstrip("#").strip()
        key = canonical(line)
        if not key:
            continue
        if key in evaluation:
            out.in_eval += 1
            continue
        by_key[key].append((intent, line))
    lines: dict[str, list[str]] = defaultdict(list)
    for key, found in by_key.items():
        intents = {intent for intent, _ in found}
        if len(intents) > 1:
            out.contradicting += len(found)
            continue
        [intent] = intents
        out.duplicates += len(found) - 1
        if intent in trained.get(key, ()):
            out.already_trained += 1
            continue
        out.relabels += bool(trained.get(key))
        lines[intent].append(found[0][1])
    out.lines = {intent: sorted(lines[intent], key=str.lower) for intent in sorted(lines)}
    return out


def write_export(folder: Path, export: Export, *, note: str = "") -> list[Path]:
    """Rewrite the export folder's <intent>.txt files; refuses a folder holding other .txt files."""
    foreign = [p for p in sorted(folder.glob("*.txt")) if not _ours(p)]
    if foreign:
        raise NumbersError(f"{foreign[0]} was not written by `warmline feedback export`: export into a folder of "
                           "its own (--out DIR), never into the training data")
    private_dir(folder)
    written = []
    for intent, lines in export.lines.items():
        path = folder / f"{intent}.txt"
        write_private(path, f"{HEADER}: accepted producers' corrections ({note}); rewritten by each export\n"
                            + "".join(line + "\n" for line in lines))
        written.append(path)
    for stale in sorted(folder.glob("*.txt")):
        if stale not in written:
            stale.unlink()  # an intent with no accepted line any more (a decision reversed)
    return written


def _ours(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline().startswith(HEADER)
    except (OSError, UnicodeDecodeError):
        return False


# --- the command ----------------------------------------------------------------------------------------


def feedback_command(settings, args, open_store) -> int:
    folder = numbers_dir(settings)
    if args.action == "export":
        return export_command(folder, Path(os.path.expanduser(args.out)) if args.out else folder / EXPORT)
    deciding = args.accept is not None or args.reject is not None
    if not deciding:
        return list_command(settings, folder, open_store, getattr(args, "since", None))
    if not (args.by or "").strip():  # before the store is read
        raise NumbersError("say who decides: --by NAME (it is recorded in the audit)")
    calls = list(dict.fromkeys([*(args.accept or []), *(args.reject or [])]))
    store = open_store(settings.store)
    try:
        found = {}
        for call in calls:
            events = store.events(call)
            if events:
                found[call] = tag_of(call_facts(call, events))
    finally:
        store.close()
    entries = decide(folder, found, by=args.by, accept=args.accept or (), reject=args.reject or ())
    for e in entries:
        was = f" (was {e['before']})" if e["before"] and e["before"] != e["decision"] else ""
        print(f"{e['decision']} {e['call']}: {e['reading']} → {e['correction']}{was}")
    print(f"audit in {folder / AUDIT}; `warmline feedback export` writes the accepted ones as training lines")
    return 0


def _since(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return datetime.combine(date.fromisoformat(text), time()).timestamp()
    except ValueError:
        raise NumbersError(f"--since {text!r}: not a date; write it as YYYY-MM-DD") from None


def list_command(settings, folder: Path, open_store, since: str | None = None) -> int:
    start = _since(since)
    store = open_store(settings.store)
    try:
        found = tags_of(facts_between(store, start, 1e18))
    finally:
        store.close()
    decisions = load_decisions(folder)
    for line in listing(found, decisions):
        print(line)
    return 0


def listing(found: list[Tag], decisions: dict[str, dict]) -> list[str]:
    pending = [t for t in found if is_pending(t, decisions)]
    decided = Counter(decisions[t.call_id]["decision"] for t in found
                      if not t.problem and not is_pending(t, decisions))
    so_far = ", ".join(f"{n} {d}" for d, n in sorted(decided.items())) or "none decided yet"
    out = [f"{len(pending)} correction{'s' * (len(pending) != 1)} to review ({so_far}):"]
    out += [_row(t, f"{t.reading} → {t.intent}") for t in pending]
    unusable = [t for t in found if t.disposition == Disposition.MISIDENTIFIED and t.problem]
    if unusable:
        out.append("misidentified tags that cannot become training lines:")
        out += [_row(t, f"{t.reading} → {t.intent or '?'}", t.problem) for t in unusable]
    others = [t for t in found if t.disposition != Disposition.MISIDENTIFIED]
    if others:
        out.append("not intent corrections (rerouted, over-escalated: never training lines; see `warmline report`):")
        out += [_row(t, f"{t.disposition.value}: {t.reading}, {t.correction}") for t in others]
    if pending:
        out.append("decide: warmline feedback review --by NAME --accept CALL… --reject CALL…")
    return out


def _row(tag: Tag, what: str, why: str = "") -> str:
    day = datetime.fromtimestamp(tag.started).date().isoformat() if tag.started else "?"
    words = tag.words if len(tag.words) <= SHOWN_WORDS else tag.words[: SHOWN_WORDS - 1] + "…"
    who = f"{tag.by} ({tag.producer})" if tag.producer and tag.producer != tag.by else tag.by
    return f"  {tag.call_id}  {day}  {what}  \"{words}\"  tagged by {who or '?'}" + (f"  [{why}]" if why else "")


def export_command(folder: Path, out: Path) -> int:
    decisions = load_decisions(folder)
    accepted = [(d["correction"], d.get("words", "")) for _, d in sorted(decisions.items(),
                                                                          key=lambda kv: kv[1].get("started", 0))
                if d.get("decision") == ACCEPTED]
    base = repo() / "models/intents"
    evaluation = eval_keys(base / "eval")
    export = training_lines(accepted, evaluation, trained_keys(base / "train"))
    write_export(out, export, note=f"{len(accepted)} accepted in {folder / DECISIONS}")
    per = ", ".join(f"{intent} {len(lines)}" for intent, lines in export.lines.items())
    print(f"exported {export.total} training line{'s' * (export.total != 1)} from {len(accepted)} accepted "
          f"correction{'s' * (len(accepted) != 1)} → {out}" + (f" ({per})" if per else ""))
    skipped = [(export.in_eval, "in an evaluation set (never trained on)"), (export.duplicates, "duplicates"),
               (export.already_trained, "already in the training data as that intent"),
               (export.contradicting, "the same words accepted as different intents")]
    if any(n for n, _ in skipped):
        print("  skipped: " + ", ".join(f"{n} {why}" for n, why in skipped if n))
    if not evaluation:
        print(f"  note: no evaluation sets in {base / 'eval'}: nothing to check the lines against")
    if export.relabels:
        print(f"  note: {export.relabels} of them the training data has as another intent; "
              "the retrain's before/after decides")
    if export.total:
        print(f"next: warmline train --with-feedback {out}")
    return 0
