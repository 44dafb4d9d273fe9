"""ARI events off the websocket: each is handled or skipped with a one-line warning; no traceback.

The events go through StasisApp.on_message, the app's entry for one websocket text message, to
the channel owners that read them (a producer's leg with its voice; a new channel's call)."""

import json
import logging
from types import SimpleNamespace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.ari_app.app import StasisApp
from warmline.ari_app.settings import AsteriskSettings
from warmline.ari_app.transfer import ProducerLeg
from warmline.ari_app.voice import AriVoice
from warmline.handoff.routing import Producer

from tests.fuzz.clean import Recording
from tests.fuzz.mutate import mutated

CHANNEL = {"id": "C1", "name": "PJSIP/1001-00000001", "state": "Up",
           "caller": {"number": "6175550100", "name": "Maria"}, "connected": {"number": "", "name": ""},
           "dialplan": {"context": "warmline-inbound", "exten": "s", "priority": 1}, "language": "en"}
NEW_CHANNEL = {**CHANNEL, "id": "N1", "name": "PJSIP/trunk-00000002"}
EVENTS = [
    {"type": "StasisStart", "application": "warmline", "args": [], "channel": NEW_CHANNEL},
    {"type": "StasisStart", "application": "warmline", "args": [], "channel": {**NEW_CHANNEL, "name": "WebSocket/x"}},
    {"type": "StasisStart", "application": "warmline", "args": [], "channel": CHANNEL},
    {"type": "ChannelStateChange", "channel": {**CHANNEL, "state": "Ringing"}},
    {"type": "ChannelDtmfReceived", "digit": "1", "duration_ms": 100, "channel": CHANNEL},
    {"type": "ChannelHangupRequest", "cause": 17, "channel": CHANNEL},
    {"type": "Dial", "dialstatus": "BUSY", "peer": CHANNEL, "dialstring": "1001"},
    {"type": "PlaybackFinished", "playback": {"id": "PB1", "media_uri": "sound:x", "target_uri": "channel:C1",
                                              "language": "en", "state": "done"}},
    {"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing", "channel": CHANNEL},
    {"type": "StasisEnd", "application": "warmline", "channel": CHANNEL},
]


class App(StasisApp):
    """The real dispatch, with calls and background tasks recorded instead of started."""

    def start_call(self, channel):
        self.started.append(channel)

    def _spawn(self, coro, name):
        if hasattr(coro, "close"):
            coro.close()


@pytest.fixture(scope="module")
def logs():
    handler = Recording()
    root = logging.getLogger("warmline")
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def fresh_app() -> App:
    app = App(AsteriskSettings(), session_factory=None)
    app.started = []
    client = SimpleNamespace(delete=lambda *a, **kw: None)
    app.client = client
    leg = ProducerLeg("C1", Producer(name="Dana", endpoint="PJSIP/1001", queues=("service",)))
    leg.voice = AriVoice(client, "C1", "/tmp")
    app.channels.claim("C1", leg)
    return app


def handled_or_skipped(logs, data) -> None:
    logs.records.clear()
    app = fresh_app()
    app.on_message(data)  # nothing may escape: the pump would die
    for record in logs.records:
        assert record.exc_info is None, f"traceback logged for {data!r}: {record.exc_info[1]!r}"
        assert len(record.getMessage().splitlines()) == 1, record.getMessage()
    for channel in app.started:  # what a new call reads off its channel
        assert isinstance(channel["id"], str) and channel["id"]


@given(st.text(max_size=200) | st.binary(max_size=200))
@example("")  # json.loads' JSONDecodeError was logged with a traceback
@example("[]")  # a list has no .get(): AttributeError
def test_arbitrary_messages(logs, data):
    handled_or_skipped(logs, data)


@st.composite
def events(draw):
    event = draw(mutated(draw(st.sampled_from(EVENTS)),
                         st.sampled_from(["type", "channel", "playback", "peer", "cause", "digit", "id", "name",
                                          "state", "target_uri", "caller", "dialplan", "exten"])))
    return json.dumps(event, allow_nan=True)


@given(events())
@example('{"type": "StasisStart", "channel": {"id": "N1", "name": null}}')  # None.startswith: AttributeError
@example('{"type": "StasisStart", "channel": {"name": "WebSocket/x"}}')  # channel['id']: KeyError
@example('{"type": "PlaybackFinished", "playback": {"id": [], "target_uri": "channel:C1"}}')  # unhashable
@example('{"type": "ChannelHangupRequest", "cause": "x", "channel": {"id": "C1"}}')  # int("x"): ValueError
@example('{"type": "PlaybackFinished", "playback": {"target_uri": 5}}')  # 5.removeprefix: AttributeError
def test_real_events_with_fields_removed_and_retyped(logs, data):
    handled_or_skipped(logs, data)
