"""The feedback round trip: a producer's correction → an admin's decision (audited) → a training line
→ a retrained candidate, installed only if no held-out set got worse."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import stat
from argparse import Namespace
from datetime import datetime
from pathlib import Path

import pytest
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.cli import main
from warmline.config import load_settings
from warmline.dialog.events import CallerTurn, EscalationDecided, TurnAction
from warmline.handoff.events import Disposition, DispositionRecorded
from warmline.nlu.classify import default_model_dir
from warmline.nlu.data import read_train_dir
from warmline.nlu.features import canonical
from warmline.numbers import retrain
from warmline.numbers.facts import call_facts
from warmline.numbers.feedback import AUDIT, DECISIONS, eval_keys, tag_of, trained_keys, training_lines
from warmline.numbers.retrain import LEAK, verdict
from warmline.numbers.synthetic import SyntheticCall, events_of

REPO = Path(__file__).resolve().parents[2]
T0 = 1_795_000_000.0  # 2026-11-18 (UTC)
CHARGED = "you charged me twice this month for the same thing"  # read as policy_change; it was a dispute
DENIED = "they turned down what I sent in and I think that is unfair"
EVAL_ROW = "um what's my balance"  # a row of models/intents/eval/phone.tsv (billing_inquiry)


def escalated(call_id: str, i: int, intent: str, text: str, disposition: Disposition, **kw) -> SyntheticCall:
    return SyntheticCall(call_id=call_id, start=T0 + 900 * i, intent=intent, outcome="escalated", text=text,
                         reason="regulated_intent", hold=30.0, handle=120.0, disposition=disposition, **kw)


CALLS = (
    escalated("c-charged", 1, "policy_change", CHARGED, Disposition.MISIDENTIFIED, corrected="billing_dispute"),
    escalated("c-denied", 2, "claim_status", DENIED, Disposition.MISIDENTIFIED, corrected="claim_dispute"),
    escalated("c-eval", 3, "billing_dispute", EVAL_ROW, Disposition.MISIDENTIFIED, corrected="billing_inquiry"),
    escalated("c-over", 4, "coverage_advice", "is my deductible too high", Disposition.OVER_ESCALATED),
    escalated("c-moved", 5, "file_claim", "a tree came down on the garage", Disposition.REROUTED,
              rerouted_to="claims"),
    escalated("c-fine", 6, "cancel_policy", "I want to cancel my policy", Disposition.RESOLVED),
    SyntheticCall(call_id="c-served", start=T0 + 900 * 7, intent="billing_inquiry", outcome="contained"),
)


def test_the_seeded_words_are_neither_evaluation_nor_training_rows():
    evaluation, trained = eval_keys(REPO / "models/intents/eval"), trained_keys(REPO / "models/intents/train")
    assert canonical(EVAL_ROW) in evaluation
    for words in (CHARGED, DENIED):
        assert canonical(words) not in evaluation and canonical(words) not in trained


@pytest.fixture
def site(tmp_path):
    model = tmp_path / "models" / "intent"  # a copy: the repo's installed model is never touched
    shutil.copytree(default_model_dir(), model, ignore=shutil.ignore_patterns("__pycache__"))
    config = tmp_path / "warmline.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "events.sqlite3"}"\n[numbers]\ndir = "{tmp_path / "numbers"}"\n'
                      f'[nlu]\nmodel_dir = "{model}"\n')
    store = EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    for call in CALLS:
        for event in events_of(call):
            store.record(event)
    store.close()
    return config, tmp_path / "numbers", model


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


def private(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- review and export ---------------------------------------------------------------------------------


def test_a_correction_flows_through_review_into_a_training_line(site, capsys):
    config, folder, _ = site
    code, out, _ = cli(capsys, "feedback", "review", "-c", str(config))
    assert code == 0
    pending, others = out.split("not intent corrections")
    assert pending.startswith("3 corrections to review (none decided yet):")
    day = datetime.fromtimestamp(T0 + 900).date()  # the box's local date
    assert f'c-charged  {day}  policy_change → billing_dispute  "{CHARGED}"  tagged by dana (Dana Reyes)' in pending
    assert "c-denied" in pending and "c-eval" in pending
    assert "over_escalated: coverage_advice, the AI could have served it" in others
    assert "rerouted: file_claim, queue claims" in others
    assert "never training lines" in others and "c-fine" not in out and "c-served" not in out

    code, out, _ = cli(capsys, "feedback", "review", "--by", "Pat Lee", "--accept", "c-charged", "c-eval",
                       "--reject", "c-denied", "-c", str(config))
    assert code == 0
    assert "accepted c-charged: policy_change → billing_dispute" in out and "rejected c-denied" in out
    audit = [json.loads(line) for line in (folder / AUDIT).read_text().splitlines()]
    assert [(e["by"], e["decision"], e["call"], e["reading"], e["correction"], e["before"]) for e in audit] == [
        ("Pat Lee", "accepted", "c-charged", "policy_change", "billing_dispute", None),
        ("Pat Lee", "accepted", "c-eval", "billing_dispute", "billing_inquiry", None),
        ("Pat Lee", "rejected", "c-denied", "claim_status", "claim_dispute", None)]
    assert all(e["at"] and e["tagged_by"] == "dana" for e in audit)
    assert CHARGED not in (folder / AUDIT).read_text()  # the audit names calls, never a caller's words
    assert private(folder) == 0o700 and private(folder / AUDIT) == private(folder / DECISIONS) == 0o600

    code, out, _ = cli(capsys, "feedback", "review", "-c", str(config))
    assert out.startswith("0 corrections to review (2 accepted, 1 rejected):")

    code, out, _ = cli(capsys, "feedback", "export", "-c", str(config))
    assert code == 0
    exported = folder / "feedback"
    assert "exported 1 training line from 2 accepted corrections" in out and "(billing_dispute 1)" in out
    assert "skipped: 1 in an evaluation set (never trained on)" in out
    assert sorted(p.name for p in exported.iterdir()) == ["billing_dispute.txt"]
    assert lines_of(exported / "billing_dispute.txt") == [CHARGED]
    assert private(exported) == 0o700 and private(exported / "billing_dispute.txt") == 0o600
    # the folder is a training source as models/intents/train is
    assert [(e.text, e.intent) for e in read_train_dir(exported)] == [(CHARGED, "billing_dispute")]

    # changing one's mind is audited, and the next export follows it
    assert cli(capsys, "feedback", "review", "--by", "Pat Lee", "--reject", "c-charged", "-c", str(config))[0] == 0
    assert json.loads((folder / AUDIT).read_text().splitlines()[-1])["before"] == "accepted"
    code, out, _ = cli(capsys, "feedback", "export", "-c", str(config))
    assert "exported 0 training lines" in out and list(exported.iterdir()) == []


def test_decisions_need_a_name_a_known_call_and_an_intent_correction(site, capsys):
    config, folder, _ = site
    for argv, says in (
        (["--accept", "c-charged"], "say who decides: --by NAME"),
        (["--by", "Pat", "--accept", "c-nope"], "no stored call c-nope"),
        (["--by", "Pat", "--accept", "c-over"], "over_escalated is not an intent correction"),
        (["--by", "Pat", "--reject", "c-moved"], "rerouted is not an intent correction"),
        (["--by", "Pat", "--accept", "c-fine"], "c-fine has no producer's correction"),
        (["--by", "Pat", "--accept", "c-charged", "--reject", "c-charged"], "both accepted and rejected"),
        (["--by", "Pat", "--accept"], "name the calls"),
        (["--by", "Pat", "--accept", "c-charged", "c-nope"], "no stored call c-nope"),  # all or nothing
    ):
        code, out, err = cli(capsys, "feedback", "review", *argv, "-c", str(config))
        assert code == 2 and says in err and err.count("\n") == 1 and not out, (argv, err)
    assert not (folder / AUDIT).exists() and not (folder / DECISIONS).exists()
    code, _, err = cli(capsys, "feedback", "review", "--since", "last week", "-c", str(config))
    assert code == 2 and "write it as YYYY-MM-DD" in err


def test_export_never_writes_into_a_folder_it_did_not_write(site, capsys, tmp_path):
    config, _, _ = site
    train_copy = tmp_path / "train"
    train_copy.mkdir()
    (train_copy / "id_card.txt").write_text("I need my card\n")
    code, _, err = cli(capsys, "feedback", "export", "--out", str(train_copy), "-c", str(config))
    assert code == 2 and "not written by `warmline feedback export`" in err
    assert (train_copy / "id_card.txt").read_text() == "I need my card\n"


def test_lines_skip_evaluation_rows_duplicates_and_what_is_trained_already():
    trained = {canonical("I need my ID card"): {"id_card"}, canonical("what is my deductible"): {"policy_details"}}
    export = training_lines(
        [("billing_dispute", CHARGED), ("billing_dispute", "You charged me twice this month, for the same thing!"),
         ("billing_inquiry", EVAL_ROW), ("id_card", "i need my id card"), ("coverage_advice", "What is my deductible"),
         ("claim_dispute", "same words"), ("file_claim", "same words"), ("make_payment", "  # pay\n now  ")],
        {canonical(EVAL_ROW)}, trained)
    assert export.lines == {"billing_dispute": [CHARGED], "coverage_advice": ["What is my deductible"],
                            "make_payment": ["pay now"]}
    assert (export.in_eval, export.duplicates, export.already_trained, export.contradicting, export.relabels) == (
        1, 1, 1, 2, 1)


def test_the_words_are_those_of_the_turn_the_ai_misread():
    """A routine request served, then a second one escalated and tagged: the line is the second one's words."""
    call = escalated("c-two", 1, "billing_inquiry", "what's my balance", Disposition.MISIDENTIFIED,
                     corrected="billing_dispute")
    events = [e for e in events_of(call) if not isinstance(e, (EscalationDecided, DispositionRecorded))]
    at = events[-1].at
    events[6:6] = [CallerTurn(call_id="c-two", at=at, turn=2, text="and this fee is not right", answer=False,
                              intent="policy_change", confidence=0.7, action=TurnAction.ESCALATE, entities=(),
                              sentiment=-0.3),
                   EscalationDecided(call_id="c-two", at=at, reason="regulated_intent", intent="policy_change",
                                     detail="", final=False, queue="service")]
    events.append(DispositionRecorded(call_id="c-two", at=at + 1, producer="Dana Reyes", by="dana",
                                      disposition=Disposition.MISIDENTIFIED, caller_repeated=False,
                                      intent="billing_dispute"))
    tag = tag_of(call_facts("c-two", events))
    assert (tag.reading, tag.words, tag.intent, tag.problem) == ("policy_change", "and this fee is not right",
                                                                 "billing_dispute", "")


