"""The post-call satisfaction survey on the sandbox Asterisk, with the flow file's `survey:` on.

After an AI-resolved call the dialogue asks it; after an escalated call the PBX does, once the
producer hangs up first: Warmline sends the caller on to the dialplan's [warmline-survey], whose
Read() takes one key and whose WarmlineSurvey user event Warmline records (AMI) on the call's
stream. The caller keys their score when Asterisk says Read() runs (AMI Newexten), not after a
guessed delay; the stored stream is the proof.
"""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
import yaml
from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.calls.store import EventStore
from warmline.catalog import EVENT_KINDS
from warmline.conversation.build import open_conversation
from warmline.crm.seed import seed_demo
from warmline.dialog.flows import packaged_flows
from warmline.speech.services import build_services

from .conftest import of, running_app, wait_until_empty
from .test_transfer import REGULATED, AmiLog, producer

OFFICE = [("how_can_i_help", "What time does your office close today?"), ("did_that_help", "Yes, thanks."),
          ("anything_else", "No, that's all.")]  # contained without an account


@pytest.fixture
async def surveyed(sandbox, tmp_path):
    """The sandbox's settings with the survey on (after both kinds of call), and their conversation."""
    flows = yaml.safe_load(packaged_flows().read_text())
    flows["survey"] = {"enabled": True, "after": ["contained", "escalated"]}
    (tmp_path / "flows.yaml").write_text(yaml.safe_dump(flows))
    seed_demo(tmp_path / "crm.sqlite3", date.today())
    base = sandbox.settings
    settings = base.model_copy(update={
        "dialog": base.dialog.model_copy(update={"flows": str(tmp_path / "flows.yaml")}),
        "crm": base.crm.model_copy(update={"sqlite_path": str(tmp_path / "crm.sqlite3")})})
    kit = await open_conversation(settings)
    yield settings, kit
    await kit.crm.close()


async def surveyed_call(sandbox, settings, kit, ari, voices, tmp_path, script, producers=(), during=None):
    """One call; `during(sim, call, journals, ami)` acts while it runs, until Asterisk is empty.
    Returns the call's events as they came and as stored."""
    handoff = settings.handoff.model_copy(update={"producers": tuple(producers), "ring_timeout_s": 6,
                                                  "accept_timeout_s": 3.0})
    settings = settings.model_copy(update={"handoff": handoff})
    services = build_services(settings.vad, settings.stt)
    journals, store = Journals(), EventStore(tmp_path / "events.sqlite3", EVENT_KINDS)
    try:
        async with AmiLog(sandbox.state) as ami, \
                running_app(settings, kit.sessions(services), [journals, store.record]) as app, \
                CallerSimulator(ari) as sim:
            await asyncio.wait_for(app.ami.logged_in.wait(), 10)  # the survey's answer comes over AMI
            call = await sim.place()
            task = asyncio.create_task(converse(sim, journals, voices, call, script, turn_timeout_s=90))
            if during is not None:
                await during(sim, call, journals, ami)
            await task
            assert await wait_until_empty(ari, timeout=30) == ([], []), "legs or bridges left behind"
            await asyncio.sleep(0.5)  # the last AMI events, and what Warmline records from them
        events = list(journals.of(call.caller_channel_id).events)
        stored = store.events(events[0].call_id)
    finally:
        store.close()
        services.close()
    return events, stored, ami, call


async def test_the_pbx_asks_the_caller_when_the_producer_hangs_up_and_the_score_is_on_the_calls_stream(
        sandbox, ari, surveyed, voices, tmp_path):
    settings, kit = surveyed

    async def keys_four_when_asked(sim, call, journals, ami):
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "TalkEnded", 90)
        await ami.wait_for("Newexten", timeout=10, Uniqueid=call.caller_channel_id, Context="warmline-survey",
                           Application="Read")
        await asyncio.sleep(0.5)  # Read() has started the question: a key now answers it
        await sim.keys(call, "4")
        await journals.wait(call.caller_channel_id, lambda e: type(e).__name__ == "SurveyAnswered", 10)

    # the sandbox's accepting producer hangs up after ${SANDBOX_TALK_S} (4) seconds: the producer first
    events, stored, ami, call = await surveyed_call(sandbox, settings, kit, ari, voices, tmp_path, REGULATED,
                                                    [producer("accept")], keys_four_when_asked)
    [talk] = of(events, "TalkEnded")
    assert talk.ended_by == "producer" and talk.producer == "accept"
    [answer] = of(stored, "SurveyAnswered")
    assert (answer.score, answer.after) == (4, "escalated") and answer.call_id == events[0].call_id
    kinds = [type(e).__name__ for e in stored]
    assert kinds.count("TalkEnded") == 1 and kinds.index("TalkEnded") < kinds.index("SurveyAnswered")
    # Asterisk's word: the caller went through the survey, asked with Warmline's own sound, and was thanked
    sounds = (settings.prompts.asterisk_dir or settings.prompts.dir).rstrip("/")
    [read] = ami.of("Newexten", Uniqueid=call.caller_channel_id, Context="warmline-survey", Application="Read")
    assert read["AppData"].startswith(f"SCORE,{sounds}/survey_question,1")
    [said] = ami.of("UserEvent", UserEvent="WarmlineSurvey")
    assert (said["CallId"], said["App"], said["Score"]) == (events[0].call_id, settings.ari.app, "4")
    assert ami.of("Newexten", Uniqueid=call.caller_channel_id, Application="Playback",
                  AppData=f"{sounds}/survey_thanks")
    assert of(events, "ConversationEnded")[0].outcome == "escalated"  # ... and the AI did not ask it too
    assert "survey_question" not in [e.prompt.split()[0] for e in of(events, "PromptStarted")]


async def test_the_ai_asks_after_a_call_it_resolved_and_a_spoken_score_counts(
        sandbox, ari, surveyed, voices, tmp_path):
    settings, kit = surveyed
    script = [*OFFICE, ("survey_question", "I would say five.")]
    events, stored, _, _ = await surveyed_call(sandbox, settings, kit, ari, voices, tmp_path, script)
    assert of(events, "ConversationEnded")[0].outcome == "contained"
    assert of(events, "CallEnded")[0].reason == "contained"
    [answer] = of(stored, "SurveyAnswered")
    assert (answer.score, answer.after) == (5, "ai")
    kinds = [type(e).__name__ for e in stored]
    assert kinds.index("SurveyAnswered") < kinds.index("ConversationEnded")
    played = [e.prompt.split()[0] for e in of(events, "PromptEnded")]
    assert played[-3:] == ["survey_question", "survey_thanks", "goodbye"]
    assert not of(events, "TalkEnded") and not of(events, "EscalationDecided")
