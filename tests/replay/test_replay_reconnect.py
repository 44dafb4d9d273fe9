"""Reconnect and reconcile, replayed: the events websocket drops, ARI refuses the first attempt to
reopen it, and meanwhile another instance left two callers in the app and a bridge behind."""

from __future__ import annotations

from .checks import calls
from .harness import run_replay


def stranded(recorded) -> list[str]:
    """The callers the recording handed to the fallback on reconnecting, in recorded order."""
    return [e["path"].split("/")[3] for e in recorded.of("request") if e["path"].endswith("/continue")]


def stale_bridge(recorded) -> str:
    return next(e["path"].rsplit("/", 1)[1] for e in recorded.of("request") if e["method"] == "DELETE")


def settled(sent, channel: str) -> list[tuple[str, str]]:
    return [c for c in calls(sent) if c[1].startswith(f"/channels/{channel}")]


async def test_after_a_reconnect_stranded_callers_go_to_the_fallback_and_stale_bridges_go(transcript, tmp_path):
    recorded = transcript("reconnect")
    assert recorded.of("ws_refused") and len(recorded.of("ws_open")) == 2
    result = await run_replay(recorded, tmp_path)
    result.assert_complete()
    sent, callers, bridge = result.fake.requests, stranded(recorded), stale_bridge(recorded)
    assert result.app.connections == 2  # the refused attempt did not count; the second one did
    # the first connection reconciles an empty app; the second finds what was left behind
    assert calls(sent)[:4] == [("GET", "/applications/warmline"), ("GET", "/bridges")] * 2
    for channel in callers:
        # looked up, its playing prompt (if any) found and stopped, the reason set, handed on
        assert settled(sent, channel) == [("GET", f"/channels/{channel}"), ("GET", f"/channels/{channel}/variable"),
                                          ("POST", f"/channels/{channel}/variable"),
                                          ("POST", f"/channels/{channel}/continue")]
        playing, variable, onward = (r["query"] for r in sent if r["path"].startswith(f"/ari/channels/{channel}/"))
        assert playing == {"variable": "WARMLINE_PLAYBACK"}
        assert variable == {"variable": "WARMLINE_FALLBACK_REASON", "value": "warmline_restarted"}
        assert onward == {"context": "warmline-fallback", "extension": "s", "priority": "1"}
    # callers are handed on first; the stale bridge is removed after
    assert calls(sent)[-1] == ("DELETE", f"/bridges/{bridge}")
    assert not result.log.events and not result.app.channels.ids()  # nobody was taken for a new call


async def test_a_409_for_one_stranded_caller_does_not_stop_the_others_being_handled(transcript, tmp_path):
    recorded = transcript("reconnect")
    refused, other = stranded(recorded)
    recorded.answer("POST", f"/channels/{refused}/continue$", status=409,
                    message="Channel not in Stasis application", drop_events_of=refused)
    result = await run_replay(recorded, tmp_path, timeout=10)
    assert result.app_error is None, f"the Stasis app died: {result.app_error!r}"
    result.assert_complete()
    assert ("POST", f"/channels/{other}/continue") in calls(result.fake.requests)
    assert calls(result.fake.requests)[-1] == ("DELETE", f"/bridges/{stale_bridge(recorded)}")
