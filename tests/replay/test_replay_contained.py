"""A contained call, replayed: answer, media, greeting, request, flow, goodbye, hang-up, teardown."""

from __future__ import annotations

from .checks import calls, created_and_deleted, prompts_played, story
from .harness import journal_summary, run_replay


async def test_a_contained_call_answers_listens_converses_and_removes_everything(transcript, tmp_path):
    recorded = transcript("contained")
    result = await run_replay(recorded, tmp_path)
    result.assert_complete()
    log, sent = result.log, result.fake.requests
    call_id = log.of("CallStarted")[0].call_id
    caller = recorded.meta["caller"]
    bridge, media, snoop = f"wl-{call_id}", f"wl-{call_id}-media", f"wl-{call_id}-snoop"

    # set-up, in the order that matters: answer, bridge, media in the bridge, then the snoop
    assert calls(sent)[:9] == [
        ("GET", "/applications/warmline"), ("GET", "/bridges"),
        ("POST", f"/channels/{caller}/answer"), ("POST", "/bridges"), ("POST", "/channels/externalMedia"),
        ("POST", f"/bridges/{bridge}/addChannel"), ("POST", f"/channels/{caller}/snoop"),
        ("POST", f"/bridges/{bridge}/addChannel"), ("POST", f"/channels/{caller}/variable")]
    assert sent[4]["query"]["channelId"] == media  # Warmline names its own media leg
    assert sent[4]["query"]["format"] == "slin16" and sent[4]["query"]["transport"] == "websocket"
    assert sent[6]["query"]["spy"] == "in" and sent[6]["query"]["snoopId"] == snoop
    assert [r["query"]["channel"] for r in sent[5:8:2]] == [media, snoop]

    # the dialogue: greeting, request, policy number keyed, date of birth said, balance, goodbye
    assert prompts_played(sent) == ["greeting", "how_can_i_help", "verify_policy", "verify_dob", "verified",
                                    "your_balance_is", "due_on", "last_payment_of", "did_that_help",
                                    "anything_else", "goodbye"]
    assert [e.digits for e in log.of("KeysPressed")] == ["40061234"]
    assert [e.text for e in log.of("CallerUtterance")] == [u["text"] for u in recorded.meta["utterances"]]
    assert [(e.verified, e.method) for e in log.of("IdentityChecked")] == [(True, "policy_number+date_of_birth")]
    assert log.of("ActionTaken")[0].action == "read_balance" and log.of("ActionTaken")[0].ok

    # the same story as the recorded call, event by event
    assert story(journal_summary(log.events)) == story(recorded.meta["journal"])

    # teardown: every channel and bridge Warmline made is deleted, then the caller is hung up
    created, deleted = created_and_deleted(sent)
    assert created == {bridge, media, snoop} and created <= deleted
    assert calls(sent)[-1] == ("DELETE", f"/channels/{caller}")
    assert log.of("CallEnded")[0].reason == "contained"
    assert not result.app.channels.ids()  # every channel Warmline followed is forgotten
    assert result.seconds < 15
