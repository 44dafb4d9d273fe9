"""The fake ARI itself: ids learnt and substituted, order kept, and divergence reported, never hidden."""

from __future__ import annotations

import asyncio
import base64

import aiohttp
import pytest

from .fake_ari import FakeAri, ReplayMismatch
from .transcript import Transcript

AUTH = {"Authorization": "Basic " + base64.b64encode(b"warmline:x").decode()}
REC = "aaaaaaaaaaaa"  # the id Warmline made when the tiny transcript was "recorded"


def tiny() -> Transcript:
    bridge = f"wl-{REC}"
    return Transcript({"kind": "meta", "scenario": "tiny"}, [
        {"t": 0.0, "kind": "ws_open", "conn": "events-1", "query": {"app": "warmline"}},
        {"t": 0.01, "kind": "request", "id": "1", "method": "POST", "path": "/ari/bridges",
         "query": {"bridgeId": bridge, "type": "mixing"}, "body": None},
        {"t": 0.02, "kind": "event", "conn": "events-1", "data": {"type": "BridgeCreated", "bridge": {"id": bridge}}},
        {"t": 0.03, "kind": "response", "id": "1", "status": 200, "body": {"id": bridge, "bridge_type": "mixing"}},
        {"t": 0.04, "kind": "request", "id": "2", "method": "GET", "path": "/ari/channels/c1", "query": {}, "body": None},
        {"t": 0.05, "kind": "response", "id": "2", "status": 200, "body": {"id": "c1"}},
        {"t": 0.06, "kind": "request", "id": "3", "method": "GET", "path": "/ari/channels/c2", "query": {}, "body": None},
        {"t": 0.07, "kind": "response", "id": "3", "status": 200, "body": {"id": "c2"}},
        {"t": 0.08, "kind": "request", "id": "4", "method": "DELETE", "path": f"/ari/bridges/{bridge}", "query": {},
         "body": None},
        {"t": 0.09, "kind": "event", "conn": "events-1", "data": {"type": "BridgeDestroyed", "bridge": {"id": bridge}}},
        {"t": 0.10, "kind": "response", "id": "4", "status": 204, "body": None},
        {"t": 0.11, "kind": "ws_close", "conn": "events-1", "by": "client"},
    ])


async def _app(url: str, ours: str, channels=("c1", "c2"), delete: str | None = None) -> list[dict]:
    """A minimal Stasis app: what the tiny transcript recorded, with its own id this time."""
    got = []
    async with aiohttp.ClientSession(headers=AUTH) as http:
        async with http.ws_connect(f"{url}/ari/events?app=warmline") as ws:
            async with http.post(f"{url}/ari/bridges", params={"bridgeId": f"wl-{ours}", "type": "mixing"}) as r:
                got.append(await r.json())
            got.append(await asyncio.wait_for(ws.receive_json(), 2))
            for channel in channels:  # one after the other, each waiting for its answer
                async with http.get(f"{url}/ari/channels/{channel}") as r:
                    got.append(await r.json())
            async with http.delete(f"{url}/ari/bridges/{delete or 'wl-' + ours}") as r:
                got.append(r.status)
            if r.status == 204:
                got.append(await asyncio.wait_for(ws.receive_json(), 2))
    return got


async def replayed(transcript: Transcript, **app) -> tuple[FakeAri, list]:
    fake = FakeAri(transcript, wait_s=1.0)
    url = await fake.start()
    try:
        got = await asyncio.wait_for(_app(url, "0123456789ab", **app), 10)
        await fake.finished(3)
    finally:
        await fake.close()
    return fake, got


async def test_ids_the_app_makes_are_learnt_and_substituted_in_events_and_answers():
    fake, got = await replayed(tiny())
    fake.assert_complete()
    assert got[0]["id"] == "wl-0123456789ab" and got[1]["bridge"]["id"] == "wl-0123456789ab"
    assert got[-1] == {"type": "BridgeDestroyed", "bridge": {"id": "wl-0123456789ab"}}
    assert fake.bindings == {REC: "0123456789ab"}


async def test_requests_sent_in_another_order_are_answered_without_deadlock():
    fake, got = await replayed(tiny(), channels=("c2", "c1"))  # a set iterated in another order
    fake.assert_complete()
    assert [g["id"] for g in got[2:4]] == ["c2", "c1"]


async def test_an_unexpected_request_and_a_missing_one_fail_with_a_diff():
    fake, got = await replayed(tiny(), delete="wl-somethingelse")
    assert got[-1] == 500
    with pytest.raises(ReplayMismatch) as failed:
        fake.assert_complete()
    text = str(failed.value)
    assert "unexpected request: DELETE /ari/bridges/wl-somethingelse" in text
    assert "expected, never sent: DELETE /ari/bridges/wl-0123456789ab" in text  # shown with this run's id


async def test_requests_without_credentials_are_refused_like_asterisk_does():
    fake = FakeAri(tiny(), wait_s=0.5)
    url = await fake.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{url}/ari/channels/c1") as r:
            assert r.status == 401
    finally:
        await fake.close()
