"""Replay tests: recorded ARI transcripts against the real Stasis app, without Asterisk or root."""

from __future__ import annotations

from pathlib import Path

import pytest

from .transcript import Transcript

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "replay: replays a recorded ARI transcript (no Asterisk, no root)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.replay)


@pytest.fixture
def transcript():
    """A fresh copy of a recorded fixture (tests may edit theirs)."""
    return lambda name: Transcript.load(FIXTURES / f"{name}.jsonl")
