"""Where each call's screen pop is, from the call's events alone (sans-IO: events in, views out).

The pop reaches a producer before their phone rings: on TransferPlanned it goes to the first
producer to be rung (ProducerDialled comes after the leg is created, and the ring after the
dial), and when one passes it moves on at once to the next in the plan; ProducerDialled confirms
(or corrects) who is being rung. It follows the call to a queue agent (QueueAgentAnswered,
mapped to a producer by name) and to the call-back list (CallbackRequested). The producer the
caller was bridged to owes a disposition once Warmline's part of the call has ended.

Kinds are matched by name, as the event store does, so kinds added by the PBX side (queue agent,
call-back, supervision) are read here without importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from warmline.calls.events import CallEvent


class PopStatus(StrEnum):
    """A producer's view of one call."""

    RINGING = "ringing"  # ringing you (or about to: the pop comes first)
    ANSWERED = "answered"  # you picked up and hear the whisper: press 1 to accept
    PASSED = "passed"  # you declined, were busy, or did not answer
    CALLER_GONE = "caller_gone"  # the caller hung up before you took them
    BRIDGED = "bridged"  # you accepted: you are with the caller
    WRAP_UP = "wrap_up"  # the call is handed over: tag it
    DONE = "done"  # tagged


OPEN = frozenset({PopStatus.RINGING, PopStatus.ANSWERED, PopStatus.BRIDGED, PopStatus.WRAP_UP})


PBX_STATES = frozenset({"busy", "offline", "dnd"})  # routing.why_not's answers that come from the phone


class Phase(StrEnum):
    """Where the call is, for the supervisors' board."""

    WITH_AI = "with_ai"
    ON_HOLD = "on_hold"  # payload stored, waiting for a person
    RINGING = "ringing"
    WITH_PRODUCER = "with_producer"
    IN_QUEUE = "in_queue"  # gone on to the PBX's queue
    CALLBACK = "callback"  # left in the call-back list
    ENDED = "ended"


@dataclass
class CallCard:
    call_id: str
    started_at: float
    phase: Phase = Phase.WITH_AI
    intent: str = ""
    turns: int = 0
    payload: str = ""  # the sealed HandoffPayload JSON, once stored
    queue: str = ""
    ring: tuple[str, ...] = ()
    holding_since: float = 0.0
    producer: str = ""  # who has the pop now
    bridged_to: str = ""
    bridged_at: float = 0.0
    ended_at: float = 0.0
    statuses: dict[str, PopStatus] = field(default_factory=dict)
    changed_at: dict[str, float] = field(default_factory=dict)
    lost_why: dict[str, str] = field(default_factory=dict)
    supervisors: list[tuple[str, str]] = field(default_factory=list)
    taken_over_by: str = ""

    @property
    def ended(self) -> bool:
        return self.ended_at > 0

    def status(self, producer: str) -> PopStatus | None:
        return self.statuses.get(producer)

    def on_board(self) -> bool:
        """In progress, for the board: not ended, or its caller still talking to a person (a producer
        in wrap-up is on the board's producer list, not on a call)."""
        if not self.ended:
            return True
        return bool(self.bridged_to) and self.statuses.get(self.bridged_to) == PopStatus.BRIDGED


@dataclass(frozen=True, slots=True)
class Change:
    """What one event changed: whose views, and who now owes a disposition."""

    call_id: str
    producers: frozenset[str] = frozenset()
    wrap_up: tuple[str, ...] = ()
    callback: bool = False


