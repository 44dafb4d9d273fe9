"""Scripted callers who hold a conversation with Warmline on the sandbox Asterisk.

A script is a list of (question, answer) pairs: when Warmline has finished asking `question`
(a prompt key, seen as a PromptEnded event in the call's journal), the caller answers with
words (synthesised offline to 8 kHz speech), with keys ("keys:40061234#"), by staying silent
("silence") or by hanging up ("hangup"). Used by `warmline demo` and the integration tests.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from warmline.ari_app.simulate import CallerSimulator, SimulatedCall
from warmline.calls.events import CallEnded, CallEvent, CallStarted, PromptEnded
from warmline.speech.tts import synthesize

Script = list[tuple[str, str]]


@dataclass
class CallLog:
    events: list[CallEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class Journals:
    """A journal listener keeping each call's events under the caller channel's id."""

    def __init__(self) -> None:
        self._by_channel: dict[str, CallLog] = {}
        self._channel_of: dict[str, str] = {}

    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, CallStarted):
            self._channel_of[event.call_id] = event.channel_id
        log = self.of(self._channel_of.get(event.call_id, event.call_id))
        log.events.append(event)
        log.changed.set()

    def of(self, channel_id: str) -> CallLog:
        return self._by_channel.setdefault(channel_id, CallLog())

    def forget(self, channel_id: str) -> None:
        """A finished call's events, dropped (long runs would otherwise keep every call)."""
        self._by_channel.pop(channel_id, None)
        for call_id in [c for c, ch in self._channel_of.items() if ch == channel_id]:
            del self._channel_of[call_id]

    async def wait(self, channel_id: str, found, timeout_s: float, start: int = 0) -> int:
        """Index of the first event from `start` on for which found(event) is true, once it comes."""
        log = self.of(channel_id)
        try:
            return await self._wait(log, found, timeout_s, start)
        except TimeoutError:  # say what did happen: the failing script's author needs it
            story = ", ".join(f"{type(e).__name__}({getattr(e, 'text', getattr(e, 'prompt', ''))!r})"
                              for e in log.events)
            raise TimeoutError(f"nothing awaited came in {timeout_s:g} s; the call so far: {story}") from None

    async def _wait(self, log, found, timeout_s, start):
        async with asyncio.timeout(timeout_s):
            seen = start
            while True:
                for index in range(seen, len(log.events)):
                    if found(log.events[index]):
                        return index
                seen = len(log.events)
                log.changed.clear()
                await log.changed.wait()


@dataclass(frozen=True, slots=True)
class Voices:
    """Where caller sentences are rendered: a folder Asterisk can read (host and inside paths)."""

    host_dir: Path
    inside_dir: str

    def render(self, text: str) -> str:
        name = "caller-" + hashlib.sha1(text.encode()).hexdigest()[:12]
        target = self.host_dir / f"{name}.wav"
        if not target.exists():
            synthesize(text, target, rate=8000)
        return f"{self.inside_dir}/{name}"


async def converse(sim: CallerSimulator, journals: Journals, voices: Voices, call: SimulatedCall,
                   script: Script, *, turn_timeout_s: float = 40) -> list[CallEvent]:
    """Play the script against Warmline, then wait for the call to end; returns its events."""
    channel = call.caller_channel_id
    next_event = 0  # each answer waits for a question asked after the previous answer
    for question, answer in script:
        def asked(event: CallEvent, key=question) -> bool:
            return isinstance(event, PromptEnded) and event.prompt.split()[0] == key
        next_event = await journals.wait(channel, asked, turn_timeout_s, next_event) + 1
        await _answer(sim, voices, call, answer)
    await journals.wait(channel, lambda e: isinstance(e, CallEnded), turn_timeout_s)
    return list(journals.of(channel).events)


async def _answer(sim: CallerSimulator, voices: Voices, call: SimulatedCall, answer: str) -> None:
    if answer == "silence":
        return
    if answer == "hangup":
        await sim.hang_up(call)
    elif answer.startswith("keys:"):
        await sim.keys(call, answer.removeprefix("keys:"))
    else:
        await sim.speak(call, voices.render(answer))
