"""The conversation of one call, turn by turn: greet, understand, serve or hand off, goodbye.

`Dialogue.run` drives the call through a CallerPort and returns how it ended: contained (hung
up happy, or passed to the payment line), escalated (with a reason code and a queue), or
abandoned. Every turn, check, action and decision goes into the call's journal as it happens.
Anything that ends the call early — a trigger firing deep inside a flow, a hang-up, a CRM that
does not answer — unwinds as `CallOver`, so flows read as straight lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, TypeVar

from warmline.calls.events import CallEvent, CallJournal, coerce_enums
from warmline.crm.base import Crm, CrmError
from warmline.dialog import answers, survey
from warmline.dialog.events import (
    CallerTurn,
    ConversationEnded,
    ConversationOutcome,
    EscalationDecided,
    IdentityChecked,
    IntentResolved,
    KeysPressed,
    TurnAction,
    VerifyFailure,
    VerifyMethod,
)
from warmline.dialog.flows import Flows, SurveyAfterCall
from warmline.dialog.identity import UNVERIFIED, Identity
from warmline.dialog.port import (
    CallerPort,
    HungUp,
    Keyed,
    Reply,
    Said,
    Silence,
    Unheard,
)
from warmline.dialog.steps import STEPS, Missing, NeedsStaff, Transfer, Unresolved
from warmline.dialog.triggers import Escalation, Reason, Triggers, Turn
from warmline.nlu.classify import Classification, Classifier
from warmline.speech.prompts import Prompt

log = logging.getLogger(__name__)
T = TypeVar("T")

LICENSED_QUEUES = {"licensed", "retention"}


@dataclass(frozen=True, slots=True)
class Ending:
    outcome: ConversationOutcome
    target: str | None = None  # where the caller goes next: a queue, "payment", or None (hang up)
    escalation: Escalation | None = None

    def __post_init__(self) -> None:
        coerce_enums(self)  # callers outside the dialogue may still pass the plain string


ABANDONED = Ending(ConversationOutcome.ABANDONED)


@dataclass(frozen=True, slots=True)
class Restated:
    """'No, I wanted to know …': not answered, and the caller's request said again."""
    text: str


class CallOver(Exception):
    """Unwinds the dialogue from wherever the call's fate was decided."""

    def __init__(self, ending: Ending) -> None:
        super().__init__(ending.outcome)
        self.ending = ending


def _prompt(what: Prompt | str) -> Prompt:
    return what if isinstance(what, Prompt) else Prompt.say(what)


def _then(first: str, prompt: Prompt) -> Prompt:
    return Prompt.say(first, *prompt.media, barge_in=prompt.barge_in)


