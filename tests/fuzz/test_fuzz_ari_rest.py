"""ARI REST answers: decoded JSON (or None), or PbxError in one line, whatever Asterisk's HTTP
server (or something else at ari.url) sends back."""

import asyncio
import json

import aiohttp
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from warmline.ari_app.client import AriClient
from warmline.ari_app.settings import AriSettings
from warmline.errors import PbxError

from tests.fuzz.clean import assert_clean
from tests.fuzz.http_stub import Reply, StubServer
from tests.fuzz.mutate import junk

CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "text/html",
                 "application/json; charset=no-such-codec", None]
statuses = st.sampled_from([200, 200, 204, 400, 404, 409, 422, 500]) | st.integers(200, 599)


@pytest.fixture(scope="module")
def server():
    with StubServer() as stub:
        yield stub


async def _request(server, missing_ok):
    settings = AriSettings(url=server.url, password="fuzz", request_timeout_s=5)
    async with aiohttp.ClientSession() as http:
        return await AriClient(settings, http).get("/channels/C1", missing_ok=missing_ok)


def request_or_clean_error(server, reply: Reply, missing_ok: bool = False) -> None:
    server.reply = reply
    try:
        asyncio.run(_request(server, missing_ok))
    except PbxError as exc:
        assert_clean(exc, PbxError)


@given(statuses, st.binary(max_size=200), st.sampled_from(CONTENT_TYPES), st.booleans())
@example(400, b"", "application/json", False)  # resp.json() gave None: None.get, AttributeError
@example(200, b"\x80", "application/json", False)  # UnicodeDecodeError out of resp.json()
@example(200, b"{", "application/json", False)  # JSONDecodeError out of resp.json()
@example(200, b"[" * 100_000, "application/json", False)  # RecursionError
@example(200, b"{}", "text/plain", False)  # aiohttp's ContentTypeError (a ClientResponseError)
@example(500, b'{"message": "a\\nb"}', "application/json", False)  # a line break in the AriError
def test_arbitrary_answers(server, status, body, content_type, missing_ok):
    request_or_clean_error(server, Reply(status, body, content_type), missing_ok)


@given(statuses, junk | st.fixed_dictionaries({"message": junk}), st.sampled_from(CONTENT_TYPES))
def test_json_answers_of_any_shape(server, status, value, content_type):
    request_or_clean_error(server, Reply(status, json.dumps(value, allow_nan=True).encode(), content_type))
