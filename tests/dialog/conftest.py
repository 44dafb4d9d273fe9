"""Scripted dialogues: the real dialogue, classifier, flows and a seeded SQLite CRM; the caller
is a script of turns instead of a phone (the port is the only thing not real here)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from warmline.calls.events import CallJournal
from warmline.crm.seed import seed_demo
from warmline.crm.sqlite import SqliteCrm
from warmline.dialog.dialogue import Conversation, Dialogue, Ending
from warmline.dialog.flows import Flows, load_flows, packaged_flows
from warmline.dialog.port import HungUp, Keyed, Said, Silence, Unheard
from warmline.nlu.classify import Classifier
from warmline.nlu.policy import NluSettings
from warmline.nlu.taxonomy import DEFAULT_QUEUES
from warmline.speech.prompts import Catalog, Prompt, packaged_catalog

NOW = datetime(2026, 11, 23, 10, 0)  # a Monday


@dataclass
class ScriptedCaller:
    """Answers each question with the next scripted turn: words, "keys:123#", "silence", "hangup"."""

    turns: deque
    heard: list[str] = field(default_factory=list)  # every prompt, as media names
    asked: list[str] = field(default_factory=list)
    paused: bool = False

    async def say(self, prompt: Prompt) -> bool:
        self.heard.append(prompt.describe())
        return True

    async def ask(self, prompt: Prompt, *, private: bool = False, keys: bool = True, early: bool = False):
        self.heard.append(prompt.describe())
        self.asked.append(prompt.describe())
        if not self.turns:
            return HungUp()
        turn = self.turns.popleft()
        if turn == "silence":
            return Silence()
        if turn == "hangup":
            return HungUp()
        if turn == "unheard":  # the decoder failed on what the caller said
            return Unheard("decoder exploded")
        if turn.startswith("keys:"):
            return Keyed(turn.removeprefix("keys:").rstrip("#"))
        return Said(turn)

    def pause_listening(self) -> None:
        self.paused = True


@dataclass
class Played:
    ending: Ending
    journal: CallJournal
    caller: ScriptedCaller

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.journal.events]

    def of(self, kind: str) -> list:
        return [e for e in self.journal.events if type(e).__name__ == kind]


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(NluSettings())


@pytest.fixture(scope="session")
def flows() -> Flows:
    return load_flows(packaged_flows(), set(Catalog.load(packaged_catalog()).texts))


@pytest.fixture
async def crm(tmp_path):
    path = tmp_path / "crm.sqlite3"
    seed_demo(path, NOW.date())
    store = await SqliteCrm.open(path)
    yield store
    await store.close()


@pytest.fixture
def play(crm, flows, classifier):
    async def run(turns, *, flows_=None, crm_=None, classifier_=None) -> Played:
        journal = CallJournal("c1")
        caller = ScriptedCaller(deque(turns))
        conv = Conversation(call_id="c1", journal=journal, port=caller, flows=flows_ or flows, crm=crm_ or crm,
                            classifier=classifier_ or classifier, now=NOW, queues=dict(DEFAULT_QUEUES))
        ending = await Dialogue(conv).run()
        return Played(ending, journal, caller)
    return run