class Conversation:
    """What flows and steps share on one call: the port, the CRM, the triggers, the caller's state."""

    def __init__(self, *, call_id: str, journal: CallJournal, port: CallerPort, flows: Flows, crm: Crm,
                 classifier: Classifier, now: datetime, queues: dict[str, str]) -> None:
        self.call_id, self.journal, self.port, self.flows, self.crm = call_id, journal, port, flows, crm
        self.classifier = classifier
        self.now, self.today = now, now.date()
        self.queues = queues
        self.triggers = Triggers(flows.triggers)
        self.identity: Identity = UNVERIFIED
        self.intent: str | None = None
        self.request_text = ""
        self.request_field: str | None = None
        self.turns = 0

    # --- journal ------------------------------------------------------------------------------

    def emit(self, event: CallEvent) -> None:
        self.journal.emit(event)

    # --- speaking and listening -----------------------------------------------------------------

    async def say(self, what: Prompt | str) -> None:
        if not await self.port.say(_prompt(what)):
            raise CallOver(ABANDONED)

    async def listen(self, question: Prompt | str, *, private: bool = False, keys: bool = True,
                     early: bool = False) -> Said | Keyed:
        """Ask until the caller says or keys something; silence, 0 and undecodable speech are handled
        here. keys=False: one key is the whole answer (0 escalates at once); early: words said over
        the greeting answer this question."""
        prompt = _prompt(question)
        while True:
            reply: Reply = await self.port.ask(prompt, private=private, keys=keys, early=early)
            early = False
            match reply:
                case Unheard(error):
                    self.escalate_if(self.triggers.on_system_error(f"speech not decoded ({error})"))
                case HungUp():
                    raise CallOver(ABANDONED)
                case Silence():
                    self.escalate_if(self.triggers.on_no_input())
                    prompt = _then(self.flows.prompts.still_there, _prompt(question))
                case Keyed(digits):
                    self.emit(KeysPressed(call_id=self.call_id, digits="*" * len(digits) if private else digits))
                    if digits == "0":
                        self.escalate_if(self.triggers.on_dtmf("0"))
                    return reply
                case Said():
                    return reply

    async def ask(self, question: Prompt | str, parse: Callable[[Said | Keyed], T | None], *,
                  private: bool = False, keys: bool = True) -> T:
        """A question with a specific answer (a date, yes/no...): asked again until it fits."""
        prompt = _prompt(question)
        while True:
            reply = await self.listen(prompt, private=private, keys=keys)
            if isinstance(reply, Said):
                self.hear_answer(reply.text)
            value = parse(reply)
            if value is not None:
                self.triggers.on_matched()
                return value
            self.escalate_if(self.triggers.on_no_match())
            prompt = _then(self.flows.prompts.didnt_catch, _prompt(question))

    async def confirm(self, question: Prompt | str) -> bool:
        return await self.ask(question, answers.yes_no, keys=False)

    async def was_answered(self) -> tuple[bool, str]:
        """'Did that answer your question?': yes or no, and the words of the answer that decided."""
        said: list[str] = []

        def parse(reply: Said | Keyed) -> bool | None:
            said.append(reply.text if isinstance(reply, Said) else "")
            return answers.yes_no(reply)

        helped = await self.ask(self.flows.prompts.did_that_help, parse, keys=False)
        return helped, said[-1]

    # --- understanding --------------------------------------------------------------------------

    def understand(self, text: str, *, answer: bool = False) -> tuple[Classification, Turn]:
        result = self.classifier.classify(text)
        self.turns += 1
        action = TurnAction(result.action)
        self.emit(CallerTurn(call_id=self.call_id, turn=self.turns, text=result.text, answer=answer,
                             intent=result.intent, confidence=result.confidence, action=action,
                             entities=tuple((e["kind"], e["value"]) for e in result.entities),
                             sentiment=result.sentiment))
        return result, Turn(text=result.text, intent=result.intent, confidence=result.confidence,
                            action=action, sentiment=result.sentiment)

    def hear_request(self, text: str) -> Classification:
        result, turn = self.understand(text)
        self.escalate_if(self.triggers.on_turn(turn))
        return result

    def hear_answer(self, text: str) -> None:
        """An answer to a specific question can still ask for a person, opt out, or show anger."""
        _, turn = self.understand(text, answer=True)
        self.escalate_if(self.triggers.on_answer(turn))

    # --- the CRM --------------------------------------------------------------------------------

    async def read(self, pending, action: str = "crm_read"):
        """Await a CRM call; a failure hands the caller to a person (a flow cannot go on without it)."""
        try:
            return await pending
        except CrmError as exc:
            log.warning("CRM %s failed: %s", action, exc)
            self.escalate_if(self.triggers.on_action_failed(self.intent or "", action))
            raise CallOver(self.escalation(Escalation(Reason.ACTION_FAILED, self.intent, f"{action} failed")))

    async def write(self, action: str, pending):
        return await self.read(pending, action)

    async def verification_failed(self, attempt: int, why: VerifyFailure, prompt: str | None) -> None:
        self.emit(IdentityChecked(call_id=self.call_id, verified=False, method=VerifyMethod.NONE, attempt=attempt,
                                  contact_id=None, policy_id=None, name="", why=why))
        self.escalate_if(self.triggers.on_verification(False))
        if prompt:
            await self.say(prompt)

    def out_of_attempts(self) -> "CallOver":
        return CallOver(self.escalation(Escalation(Reason.IDENTITY_NOT_VERIFIED, self.intent, "attempts used up")))

    # --- endings --------------------------------------------------------------------------------

    def escalate_if(self, escalation: Escalation | None) -> None:
        if escalation is not None:
            raise CallOver(self.escalation(escalation))

    def escalation(self, esc: Escalation) -> Ending:
        queue = self.queue_for(esc)
        self.emit(EscalationDecided(call_id=self.call_id, reason=esc.reason, intent=esc.intent, detail=esc.detail,
                                    final=esc.final, queue=queue))
        return Ending(ConversationOutcome.ESCALATED, queue, esc)

    def queue_for(self, esc: Escalation) -> str:
        if esc.reason == Reason.REGULATED_INTENT and esc.intent in self.queues:
            return self.queues[esc.intent]
        return self.flows.reason_queues.get(str(esc.reason), "service")


