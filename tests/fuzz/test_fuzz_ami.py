"""AMI over TCP: whatever the far end sends, `ami_login_check` returns its line or raises AmiError
in one line, and nothing is logged with a traceback (panoramisk parses inside asyncio callbacks,
where an exception becomes a logged traceback instead of reaching the caller)."""

import asyncio
import logging
from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from warmline.ari_app.ami import AmiError, ami_login_check
from warmline.ari_app.settings import AmiSettings

from tests.fuzz.clean import Recording, assert_clean

BANNER = b"Asterisk Call Manager/5.0.1\r\n"
TIMEOUT_S = 0.05  # an answer that never completes costs this much per example


@pytest.fixture(scope="module")
def logs():
    handler = Recording()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def _read_action(reader: asyncio.StreamReader) -> str:
    """The ActionID of the next action the client sends."""
    block = (await reader.readuntil(b"\r\n\r\n")).decode("ascii", "replace")
    return next((line.partition(": ")[2] for line in block.split("\r\n") if line.lower().startswith("actionid:")), "")


async def _scenario(answers: list, tracebacks: list):
    """A server that greets, then answers each action (Login, Ping) with answers[i](action_id)."""
    asyncio.get_running_loop().set_exception_handler(lambda loop, context: tracebacks.append(context))

    handlers: list[asyncio.Task] = []

    async def serve(reader, writer):
        handlers.append(asyncio.current_task())
        try:
            writer.write(BANNER)
            for answer in answers:
                writer.write(answer(await _read_action(reader)))
                await writer.drain()
            await reader.read()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings_ = AmiSettings(enabled=True, host="127.0.0.1", port=port, username="warmline", password="fuzz")
        return await ami_login_check(settings_, timeout=TIMEOUT_S)
    finally:
        server.close()
        await asyncio.wait(handlers, timeout=1) if handlers else None  # the client closed: they end


def check_or_clean_error(logs, answers) -> None:
    logs.records.clear()
    tracebacks: list = []
    try:
        line = asyncio.run(_scenario(answers, tracebacks))
    except AmiError as exc:
        assert_clean(exc, AmiError)
    else:
        assert isinstance(line, str) and len(line.splitlines()) == 1
    assert not tracebacks, f"asyncio caught {tracebacks[0].get('exception')!r}: {tracebacks[0].get('message')}"
    for record in logs.records:
        assert record.exc_info is None, f"{record.name} logged a traceback: {record.getMessage()}"


def raw(data: bytes):
    return lambda action_id: data


@settings(max_examples=40)
@given(st.binary(max_size=200))
@example(b"")  # no answer to Login: wait_for cancelled the future, Manager.login logged a traceback
def test_arbitrary_bytes_after_the_banner(logs, data):
    check_or_clean_error(logs, [raw(data)])


header_names = st.sampled_from(["Response", "Message", "ActionID", "EventList", "Event", "SubEvent", "Ping",
                                "Timestamp"]) | st.text("abcXYZ-", min_size=1, max_size=8)
header_values = (st.sampled_from(["Success", "Error", "Follows", "Goodbye", "start", "Complete", "Pong",
                                  "Authentication accepted", "will follow", ""])
                 | st.text(st.characters(codec="ascii"), max_size=20))


@st.composite
def replies(draw):
    """An AMI response to the action: the real headers, some dropped or changed, extra ones added."""
    real = [("Response", draw(st.sampled_from(["Success", "Error"]) | header_values)), ("ActionID", None),
            ("Message", draw(header_values))]
    kept = [h for h in real if draw(st.integers(0, 5))]  # usually kept
    extra = draw(st.lists(st.tuples(header_names, header_values), max_size=3))
    headers = kept + extra
    order = draw(st.permutations(range(len(headers))))
    ending = draw(st.sampled_from([b"\r\n\r\n", b"\r\n\r\n", b"\n\n", b""]))

    return Answer(tuple(headers[i] for i in order), ending)


@dataclass(frozen=True)
class Answer:
    """One AMI response; a header whose value is None carries the action's ActionID."""

    headers: tuple[tuple[str, str | None], ...]
    ending: bytes = b"\r\n\r\n"

    def __call__(self, action_id: str) -> bytes:
        lines = [f"{name}: {action_id if value is None else value}" for name, value in self.headers]
        return "\r\n".join(lines).encode("ascii", "replace") + self.ending


LOGIN_OK = Answer((("Response", "Success"), ("ActionID", None), ("Message", "Authentication accepted")))


@settings(max_examples=80)
@given(st.lists(replies(), min_size=1, max_size=2))
@example([LOGIN_OK, Answer((("Response", "Success"), ("ActionID", None), ("Ping", "Pong")))])  # all well
@example([Answer((("Response", "Success"), ("ActionID", None), ("ActionID", "x")))])  # panoramisk: unhashable list
@example([LOGIN_OK, Answer((("Response", "Error"), ("ActionID", None), ("Message", "a\rb")))])  # a CR in the reason
def test_real_answers_mutated(logs, answers):
    check_or_clean_error(logs, answers)
