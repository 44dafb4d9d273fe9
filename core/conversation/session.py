"""A live call's conversation: the listening session becomes the dialogue's CallerPort.

Decoded utterances, keyed digits and no-input timeouts land in one queue of replies; `ask`
plays a question and takes the next reply. Keys end with # or a pause; the first key stops
the prompt like speech does. When the dialogue ends, the session ends with a Route that the
PBX plugin follows; when the caller hangs up first, the dialogue sees HungUp and stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from warmline.calls.events import CallerUtterance, CallJournal
from warmline.calls.listening import ListeningSession
from warmline.calls.session import CallInfo, CallSession, SessionFactory, SessionResult
from warmline.dialog.dialogue import Dialogue, Ending
from warmline.dialog.port import HungUp, Keyed, Reply, Said, Silence, Unheard
from warmline.handoff.route import route_for
from warmline.speech.audio import AudioChunk
from warmline.speech.prompts import CallVoice, Outcome, Prompt
from warmline.speech.services import SpeechServices
from warmline.tasks import OwnedTasks, cancel_all, first_done

log = logging.getLogger(__name__)

KEY_PAUSE_S = 2.5  # keys end after this pause when the caller does not press #
HANGUP_GRACE_S = 2.0
EARLY_WORDS_WAIT_S = 4.0  # a caller still talking (or being decoded) when the greeting ends
HOLD_ON_AFTER_S = 1.0  # a decode this slow: the caller hears "one moment" rather than silence

DialogueFactory = Callable[[CallInfo, CallJournal, "DialogSession"], Dialogue]


class DialogSession(CallSession):
    """The dialogue and the listening session side by side: the listening session tells this one
    what it heard (`Hearing`); the dialogue talks to the caller through it (`CallerPort`)."""

    def __init__(self, info: CallInfo, journal: CallJournal, services: SpeechServices, voice: CallVoice | None,
                 dialogue: DialogueFactory, *, barge_in: bool = True, hold_on: Prompt | None = None) -> None:
        super().__init__(info, journal, voice)
        self.listening = ListeningSession(info, journal, services, self.voice, barge_in=barge_in, hearing=self)
        self._tasks = OwnedTasks()  # prompt stops on a key
        self._replies = Replies()
        self._expect_keys = False  # the question being asked takes several digits
        self._keys = ""
        self._key_timer: asyncio.TimerHandle | None = None
        self.hold_on = hold_on
        self.dialogue = dialogue(info, journal, self)

    async def run(self, audio: AsyncIterator[AudioChunk]) -> SessionResult:
        cid = self.info.call_id
        talk = asyncio.create_task(self.dialogue.run(), name=f"dialogue-{cid}")
        hear = asyncio.create_task(self.listening.run(audio), name=f"listen-{cid}")
        try:
            await asyncio.wait({talk, hear}, return_when=asyncio.FIRST_COMPLETED)
            if not talk.done():  # the audio ended: the caller is gone
                self._replies.put(HungUp())
                await asyncio.wait({talk}, timeout=HANGUP_GRACE_S)
            ending: Ending = talk.result() if talk.done() else Ending("abandoned")
        finally:
            await cancel_all([talk, hear])
            await self._tasks.cancel()
            if self._key_timer is not None:
                self._key_timer.cancel()
        route = route_for(ending, self.journal) if ending.outcome != "abandoned" else None
        return SessionResult(self.listening.frames, self.listening.audio_seconds, ending.outcome, route)

    # --- CallerPort -------------------------------------------------------------------------------

    async def say(self, prompt: Prompt) -> bool:
        return await self.listening.say(prompt) != Outcome.GONE

    async def ask(self, prompt: Prompt, *, private: bool = False, keys: bool = True,
                  early: bool = False) -> Reply:
        self.listening.deaf = private
        self._expect_keys = keys
        try:
            if early and (said := await self._early_words()):
                return said  # the caller already said it (over the greeting): no need to ask
            self._replies.clear()  # what was said before the question is not its answer
            if not await self.say(prompt):
                return HungUp()
            reply = await self._next_reply()
            while isinstance(reply, Silence) and self._keys:  # still keying: not silence
                reply = await self._next_reply()
            return reply
        finally:
            self.listening.deaf = False
            self._expect_keys = False

    async def _next_reply(self) -> Reply:
        """The next reply; while the caller's words take long to decode they hear "one moment" (once)."""
        waiting = asyncio.create_task(self._replies.get(), name=f"reply-{self.info.call_id}")
        held = self.hold_on is None
        try:
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=HOLD_ON_AFTER_S / 4)
                if not held and not waiting.done() and self.listening.decoding_for() >= HOLD_ON_AFTER_S:
                    held = True
                    await self.say(self.hold_on)
            return waiting.result()
        finally:
            await cancel_all([waiting])

    async def _early_words(self) -> Said | None:
        """Words heard before the question, waiting for one still being spoken or decoded."""
        if self.listening.hearing_now():
            await first_done(asyncio.create_task(self._replies.wait_for(Said), name=f"early-{self.info.call_id}"),
                             timeout=EARLY_WORDS_WAIT_S)
        return self._replies.take(Said)

    def pause_listening(self) -> None:
        self.listening.deaf = True

    # --- Hearing: what the listening session heard -------------------------------------------------

    def heard(self, utterance: CallerUtterance) -> None:
        if utterance.text.strip():
            self._replies.put(Said(utterance.text))

    def no_input(self) -> None:
        self._replies.put(Silence())

    def speech_failed(self, error: str) -> None:
        self._replies.put(Unheard(error))

    def on_dtmf(self, digit: str) -> None:
        self.listening.keyed()
        if self.listening.speaking is not None and not self._keys:
            self._tasks.start(self.voice.stop(), f"key-stop-{self.info.call_id}")
        if self._key_timer is not None:
            self._key_timer.cancel()
        if digit == "#":
            self._flush_keys()
            return
        self._keys += digit
        if not self._expect_keys:  # one key is the whole answer (0 for a person, 1 for yes): at once
            self._flush_keys()
            return
        self._key_timer = asyncio.get_running_loop().call_later(KEY_PAUSE_S, self._flush_keys)

    def _flush_keys(self) -> None:
        keys, self._keys, self._key_timer = self._keys, "", None
        if keys:
            self._replies.put(Keyed(keys))


class Replies:
    """The caller's replies in arrival order; `get` waits for the next one."""

    def __init__(self) -> None:
        self._items: deque[Reply] = deque()
        self._ready = asyncio.Event()

    def put(self, reply: Reply) -> None:
        self._items.append(reply)
        self._ready.set()

    def clear(self) -> None:
        self._items.clear()

    def take(self, kind: type) -> Reply | None:
        """The first waiting reply of this kind, removed (others stay); None if there is none."""
        found = next((r for r in self._items if isinstance(r, kind)), None)
        if found is not None:
            self._items.remove(found)
        return found

    async def wait_for(self, kind: type) -> None:
        while not any(isinstance(r, kind) for r in self._items):
            self._ready.clear()
            await self._ready.wait()

    async def get(self) -> Reply:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


def dialog_sessions(services: SpeechServices, dialogue: DialogueFactory, *, barge_in: bool = True,
                    hold_on: Prompt | None = None) -> SessionFactory:
    """The session factory `serve` and the demo hand to the PBX plugin when the conversation is on."""
    return lambda info, journal, voice: DialogSession(info, journal, services, voice, dialogue, barge_in=barge_in,
                                                      hold_on=hold_on)


def now() -> datetime:
    return datetime.now().replace(microsecond=0)
