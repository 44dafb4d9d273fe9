import asyncio
import contextvars
import io
import json
import logging

import pytest
from warmline.logs import call_id_var, setup_logging


@pytest.fixture
def stream():
    out = io.StringIO()
    yield out
    logging.getLogger().handlers.clear()


async def test_every_line_of_a_call_carries_its_id_even_from_child_tasks(stream):
    setup_logging("INFO", "text", stream=stream)
    log = logging.getLogger("t")

    async def call(call_id):
        call_id_var.set(call_id)
        log.info("started")
        await asyncio.create_task(child())

    async def child():
        await asyncio.sleep(0)
        logging.getLogger("t.child").info("media")

    await asyncio.gather(*(asyncio.create_task(call(c), context=contextvars.copy_context()) for c in ("aaa", "bbb")))
    log.info("outside")
    lines = stream.getvalue().splitlines()
    assert sum("call=aaa" in line for line in lines) == 2
    assert sum("call=bbb" in line for line in lines) == 2
    assert "call=-" in lines[-1]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_a_line(stream, fmt):
    setup_logging("INFO", fmt, secrets=["s3cr3t-pw"], stream=stream)
    log = logging.getLogger("t")
    log.info("connecting with %s", "s3cr3t-pw")
    log.info("url", extra={"url": "http://warmline:s3cr3t-pw@pbx"})
    text = stream.getvalue()
    assert "s3cr3t-pw" not in text
    assert text.count("***") == 2


def test_json_lines_parse_and_keep_extra_fields(stream):
    setup_logging("INFO", "json", stream=stream)
    logging.getLogger("t").info("call ended", extra={"frames": 148, "reason": "caller_hangup"})
    doc = json.loads(stream.getvalue())
    assert doc["msg"] == "call ended" and doc["frames"] == 148 and doc["call_id"] == "-"
