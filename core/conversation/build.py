"""Assembling the conversation for `serve` and the demo: flows, CRM, classifier, sessions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from warmline.calls.events import CallJournal
from warmline.calls.session import CallInfo, SessionFactory
from warmline.conversation.session import DialogSession, dialog_sessions, now
from warmline.crm.base import Crm
from warmline.dialog.dialogue import Conversation, Dialogue
from warmline.dialog.flows import Flows, load_flows, packaged_flows
from warmline.dialog.settings import DialogSettings
from warmline.nlu.classify import Classifier
from warmline.nlu.policy import NluSettings
from warmline.nlu.taxonomy import DEFAULT_QUEUES
from warmline.speech.prompts import Catalog, Prompt
from warmline.speech.services import SpeechServices


def flows_path(settings: DialogSettings) -> Path:
    return Path(os.path.expanduser(settings.flows)) if settings.flows else packaged_flows()


def load_checked_flows(settings: DialogSettings, catalog: Catalog) -> Flows:
    return load_flows(flows_path(settings), set(catalog.texts))


@dataclass(frozen=True, slots=True)
class ConversationKit:
    """What every call's dialogue shares; built once at start-up."""

    flows: Flows
    crm: Crm
    classifier: Classifier
    nlu: NluSettings

    def dialogue(self, info: CallInfo, journal: CallJournal, port: DialogSession) -> Dialogue:
        queues = {**DEFAULT_QUEUES, **self.nlu.queues}
        return Dialogue(Conversation(call_id=info.call_id, journal=journal, port=port, flows=self.flows,
                                     crm=self.crm, classifier=self.classifier, now=now(), queues=queues))

    def sessions(self, services: SpeechServices, *, barge_in: bool = True) -> SessionFactory:
        return dialog_sessions(services, self.dialogue, barge_in=barge_in, hold_on=Prompt.say(self.flows.prompts.hold_on))


async def open_conversation(settings) -> ConversationKit:
    """Flows checked against the catalog, the CRM opened, the intent model loaded: before any call."""
    from warmline.crm.settings import open_crm
    from warmline.speech.prompts import load_catalog

    flows = load_checked_flows(settings.dialog, load_catalog(settings.prompts))
    classifier = Classifier(settings.nlu)
    crm = await open_crm(settings.crm)
    return ConversationKit(flows, crm, classifier, settings.nlu)