class PopRouter:
    def __init__(self) -> None:
        self.calls: dict[str, CallCard] = {}
        # what the PBX last said of each producer's phone when a transfer was planned (dnd, busy...)
        self.presence: dict[str, tuple[str, float]] = {}
        self._handlers: dict[str, Callable[[CallCard, Any], set[str] | Change]] = {
            "CallStarted": self._started, "CallerTurn": self._turn, "HandoffPrepared": self._prepared,
            "TransferPlanned": self._planned, "ProducerDialled": self._dialled, "ProducerRinging": self._ringing,
            "ProducerAnswered": self._answered, "ProducerLost": self._lost, "TransferBridged": self._bridged,
            "QueueAgentAnswered": self._queue_agent, "CallbackRequested": self._callback,
            "SupervisorJoined": self._supervisor, "CallTakenOver": self._taken_over,
            "DispositionRecorded": self._disposed, "CallEnded": self._ended, "TalkEnded": self._talk_ended,
        }

    def apply(self, event: CallEvent) -> Change | None:
        """One event of any call; None when it changes nothing a person sees."""
        handler = self._handlers.get(type(event).__name__)
        if handler is None:
            return None
        card = self.calls.get(event.call_id)
        if card is None:
            card = self.calls[event.call_id] = CallCard(event.call_id, event.at)
        result = handler(card, event)
        return result if isinstance(result, Change) else Change(event.call_id, frozenset(result))

    # --- reading --------------------------------------------------------------------------------

    def handed_to(self, call_id: str, producer: str) -> bool:
        card = self.calls.get(call_id)
        return card is not None and producer in card.statuses

    def pops_of(self, producer: str) -> list[CallCard]:
        """The calls this producer has (or had) a pop for and has not tagged, newest first."""
        mine = [c for c in self.calls.values() if c.statuses.get(producer) not in (None, PopStatus.DONE)]
        return sorted(mine, key=lambda c: -c.changed_at.get(producer, 0.0))

    def board(self) -> list[CallCard]:
        return sorted((c for c in self.calls.values() if c.on_board()), key=lambda c: c.started_at)

    def producer_state(self, producer: str) -> PopStatus | None:
        """The most pressing open status this producer has on any call (for the board)."""
        order = (PopStatus.BRIDGED, PopStatus.ANSWERED, PopStatus.RINGING, PopStatus.WRAP_UP)
        have = {c.statuses.get(producer) for c in self.calls.values()}
        return next((s for s in order if s in have), None)

    def forget_before(self, when: float) -> list[str]:
        """Drop calls that ended before `when` and owe nothing: memory stays bounded."""
        stale = [cid for cid, c in self.calls.items() if c.ended and c.ended_at < when
                 and not any(s in OPEN for s in c.statuses.values())]
        for cid in stale:
            del self.calls[cid]
        return stale

    # --- the events -----------------------------------------------------------------------------

    def _set(self, card: CallCard, producer: str, status: PopStatus, at: float) -> None:
        card.statuses[producer] = status
        card.changed_at[producer] = at

    def _pop(self, card: CallCard, producer: str, at: float) -> set[str]:
        """The pop goes to this producer (ringing them, or about to)."""
        if not producer:
            return set()
        card.producer = producer
        card.phase = Phase.RINGING
        if card.statuses.get(producer) != PopStatus.RINGING:
            self._set(card, producer, PopStatus.RINGING, at)
        return {producer}

    def _started(self, card: CallCard, e) -> set[str]:
        card.started_at = e.at
        return set()

    def _turn(self, card: CallCard, e) -> set[str]:
        card.turns += 1
        if e.intent and not e.answer:
            card.intent = e.intent
        return set()

    def _prepared(self, card: CallCard, e) -> set[str]:
        card.payload, card.queue = e.payload, e.queue
        card.phase, card.holding_since = Phase.ON_HOLD, e.at
        return set(card.statuses)  # a newer payload (e.g. taken over) refreshes every open pop

    def _planned(self, card: CallCard, e) -> set[str]:
        card.ring, card.queue = tuple(e.ring), e.queue
        for name, why in e.skipped:
            if why.split(":")[0] in PBX_STATES:
                self.presence[name] = (why.split(":")[0], e.at)
        for name in card.ring:
            self.presence[name] = ("free", e.at)
        if not card.ring:
            card.phase = Phase.IN_QUEUE
            return set()
        return self._pop(card, card.ring[0], e.at)

    def _dialled(self, card: CallCard, e) -> set[str]:
        before = card.producer
        changed = self._pop(card, e.producer, e.at)
        if before and before != e.producer and card.statuses.get(before) == PopStatus.RINGING:
            self._set(card, before, PopStatus.PASSED, e.at)  # the plan changed under them
            changed.add(before)
        return changed

    def _ringing(self, card: CallCard, e) -> set[str]:
        return self._pop(card, e.producer, e.at)

    def _answered(self, card: CallCard, e) -> set[str]:
        self._set(card, e.producer, PopStatus.ANSWERED, e.at)
        return {e.producer}

    def _lost(self, card: CallCard, e) -> set[str]:
        why = str(e.why)
        card.lost_why[e.producer] = why
        gone = why == "caller_gone"
        self._set(card, e.producer, PopStatus.CALLER_GONE if gone else PopStatus.PASSED, e.at)
        changed = {e.producer}
        if gone:
            return changed
        rest = card.ring[card.ring.index(e.producer) + 1:] if e.producer in card.ring else ()
        if rest:
            changed |= self._pop(card, rest[0], e.at)  # before its leg is even created
        else:
            card.producer, card.phase = "", Phase.IN_QUEUE
        return changed

    def _bridged(self, card: CallCard, e) -> set[str]:
        card.producer = card.bridged_to = e.producer
        card.bridged_at, card.phase = e.at, Phase.WITH_PRODUCER
        self._set(card, e.producer, PopStatus.BRIDGED, e.at)
        return {e.producer}

    def _queue_agent(self, card: CallCard, e) -> Change:
        card.producer = card.bridged_to = e.producer
        card.bridged_at, card.phase = e.at, Phase.WITH_PRODUCER
        self._set(card, e.producer, PopStatus.BRIDGED, e.at)
        return Change(card.call_id, frozenset({e.producer}))  # wrap-up when their talk ends (TalkEnded)

    def _callback(self, card: CallCard, e) -> Change:
        card.phase, card.queue, card.producer = Phase.CALLBACK, e.queue or card.queue, ""
        return Change(card.call_id, frozenset(card.statuses), callback=True)

    def _supervisor(self, card: CallCard, e) -> set[str]:
        card.supervisors.append((e.supervisor, str(e.mode)))
        return set()

    def _taken_over(self, card: CallCard, e) -> set[str]:
        card.taken_over_by = e.supervisor
        return set()

    def _disposed(self, card: CallCard, e) -> set[str]:
        self._set(card, e.producer, PopStatus.DONE, e.at)
        return {e.producer}

    def _ended(self, card: CallCard, e) -> Change:
        card.ended_at = e.at
        changed: set[str] = set()
        for producer, status in list(card.statuses.items()):
            if status in (PopStatus.RINGING, PopStatus.ANSWERED):
                self._set(card, producer, PopStatus.CALLER_GONE, e.at)
                changed.add(producer)
        # a bridged caller is still talking: Warmline's part ended, the producer's has not (TalkEnded)
        if card.phase not in (Phase.CALLBACK, Phase.WITH_PRODUCER):
            card.phase = Phase.ENDED
        return Change(card.call_id, frozenset(changed))

    def _talk_ended(self, card: CallCard, e) -> Change:
        """The producer put the phone down (or the caller did): now they owe a disposition."""
        producer = e.producer or card.bridged_to  # after a restart the talk knows only its call
        card.phase = Phase.ENDED
        if not producer or card.statuses.get(producer) != PopStatus.BRIDGED:
            return Change(card.call_id, frozenset())
        self._set(card, producer, PopStatus.WRAP_UP, e.at)
        return Change(card.call_id, frozenset({producer}), wrap_up=(producer,))