# --- the retrain's decision -------------------------------------------------------------------------------


def metrics(acc_phone=0.9767, leak_phone=0.0027, acc_chat=0.9223, leak_chat=0.0054, acc_cv=0.9132, rows=731):
    return {"cv_5fold": {"rows": 9063, "accuracy": acc_cv, LEAK: 0.0086},
            "clinc150_oos_test": {"rows": 1000, "accuracy": 0.83, LEAK: 0.0},
            "eval_phone": {"rows": rows, "accuracy": acc_phone, LEAK: leak_phone},
            "eval_chat": {"rows": 708, "accuracy": acc_chat, LEAK: leak_chat}}


@pytest.mark.parametrize("after, install, reason", [
    (metrics(), True, "no held-out set got worse"),
    (metrics(acc_phone=0.9781, leak_chat=0.0040), True, "no held-out set got worse"),
    (metrics(acc_cv=0.90), True, "no held-out set got worse"),  # CV's rows are the training lines: shown only
    (metrics(acc_chat=0.9209), False, "eval_chat accuracy fell 92.23% → 92.09%"),
    (metrics(leak_phone=0.0041), False, "eval_phone regulated→contain rose 0.27% → 0.41%"),
    (metrics(acc_phone=0.99, leak_phone=0.0028), False, "eval_phone regulated→contain rose 0.27% → 0.28%"),
    (metrics(acc_chat=0.91, leak_phone=0.01), False, "eval_chat accuracy fell 92.23% → 91.00%; eval_phone "
                                                     "regulated→contain rose 0.27% → 1.00%"),
    (metrics(rows=730), False, "eval_phone is not comparable (731 rows scored for the installed model, 730"),
    ({k: v for k, v in metrics().items() if k != "eval_chat"}, False, "eval_chat was not scored"),
])
def test_install_only_if_no_held_out_set_got_worse(after, install, reason):
    decided = verdict(metrics(), after)
    assert decided.install is install and decided.reason.startswith(reason)


