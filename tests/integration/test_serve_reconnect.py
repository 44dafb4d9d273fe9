"""`warmline serve` survives Asterisk stopping under it: logged once, reconnects, serves again."""

import asyncio
import json
import os
import signal
import sys

import aiohttp
import pytest
from warmline.ari_app.client import AriClient
from warmline.ari_app.simulate import place_call

from .conftest import sandbox_cmd, start_sandbox, stop_sandbox, wait_until_empty


@pytest.fixture(scope="module")
def own_sandbox():
    box = start_sandbox(f"test-{os.getpid()}-restart")  # stopped and restarted: not shared
    yield box
    stop_sandbox(box)


class ServeProcess:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[dict] = []
        self.raw: list[str] = []
        self.reader = asyncio.create_task(self._read(), name="serve-log-reader")

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            text = raw.decode(errors="replace").rstrip("\n")
            self.raw.append(text)
            try:
                self.lines.append(json.loads(text))
            except ValueError:
                pass

    def count(self, msg: str) -> int:
        return sum(line.get("msg") == msg for line in self.lines)

    async def wait_for(self, msg: str, n: int = 1, timeout: float = 30) -> dict:
        async def seen():
            while self.count(msg) < n:
                await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            tail = "\n".join(self.raw[-25:])
            raise AssertionError(f"serve did not log {msg!r} (x{n}) within {timeout} s; its last lines:\n{tail}") from None
        return [line for line in self.lines if line.get("msg") == msg][n - 1]


async def serve_one_call(client: AriClient, serve: ServeProcess, nth: int) -> dict:
    call = await place_call(client, "tt-weasels")
    await serve.wait_for("media connected", nth)
    await call.speak(client)
    ended = await serve.wait_for("call ended", nth)
    assert await wait_until_empty(client) == ([], [])
    return ended


async def test_serve_reconnects_after_asterisk_restarts(own_sandbox):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARMLINE_")}
    env["WARMLINE_LOG__FORMAT"] = "json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "warmline.cli", "serve", "-c", own_sandbox.state["config"],
        stderr=asyncio.subprocess.PIPE, env=env,
    )
    serve = ServeProcess(proc)
    try:
        await serve.wait_for("connected to ARI")
        async with aiohttp.ClientSession() as http:
            client = AriClient(own_sandbox.settings.ari, http)
            first = await serve_one_call(client, serve, 1)
            assert first["reason"] == "caller_hangup" and first["frames"] > 100

            await place_call(client, "tt-weasels")  # in flight when Asterisk goes away
            await serve.wait_for("media connected", 2)
            assert sandbox_cmd("stop", "--name", own_sandbox.name).returncode == 0
            await serve.wait_for("lost the ARI connection; reconnecting")
            lost = await serve.wait_for("call ended", 2)
            assert lost["reason"] == "pbx_lost"  # not caller_hangup: the caller did not hang up
            await asyncio.sleep(4)  # several reconnect attempts while Asterisk is down
            assert sandbox_cmd("up", "--name", own_sandbox.name).returncode == 0
            await serve.wait_for("reconnected to ARI")

            second = await serve_one_call(client, serve, 3)
            assert second["reason"] == "caller_hangup" and second["frames"] > 100
            assert second["call_id"] != first["call_id"]
        assert proc.returncode is None, "serve exited"
        assert serve.count("lost the ARI connection; reconnecting") == 1
        unreachable = [line for line in serve.lines if line.get("msg", "").startswith("ARI unreachable")]
        assert len(unreachable) <= 1, "the outage was logged more than once"
        call_lines = [line for line in serve.lines if line.get("msg") in ("call started", "media connected", "call ended")]
        assert call_lines and all(line["call_id"] not in ("-", "") for line in call_lines)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 15)
        await serve.reader
    assert proc.returncode == 0
    everything = "\n".join(serve.raw)
    for secret in (own_sandbox.state["ari_password"], own_sandbox.state["ami_password"]):
        assert secret not in everything, "a credential reached the log"
    assert "5550100" not in everything, "the caller's number reached the log"
