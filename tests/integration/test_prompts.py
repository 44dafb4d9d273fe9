"""Prompts through the sandbox Asterisk: rendered files, and Asterisk's own number/digit/letter
read-backs, played on the caller's channel; a missing file fails that prompt, not the call."""

import asyncio

from warmline.ari_app.simulate import place_call
from warmline.calls.events import CallEnded, PromptEnded
from warmline.calls.listening import ListeningSession
from warmline.speech.prompts import Characters, Digits, Number, Outcome, Prompt

from .conftest import EventLog, PbxObserver, pbx_time, running_app, wait_until_empty

READ_BACK = Prompt.say("your_policy_number_is", Characters("HO"), Digits("4417"), "your_balance_is",
                       Number(240), "dollars")
MISSING = Prompt.say("no_such_prompt")


class ScriptedSession(ListeningSession):
    script = (READ_BACK, MISSING)

    async def run(self, audio):
        async def speak_all():
            for prompt in self.script:
                await self.say(prompt)
        self._tasks.start(speak_all(), f"script-{self.info.call_id}")
        return await super().run(audio)


async def test_read_backs_play_in_full_and_a_missing_file_fails_alone(sandbox, ari, services):
    events = EventLog()

    def factory(info, journal, voice):
        return ScriptedSession(info, journal, services, voice)

    async with running_app(sandbox.settings, factory, [events]), PbxObserver(ari) as pbx:
        call = await place_call(ari, "silence/1", linger_s=12)
        await pbx.watch(call.caller_channel_id)
        await call.speak(ari)
        outcomes = []
        while len(outcomes) < 2:
            await asyncio.sleep(0.2)
            outcomes = [e.outcome for e in events.for_channel(call.caller_channel_id) if isinstance(e, PromptEnded)]
        await ari.delete(f"/channels/{call.line_channel_id}")
        await events.wait_for(call.caller_channel_id, CallEnded)
        assert await wait_until_empty(ari) == ([], [])

    assert outcomes == [Outcome.FINISHED, Outcome.FAILED]
    started, finished = pbx.of("PlaybackStarted"), pbx.of("PlaybackFinished")
    first = started[0]["playback"]["id"]
    played = list(dict.fromkeys(  # each Started/Continuing event names the media playing then
        e["playback"]["media_uri"] for e in pbx.events
        if e["type"] in ("PlaybackStarted", "PlaybackContinuing") and e["playback"]["id"] == first))
    sounds = sandbox.settings.prompts.asterisk_dir
    assert played == [f"sound:{sounds}/your_policy_number_is", "characters:HO", "digits:4417",
                      f"sound:{sounds}/your_balance_is", "number:240", f"sound:{sounds}/dollars"]
    # Every part was spoken: the files alone last about 3 s; with "H O four four one seven two
    # hundred forty" Asterisk's clock shows well over that.
    assert pbx_time(finished[0]) - pbx_time(started[0]) > 5.0
    assert finished[1]["playback"]["state"] == "failed"