class Dialogue:
    def __init__(self, conversation: Conversation) -> None:
        self.conv = conversation
        self.intents: list[str] = []

    async def run(self) -> Ending:
        conv = self.conv
        try:
            await conv.say(Prompt.say(conv.flows.prompts.greeting, barge_in=False))  # the AI disclosure, whole
            ending = await self._serve()
        except CallOver as over:
            ending = over.ending
        if ending.outcome == ConversationOutcome.ESCALATED:
            await self._announce_transfer(ending)
        conv.emit(ConversationEnded(call_id=conv.call_id, outcome=ending.outcome, intents=tuple(self.intents)))
        return ending

    async def _serve(self) -> Ending:
        prompts = self.conv.flows.prompts
        question: str = prompts.open_question
        pending: Said | None = None
        first = True  # the open question after the greeting: what the caller said over it answers it
        while True:
            reply = pending or await self.conv.listen(question, keys=False, early=first)
            pending, first = None, False
            if isinstance(reply, Keyed):  # keys where words were expected (0 was handled by listen)
                self.conv.escalate_if(self.conv.triggers.on_no_match())
                question = prompts.clarify
                continue
            resolved = await self._request(reply.text)
            if resolved is None:
                question = prompts.clarify
                continue
            if isinstance(resolved, Ending):
                return resolved
            if isinstance(resolved, Restated):
                pending = Said(resolved.text)
                continue
            if not resolved:
                question = prompts.clarify
                continue
            after = await self.conv.listen(prompts.anything_else, keys=False)
            if isinstance(after, Said) and answers.is_done(after.text):
                self.conv.understand(after.text, answer=True)
                await self._goodbye()
                return Ending(ConversationOutcome.CONTAINED)
            if isinstance(after, Said) and answers.yes_no(after) is True and len(after.text.split()) <= 3:
                self.conv.understand(after.text, answer=True)
                question = prompts.what_else
                continue
            pending = after if isinstance(after, Said) else None
            question = prompts.open_question

    async def _goodbye(self) -> None:
        """The survey first when the flow file asks for it: a caller who hangs up on the survey or
        its goodbye was still served (contained, not abandoned)."""
        goodbye = self.conv.flows.prompts.goodbye
        if not self.conv.flows.survey.asks_after(SurveyAfterCall.CONTAINED):
            await self.conv.say(goodbye)
        elif await survey.ask_after_call(self.conv):
            await self.conv.port.say(_prompt(goodbye))

    async def _request(self, text: str) -> bool | Restated | Ending | None:
        """One request: None = not understood yet; True/False = resolved or not (Restated: not, and
        said again); Ending = done."""
        conv = self.conv
        result = conv.hear_request(text)
        if result.action == TurnAction.CLARIFY:
            return None
        self.intents.append(result.intent)
        conv.intent = result.intent
        if result.action == TurnAction.ESCALATE:  # a routine reading with a regulated one close behind
            raise CallOver(conv.escalation(Escalation(Reason.REGULATED_INTENT, result.intent,
                                                      "regulated reading close behind", False)))
        flow = conv.flows.intents.get(result.intent)
        if flow is None:
            raise CallOver(conv.escalation(Escalation(Reason.RESOLUTION_FAILED, result.intent, "no flow for intent")))
        conv.request_text, conv.request_field = text, answers.contact_field(Said(text))
        outcome = await self._run_flow(flow)
        if isinstance(outcome, Ending):
            return outcome
        resolved = outcome is True
        conv.emit(IntentResolved(call_id=conv.call_id, intent=result.intent, resolved=resolved))
        conv.escalate_if(conv.triggers.on_resolution(result.intent, resolved))
        return outcome

    async def _answered(self) -> bool | Restated:
        """A 'no' that says what the caller asked instead is heard as their request again (the
        model and the regulated-topic veto read it afresh: a licensed question the first turn hid
        reaches a person); a 'no, that's not what I asked' goes to a person at once."""
        conv = self.conv
        helped, words = await conv.was_answered()
        if helped:
            return True
        if answers.misunderstood(words):
            raise CallOver(conv.escalation(Escalation(Reason.RESOLUTION_FAILED, conv.intent,
                                                      "caller said the answer was not to their question")))
        again = answers.restated(words)
        return Restated(again) if again else False

    async def _run_flow(self, flow) -> bool | Restated | Ending:
        conv = self.conv
        for step in flow.steps:
            outcome = await STEPS[step.name](conv, step.options)
            match outcome:
                case Transfer(target):
                    return Ending(ConversationOutcome.CONTAINED, target)
                case NeedsStaff(why):
                    raise CallOver(conv.escalation(Escalation(Reason.RESOLUTION_FAILED, conv.intent, why)))
                case Missing(what):
                    conv.escalate_if(conv.triggers.on_crm_missing(conv.intent, what))
                    return False
                case Unresolved():
                    return False
        return await self._answered() if flow.confirm else True

    async def _announce_transfer(self, ending: Ending) -> None:
        prompts = self.conv.flows.prompts
        key = prompts.to_licensed if ending.target in LICENSED_QUEUES else prompts.to_person
        try:
            await self.conv.port.say(Prompt.say(key, barge_in=False))
        except Exception:  # the hand-off goes ahead whatever happened to the announcement
            log.exception("transfer announcement failed")