def test_a_card_without_held_out_sets_installs_nothing():
    assert not verdict({"cv_5fold": metrics()["cv_5fold"]}, metrics()).install


# --- the retrain, end to end, with the training replaced by a fake ----------------------------------------


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class FakeTrainer:
    """Writes a loadable candidate (the installed model's files) whose card says what the test wants."""

    def __init__(self, installed: Path, change) -> None:
        self.installed, self.change, self.seen = installed, change, []

    def __call__(self, out: Path, extra) -> dict:
        self.seen += [(e.text, e.intent) for folder in extra for e in read_train_dir(folder)]
        for name in ("intent.onnx", "features.json"):
            shutil.copy(self.installed / name, out / name)
        card = copy.deepcopy(json.loads((self.installed / "card.json").read_text()))
        card["data_version"] = "c0ffee" * 10
        self.change(card["metrics"])
        (out / "card.json").write_text(json.dumps(card))
        return card


@pytest.fixture
def exported(site, capsys):
    config, _, model = site
    cli(capsys, "feedback", "review", "--by", "Pat Lee", "--accept", "c-charged", "-c", str(config))
    cli(capsys, "feedback", "export", "-c", str(config))
    return site


def test_a_candidate_that_leaks_more_is_refused_and_the_installed_model_is_untouched(exported, capsys):
    config, _, model = exported
    before = tree(model)
    fake = FakeTrainer(model, lambda m: m["eval_phone"].update({LEAK: m["eval_phone"][LEAK] + 0.0014,
                                                                "accuracy": m["eval_phone"]["accuracy"] + 0.01}))
    args = Namespace(with_feedback="", out="models/intent", clinc=None)
    code = retrain.retrain_command(load_settings(config), args, trainer=fake)
    out, err = capsys.readouterr()
    assert code == 1
    assert fake.seen == [(CHARGED, "billing_dispute")]  # the producer's correction reached the training
    assert err == (f"warmline: not installed: eval_phone regulated→contain rose 0.27% → 0.41%; the installed model "
                   f"in {model} is unchanged\n")
    assert "eval_phone               731   97.67% →  98.67%  +1.00 better    0.27% →   0.41%  +0.14 WORSE" in out
    assert tree(model) == before
    assert sorted(p.name for p in model.parent.iterdir()) == ["intent"]  # no candidate, no backup left behind
    [entry] = [json.loads(line) for line in (config.parent / "numbers" / retrain.AUDIT).read_text().splitlines()]
    assert entry["installed"] is False and "eval_phone" in entry["reason"]


