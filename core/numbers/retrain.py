"""`warmline train --with-feedback [DIR]`: retrain with the exported corrections, print before/after
on the evaluation sets, install only if nothing got worse.

The candidate is trained on models/intents/train/ plus DIR's <intent>.txt lines (default `[numbers]
dir/feedback`, written by `warmline feedback export`) into a folder beside the installed model
(`[nlu] model_dir`, the one serve loads). Its card is compared with the installed model's card on
the held-out sets: eval_phone and eval_chat (models/intents/eval/) and CLINC150's oos_test. The
cross-validation row is printed but does not decide: its rows are the training lines themselves,
which the feedback changes. The candidate replaces the installed folder in one rename (the old one
kept beside it as <name>.previous-<time>) only if no held-out set's accuracy fell and none's
regulated→contain rose (`verdict`); else the installed model is left as it was and the command exits 1.

Tolerance 0: the card rounds to 0.01% (one eval row is about 0.14%), and a regulated request that
the AI would handle itself is the worst failure the product has; a retrain refused for one row is
cheap, one installed that leaks is not.

The numbers compared must be what serve would do: each card's metrics are its model at its own
thresholds. When the candidate's card chose other thresholds than `[nlu]` runs (or the installed
card's differ from them), both models are scored again, on the same rows, at the thresholds in force.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from warmline.nlu.data import Example, read_clinc, read_eval, read_train_dir, unseen
from warmline.nlu.features import canonical
from warmline.nlu.model import CARD_FILE, IntentModel
from warmline.numbers.feedback import EXPORT, eval_keys, numbers_dir, private_dir, repo, write_private
from warmline.numbers.settings import NumbersError

LEAK = "escalate_answered_contain"  # the card's regulated→contain rate
THRESHOLDS = ("contain_threshold", "escalate_guard", "clarify_threshold")
HELD_OUT = "clinc150_oos_test"
AUDIT = "retrain-audit.jsonl"  # in [numbers] dir: one line per candidate, installed or refused
Trainer = Callable[[Path, Sequence[Path]], dict]  # (candidate folder, extra training folders) -> the card


def gated(name: str) -> bool:
    """The sets that decide: held out from training, the same rows before and after."""
    return name.startswith("eval_") or name == HELD_OUT


@dataclass(frozen=True, slots=True)
class Verdict:
    install: bool
    reason: str


def verdict(before: dict[str, dict], after: dict[str, dict], tolerance: float = 0.0) -> Verdict:
    """Install only if, on every held-out set the installed model was scored on, the candidate's
    accuracy is not lower and its regulated→contain rate is not higher (pure: card metrics in)."""
    names = sorted(n for n in before if gated(n))
    if not names:
        return Verdict(False, "the installed model's card has no held-out evaluation to compare with")
    problems = []
    for name in names:
        b, a = before[name], after.get(name)
        if a is None:
            problems.append(f"{name} was not scored for the candidate (is its evaluation file gone?)")
            continue
        if a["rows"] != b["rows"]:
            problems.append(f"{name} is not comparable ({b['rows']} rows scored for the installed model, "
                            f"{a['rows']} for the candidate)")
            continue
        if a["accuracy"] < b["accuracy"] - tolerance:
            problems.append(f"{name} accuracy fell {b['accuracy']:.2%} → {a['accuracy']:.2%}")
        if a[LEAK] > b[LEAK] + tolerance:
            problems.append(f"{name} regulated→contain rose {b[LEAK]:.2%} → {a[LEAK]:.2%}")
    if problems:
        return Verdict(False, "; ".join(problems))
    return Verdict(True, f"no held-out set got worse ({', '.join(names)})")


def table(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """The before/after lines: accuracy and regulated→contain per evaluation set (changes in points)."""
    out = [f"  {'evaluation':<18} {'rows':>9}  {'accuracy before → after':<31}  regulated→contain before → after"]
    for name in [*before, *(n for n in after if n not in before)]:
        b, a = before.get(name), after.get(name)
        rows = (a or b)["rows"] if not (a and b) or a["rows"] == b["rows"] else f"{b['rows']}→{a['rows']}"
        acc = _change(b, a, "accuracy", higher_is_better=True)
        leak = _change(b, a, LEAK, higher_is_better=False)
        note = "" if gated(name) else "  (not deciding: its rows are the training lines)"
        out.append(f"  {name:<18} {rows:>9}  {acc}  {leak}{note}".rstrip())
    return out


def _change(b: dict | None, a: dict | None, key: str, *, higher_is_better: bool) -> str:
    """'97.67% →  98.67%  +1.00 better': before → after, the change in points, better/WORSE."""
    if b is None or a is None:
        return (f"{b[key]:7.2%} → {'—':>7}" if a is None else f"{'—':>7} → {a[key]:7.2%}") + " " * 14
    delta = a[key] - b[key]
    mark = "" if abs(delta) < 1e-9 else "better" if (delta > 0) == higher_is_better else "WORSE"
    return f"{b[key]:7.2%} → {a[key]:7.2%} {delta * 100:+6.2f} {mark:<6}"


def real_trainer(clinc: Path) -> Trainer:
    missing = [m for m in ("sklearn", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        raise NumbersError(f"training needs scikit-learn and onnx ({', '.join(missing)} missing): "
                           "pip install 'warmline[train]'")
    if not clinc.is_file():
        raise NumbersError(f"no CLINC150 data at {clinc}: give its data_full.json with --clinc")

    def run(out: Path, extra: Sequence[Path]) -> dict:
        from warmline.nlu.train import train

        return train(repo(), out, clinc, extra=extra)

    return run


def retrain_command(settings, args, trainer: Trainer | None = None) -> int:
    from warmline.nlu.classify import model_dir

    if getattr(args, "out", "models/intent") not in (None, "models/intent"):
        raise NumbersError("--out is not used with --with-feedback: the candidate replaces the model serve loads "
                           "([nlu] model_dir), and only if it is no worse")
    folder = Path(os.path.expanduser(args.with_feedback)) if args.with_feedback else numbers_dir(settings) / EXPORT
    clinc = Path(args.clinc) if getattr(args, "clinc", None) else repo() / "models/intents/clinc150/data_full.json"
    lines = _feedback_lines(folder)
    evaluation = eval_keys(repo() / "models/intents/eval")
    clean = [e for e in lines if canonical(e.text) not in evaluation]
    if len(clean) < len(lines):
        print(f"left out {len(lines) - len(clean)} of the lines in {folder}: their words are evaluation rows "
              "(never trained on)")
    if not clean:
        raise NumbersError(f"no training lines left in {folder} once the evaluation rows are left out")
    target = model_dir(settings.nlu)
    installed = _card(target)
    trainer = trainer or real_trainer(clinc)
    with tempfile.TemporaryDirectory(prefix="warmline-feedback-") as staging:  # 0700: callers' words
        extra = folder
        if len(clean) < len(lines):
            extra = Path(staging)
            for intent in sorted({e.intent for e in clean}):
                write_private(extra / f"{intent}.txt", "".join(e.text + "\n" for e in clean if e.intent == intent))
        candidate = _candidate_folder(target)
        try:
            print(f"training a candidate on models/intents/train/ plus {len(clean)} feedback line"
                  f"{'s' * (len(clean) != 1)} from {folder} (a real training run takes a few minutes)…", flush=True)
            started = time.monotonic()
            card = trainer(candidate, [extra])
            IntentModel(candidate)  # it loads, and reads the words this Warmline reads
            seconds = time.monotonic() - started
            before, after, how = _compared(settings, installed, card, target, candidate, clinc,
                                           read_train_dir(repo() / "models/intents/train") + clean)
        except BaseException:
            shutil.rmtree(candidate, ignore_errors=True)
            raise
    print(f"before: the installed model {installed.get('data_version', '?')[:12]} in {target}")
    print(f"after:  the candidate {card.get('data_version', '?')[:12]}, trained in {seconds:.0f} s ({how})")
    for line in table(before, after):
        print(line)
    decided = verdict(before, after)
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "installed": decided.install,
             "reason": decided.reason, "model_dir": str(target), "feedback": str(folder), "lines": len(clean),
             "before": installed.get("data_version"), "after": card.get("data_version")}
    if not decided.install:
        shutil.rmtree(candidate, ignore_errors=True)
        _audit(settings, entry)
        print(f"warmline: not installed: {decided.reason}; the installed model in {target} is unchanged",
              file=sys.stderr)
        return 1
    backup = target.with_name(f"{target.name}.previous-{datetime.now():%Y%m%dT%H%M%S}")
    try:
        install(candidate, target, backup)
    except OSError as exc:
        shutil.rmtree(candidate, ignore_errors=True)
        raise NumbersError(f"cannot install the candidate in {target} ({exc.strerror or exc}); the installed "
                           "model is unchanged") from None
    _audit(settings, entry | {"backup": str(backup)})
    print(f"installed in {target}: {decided.reason}; the previous model is kept in {backup}; restart serve to "
          "use the new one")
    return 0


def _feedback_lines(folder: Path) -> list[Example]:
    try:
        lines = read_train_dir(folder) if folder.is_dir() else []
    except ValueError as exc:
        raise NumbersError(str(exc)) from None
    except OSError as exc:
        raise NumbersError(f"cannot read the feedback lines in {folder} ({exc.strerror or exc})") from None
    if not lines:
        raise NumbersError(f"no training lines in {folder}: accept corrections with `warmline feedback review "
                           "--by NAME --accept CALL…`, then `warmline feedback export`")
    return lines


def _card(target: Path) -> dict:
    path = target / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NumbersError(f"no installed intent model in {target} (no {CARD_FILE}): train one with `warmline "
                           "train`, or set [nlu] model_dir") from None
    except (OSError, ValueError) as exc:
        raise NumbersError(f"{path}: cannot read the installed model's card ({exc})") from None
    if not isinstance(card.get("metrics"), dict):
        raise NumbersError(f"{path}: the installed model's card has no metrics to compare with")
    return card


def _candidate_folder(target: Path) -> Path:
    """An empty folder beside the installed model (the same file system: one rename installs it)."""
    try:
        candidate = Path(tempfile.mkdtemp(prefix=f".{target.name}.candidate-", dir=target.parent))
        mode = target.stat().st_mode & 0o777
        os.chmod(candidate, mode)  # serve reads it as it read the installed one
    except OSError as exc:
        raise NumbersError(f"cannot write beside the installed model in {target.parent} ({exc.strerror or exc}): "
                           "the candidate is trained there to replace it in one rename; run as the account that "
                           "owns it, or set [nlu] model_dir to a copy it may write") from None
    return candidate


def _compared(settings, installed: dict, card: dict, target: Path, candidate: Path, clinc: Path,
              own: list[Example]) -> tuple[dict, dict, str]:
    """(before, after, how): the cards' metrics, or both models scored again at [nlu]'s thresholds."""
    box = {k: getattr(settings.nlu, k) for k in THRESHOLDS}
    if installed.get("thresholds") == box and card.get("thresholds") == box:
        return installed["metrics"], card["metrics"], f"each card's metrics, at [nlu]'s thresholds {box}"
    before, after = rescored([target, candidate], box, own, clinc)
    cv = next((n for n in card["metrics"] if n.startswith("cv_")), None)
    if cv:  # shown, not deciding
        before = {cv: installed["metrics"][cv]} | before if cv in installed["metrics"] else before
        after = {cv: card["metrics"][cv]} | after
    return before, after, (f"its card chose {card.get('thresholds')}; the installed card's are "
                           f"{installed.get('thresholds')}: both scored again at [nlu]'s {box}, the ones serve uses")


def rescored(folders: Sequence[Path], thresholds: dict, own: list[Example], clinc: Path) -> list[dict[str, dict]]:
    """Each model's metrics on the held-out sets, at one operating point, on the same rows."""
    from warmline.nlu.policy import IntentPolicy, NluSettings
    from warmline.nlu.train import evaluate

    policy = IntentPolicy(NluSettings(**thresholds))
    sets = {f"eval_{p.stem}": unseen(read_eval(p), own) for p in sorted((repo() / "models/intents/eval").glob("*.tsv"))}
    if clinc.is_file():
        sets[HELD_OUT] = read_clinc(clinc)[1]
    out = []
    for folder in folders:
        model = IntentModel(folder)
        out.append({name: evaluate(model, policy, rows) for name, rows in sets.items()})
    return out


def install(candidate: Path, target: Path, backup: Path) -> None:
    """The candidate becomes `target` in one step; the folder it replaces becomes `backup`."""
    for extra in sorted(target.iterdir()):  # what the folder holds besides the model (the package's __init__.py)
        if extra.is_file() and not (candidate / extra.name).exists():
            shutil.copy2(extra, candidate / extra.name)
    if os.geteuid() == 0:  # trained by root for a service account: keep the installed folder's owner
        st = target.stat()
        for path in [candidate, *candidate.rglob("*")]:
            os.chown(path, st.st_uid, st.st_gid)
    if _exchange(candidate, target):  # atomic: readers see the old folder or the new one, never none
        os.rename(candidate, backup)
        return
    os.rename(target, backup)  # no renameat2 here: two renames, a moment with no folder
    try:
        os.rename(candidate, target)
    except OSError:
        os.rename(backup, target)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths with Linux's renameat2(RENAME_EXCHANGE); False where it is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _audit(settings, entry: dict) -> None:
    folder = private_dir(numbers_dir(settings))
    fd = os.open(folder / AUDIT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with open(fd, "a", encoding="utf-8") as audit:
        audit.write(json.dumps(entry) + "\n")
