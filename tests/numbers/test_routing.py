"""Routing overrides applied from the review's suggestions: the change, its audit line, and serve's settings."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from warmline.catalog import EVENT_KINDS
from warmline.calls.store import EventStore
from warmline.cli import main
from warmline.config import load_settings
from warmline.numbers.demo import seed
from warmline.numbers.history import Week, facts_between
from warmline.numbers.review import suggestions
from warmline.numbers.routing import AUDIT, OVERRIDES, apply_change, with_routing_overrides
from warmline.numbers.settings import NumbersError

WEEK = Week(2026, 48)


@pytest.fixture
def site(tmp_path):
    config = tmp_path / "warmline.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "events.sqlite3"}"\n[numbers]\ndir = "{tmp_path / "numbers"}"\n')
    store = EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    seed(store, WEEK, weeks=1, now=datetime(2026, 12, 2), calls_per_day=60)
    found = suggestions(facts_between(store, *WEEK.bounds()))
    store.close()
    return config, tmp_path / "numbers", found


def test_a_queue_suggestion_is_applied_with_an_audit_naming_who(site, capsys):
    config, folder, found = site
    queue = next(s for s in found if s.kind == "queue")
    assert (queue.intent, queue.target) == ("complaint", "service")
    assert load_settings(config).nlu.queues["complaint"] == "complex"
    assert main(["routing", "apply", queue.id, "--week", str(WEEK), "--by", "Pat Lee", "-c", str(config)]) == 0
    assert "complaint now goes to queue service (was default)" in capsys.readouterr().out
    assert json.loads((folder / OVERRIDES).read_text()) == {"actions": {}, "queues": {"complaint": "service"}}
    [entry] = [json.loads(line) for line in (folder / AUDIT).read_text().splitlines()]
    assert entry["by"] == "Pat Lee" and entry["suggestion"] == queue.id and entry["week"] == "2026-W48"
    assert entry["change"] == {"queues": {"complaint": "service"}} and entry["before"] is None
    assert "belonged to queue service" in entry["why"]
    # every command, serve included, now routes complaints to service
    assert with_routing_overrides(load_settings(config)).nlu.queues["complaint"] == "service"
    assert main(["routing", "list", "-c", str(config)]) == 0
    assert "Pat Lee" in capsys.readouterr().out


def test_applying_needs_a_name_and_a_real_routing_suggestion(site, capsys):
    config, folder, found = site
    queue = next(s for s in found if s.kind == "queue")
    retrain = next(s for s in found if s.kind == "retrain")
    assert main(["routing", "apply", queue.id, "--week", str(WEEK), "-c", str(config)]) == 2
    assert "--by NAME" in capsys.readouterr().err
    assert main(["routing", "apply", retrain.id, "--week", str(WEEK), "--by", "Pat", "-c", str(config)]) == 2
    assert "not a routing change" in capsys.readouterr().err
    assert main(["routing", "apply", "S-000000", "--week", str(WEEK), "--by", "Pat", "-c", str(config)]) == 2
    assert "has no suggestion S-000000" in capsys.readouterr().err
    assert not (folder / OVERRIDES).exists() and not (folder / AUDIT).exists()


def test_a_broken_overrides_file_is_one_line_with_the_fix(tmp_path):
    (tmp_path / OVERRIDES).write_text('{"queues": {"complain": "service"}}')
    with pytest.raises(NumbersError, match="unknown intent or value complain; fix or remove"):
        apply_change(tmp_path, by="x", kind="queues", intent="complaint", value="service", why="")