def test_a_better_candidate_is_installed_and_the_old_model_kept(exported, capsys, monkeypatch):
    config, folder, model = exported
    before = tree(model)
    fake = FakeTrainer(model, lambda m: m["eval_chat"].update({"accuracy": m["eval_chat"]["accuracy"] + 0.0014}))
    monkeypatch.setattr(retrain, "real_trainer", lambda clinc: fake)
    code, out, err = cli(capsys, "train", "--with-feedback", str(folder / "feedback"), "-c", str(config))
    assert code == 0 and not err
    assert "before: the installed model 74f3008a3e55" in out and "after:  the candidate c0ffeec0ffee" in out
    table = out.split("regulated→contain before → after")[1]
    for row in ("cv_5fold", "clinc150_oos_test", "eval_phone", "eval_chat"):
        assert row in table
    assert "eval_chat                708   92.23% →  92.37%  +0.14 better    0.54% →   0.54%  +0.00" in table
    assert "(not deciding: its rows are the training lines)" in table
    assert f"installed in {model}" in out
    [backup] = [p for p in model.parent.iterdir() if p.name.startswith("intent.previous-")]
    assert tree(backup) == before
    assert json.loads((model / "card.json").read_text())["data_version"] == "c0ffee" * 10
    assert (model / "__init__.py").is_file()  # what the folder held besides the model comes along
    assert sorted(p.name for p in model.parent.iterdir()) == ["intent", backup.name]


def test_serve_s_thresholds_decide_when_the_candidate_chose_others(exported, capsys, monkeypatch):
    config, _, model = exported
    config.write_text(config.read_text() + "contain_threshold = 0.4\n")
    fake = FakeTrainer(model, lambda m: None)
    monkeypatch.setattr(retrain, "real_trainer", lambda clinc: fake)
    code, out, _ = cli(capsys, "train", "--with-feedback", "-c", str(config))
    assert "both scored again at [nlu]'s {'contain_threshold': 0.4" in out
    assert code == 0  # the same model files: equal at any operating point


def test_the_retrain_leaves_out_evaluation_rows_and_needs_lines(site, capsys, monkeypatch, tmp_path):
    config, _, model = site
    lines = tmp_path / "lines"
    lines.mkdir()
    code, _, err = cli(capsys, "train", "--with-feedback", str(lines), "-c", str(config))
    assert code == 2 and "no training lines in" in err
    (lines / "billing_inquiry.txt").write_text(f"{EVAL_ROW}\nI keep getting billed on the wrong day\n")
    fake = FakeTrainer(model, lambda m: None)
    monkeypatch.setattr(retrain, "real_trainer", lambda clinc: fake)
    code, out, _ = cli(capsys, "train", "--with-feedback", str(lines), "-c", str(config))
    assert code == 0 and "left out 1 of the lines" in out
    assert fake.seen == [("I keep getting billed on the wrong day", "billing_inquiry")]
    code, _, err = cli(capsys, "train", "--with-feedback", str(lines), "--out", "elsewhere", "-c", str(config))
    assert code == 2 and "--out is not used with --with-feedback" in err
