"""ARI REST answers of the wrong shape during reconciliation (after every (re)connect): the pass
ends or fails with PbxError in one line, and no background task fails with anything else.

Decoding the HTTP answer is test_fuzz_ari_rest's; this is what the app reads out of the JSON."""

import asyncio
from types import SimpleNamespace

from hypothesis import example, given
from hypothesis import strategies as st
from warmline.ari_app.app import StasisApp
from warmline.ari_app.settings import AsteriskSettings
from warmline.errors import PbxError, WarmlineError

from tests.fuzz.clean import assert_clean
from tests.fuzz.mutate import mutated

ANSWERS = {
    "app": {"name": "warmline", "channel_ids": ["C1", "C2", "C3"], "bridge_ids": ["B1"], "endpoint_ids": [],
            "device_names": []},
    "bridges": [{"id": "B1", "name": "warmline:c1:talk", "channels": ["C1", "C3"], "technology": "simple_bridge"},
                {"id": "B2", "name": "warmline:old", "channels": [], "technology": "simple_bridge"},
                {"id": "B3", "name": "warmline:half:talk", "channels": ["C2"], "technology": "simple_bridge"}],
    "C2": {"id": "C2", "name": "PJSIP/trunk-00000002", "state": "Up", "caller": {"number": "6175550100"}},
    "variable": {"value": "PB1"},
    "C3": {"id": "wl-abc-media", "name": "WebSocket/media-1", "state": "Up"},
}
KEYS = st.sampled_from(["id", "name", "channels", "channel_ids", "value", "state"])


class FakeClient:
    def __init__(self, answers: dict) -> None:
        self.answers = answers

    async def get(self, path: str, **kw):
        if path.startswith("/applications/"):
            return self.answers["app"]
        if path == "/bridges":
            return self.answers["bridges"]
        if path.endswith("/variable"):
            return self.answers["variable"]
        if path.startswith("/deviceStates/"):
            return self.answers["device"]
        return self.answers.get(path.removeprefix("/channels/"))

    async def post(self, path: str, **kw):
        return None

    async def delete(self, path: str, **kw):
        return None


async def _reconcile(answers):
    app = StasisApp(AsteriskSettings(), session_factory=None)
    app._bind(FakeClient(answers))
    try:
        await app.reconcile()
    finally:
        results = await asyncio.gather(*app._background, return_exceptions=True)
    return results


def reconciled_or_clean_error(answers) -> None:
    try:
        results = asyncio.run(_reconcile(answers))
    except PbxError as exc:
        assert_clean(exc, PbxError)
        return
    for result in results:
        if isinstance(result, BaseException):
            assert_clean(result, PbxError)


@st.composite
def answers(draw):
    return {name: draw(mutated(value, KEYS)) for name, value in ANSWERS.items()}


def changed(name: str, value) -> dict:
    return {**ANSWERS, name: value}


@given(answers())
@example(ANSWERS)
@example(changed("bridges", [{"name": "warmline:old"}]))  # b["id"]: KeyError
@example(changed("app", {"channel_ids": [[]]}))  # set() of a list: unhashable
@example(changed("app", None))  # None.get: AttributeError (now read as 404: nobody to settle)
@example(changed("bridges", [{"id": "B9", "name": None}]))  # None.endswith: AttributeError
@example(changed("app", {"channel_ids": ["C1", None]}))  # sorted(): None < str, TypeError
@example(changed("C2", ["C2"]))  # _ours(list): AttributeError in the orphan's hand-on
def test_rest_answers_with_fields_removed_and_retyped(answers):
    reconciled_or_clean_error(answers)


# --- other answers read at start-up: the app's lease, `warmline check`'s Asterisk version ------

LEASE = {"value": "abc123;7"}
INFO = {"system": {"version": "22.5.0", "entity_id": "00:11"}, "build": {"os": "Linux"}}


async def _lease_read(answer):
    from warmline.ari_app.lease import Lease

    return await Lease(FakeClient({"variable": answer}), "warmline").read()


async def _check_ari(answer):
    from warmline.ari_app.plugin import _check_ari

    client = FakeClient({})
    client.get = lambda path, **kw: asyncio.sleep(0, answer)
    client.base, client.settings = "http://127.0.0.1:8088", AsteriskSettings().ari
    return await _check_ari(client)


@given(mutated(LEASE, KEYS))
@example(["abc123;7"])  # list.get: AttributeError
@example({"value": 5})  # 5.rsplit, later: AttributeError
def test_lease_answers(answer):
    try:
        value = asyncio.run(_lease_read(answer))
    except PbxError as exc:
        assert_clean(exc, PbxError)
    else:
        assert isinstance(value, str)


@given(mutated(INFO, st.sampled_from(["system", "version"])))
@example({"system": ["22"]})  # list.get: AttributeError
def test_asterisk_info_answers(answer):
    result = asyncio.run(_check_ari(answer))  # a check reports, never raises
    assert len(result.detail.splitlines()) == 1


# --- the externalMedia answer a websocket media leg connects by ------------------------------

CREATED = {"id": "wl-abc-media", "name": "WebSocket/media-1", "state": "Up",
           "channelvars": {"MEDIA_WEBSOCKET_CONNECTION_ID": "e7f1c0de"}}


class Connected(Exception):
    """The leg got as far as connecting to the media websocket: the answer was usable."""


async def _open_media(answer):
    from warmline.ari_app.media import WebSocketLeg

    async def post(path, **kw):
        return answer

    async def ws_connect(url, **kw):
        raise Connected(url)

    client = FakeClient({})
    client.post, client.settings = post, AsteriskSettings().ari
    client.http, client.headers = SimpleNamespace(ws_connect=ws_connect), {}
    client.media_url = lambda connection_id: f"ws://127.0.0.1:8088/media/{connection_id}"
    await WebSocketLeg(client, "wl-abc-media").open()


@given(mutated(CREATED, st.sampled_from(["channelvars", "MEDIA_WEBSOCKET_CONNECTION_ID"])))
@example({"channelvars": ["e7f1c0de"]})  # list.get: AttributeError
@example(None)  # None.get: AttributeError
def test_external_media_answers(answer):
    try:
        asyncio.run(_open_media(answer))
    except Connected:
        pass
    except WarmlineError as exc:
        assert_clean(exc, WarmlineError)


# --- a producer's device state and Do Not Disturb, read before ringing them ----------------

DEVICE = {"name": "PJSIP/1001", "state": "NOT_INUSE"}


async def _availability(device_answer, dnd_answer):
    from warmline.ari_app.transfer import AttendedTransfer
    from warmline.handoff.routing import Producer

    transfer = object.__new__(AttendedTransfer)  # only what _availability reads
    transfer.client = FakeClient({"variable": dnd_answer, "device": device_answer})
    transfer.caller = "C1"
    producer = Producer(name="Dana", endpoint="PJSIP/1001", queues=("service",), dnd="dnd/1001")
    return await transfer._availability(producer)


@given(mutated(DEVICE, st.sampled_from(["state"])), mutated(LEASE, KEYS))
@example(["NOT_INUSE"], LEASE)  # list.get: AttributeError out of the transfer
@example(None, LEASE)  # None.get: AttributeError
@example({"state": []}, {})  # no DND, so an unhashable state looked up in the table: TypeError
def test_device_state_and_dnd_answers(device_answer, dnd_answer):
    asyncio.run(_availability(device_answer, dnd_answer))  # an unusable answer: logged, counted unknown
