"""Warmline dead, hung or doubled: a caller reaches a person within 5 s, and the health check tells
the truth. `warmline serve` and `warmline watchdog` run as real processes against the sandbox."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager

import pytest
from warmline.ari_app.lease import lease_variable
from warmline.ari_app.simulate import place_call

from .conftest import channel_context
from .test_resilience import (
    FALLBACK_CONTEXTS,
    hang_up_all,
    wait_context,
    warmline_parts_gone,
)

WARMLINE = [sys.executable, "-m", "warmline.cli"]
PERSON_WITHIN_S = 5.0


def start(command: str, sandbox, **env) -> subprocess.Popen:
    environ = {**os.environ, "WARMLINE_DIALOG__ENABLED": "false", **env}  # listen only: quicker to start
    return subprocess.Popen([*WARMLINE, command, "-c", sandbox.state["config"]], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.stderr.read() if process.stderr else ""


async def serving(ari, app: str, timeout: float = 60.0) -> None:
    """Until the lease is renewed (serve took the app), or fail."""
    deadline, seen = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        value = (await ari.get("/asterisk/variable", params={"variable": lease_variable(app)}))["value"]
        if value and seen is not None and value != seen:
            return
        seen = value
        await asyncio.sleep(0.3)
    pytest.fail("warmline serve never renewed its lease")


async def in_stasis(ari, channel_id: str, app: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if channel_id in (await ari.get(f"/applications/{app}")).get("channel_ids", []):
            channel = await ari.get(f"/channels/{channel_id}", missing_ok=True)
            if channel and channel.get("state") == "Up":  # answered by serve
                return
        await asyncio.sleep(0.1)
    pytest.fail("the caller never reached Warmline")


@asynccontextmanager
async def clean(ari, app, *processes):
    try:
        yield
    finally:
        for process in processes:
            stop(process)
        await ari.post("/asterisk/variable", params={"variable": lease_variable(app), "value": ""})
        await hang_up_all(ari)


async def health(sandbox) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(subprocess.run, [*WARMLINE, "health", "-c", sandbox.state["config"]],
                                   capture_output=True, text=True, timeout=30)


async def test_serve_killed_the_watchdog_hands_the_caller_to_a_person_within_5s(sandbox, ari):
    app = sandbox.settings.ari.app
    serve, watchdog = start("serve", sandbox), start("watchdog", sandbox)
    async with clean(ari, app, serve, watchdog):
        await serving(ari, app)
        assert (await health(sandbox)).returncode == 0
        call = await place_call(ari, "tt-weasels", linger_s=30)
        await in_stasis(ari, call.caller_channel_id, app)
        serve.kill()  # -9: no goodbye, the lease just stops being renewed
        killed = time.monotonic()
        channel = await wait_context(ari, call.caller_channel_id, FALLBACK_CONTEXTS, timeout=10)
        took = time.monotonic() - killed
        assert channel_context(channel) in FALLBACK_CONTEXTS, channel
        assert took < PERSON_WITHIN_S, f"the caller waited {took:.1f} s for a person"
        print(f"kill -9 of serve → caller at the fallback (watchdog): {took:.2f} s")
        assert await warmline_parts_gone(ari, app), "the dead serve's media channel or bridge was kept"
        verdict = await health(sandbox)
        assert verdict.returncode == 1 and "stopped renewing its lease" in verdict.stdout, verdict.stdout
        assert watchdog.poll() is None, "the watchdog died"


async def test_a_second_serve_refuses_and_the_first_keeps_the_calls(sandbox, ari):
    app = sandbox.settings.ari.app
    first = start("serve", sandbox)
    async with clean(ari, app, first):
        await serving(ari, app)
        second = start("serve", sandbox)
        try:
            rc = await asyncio.to_thread(second.wait, 60)
        finally:
            err = stop(second)
        assert rc == 2, err
        lines = [line for line in err.splitlines() if line.startswith("warmline:")]
        assert len(lines) == 1 and "another Warmline" in lines[0] and "is serving Stasis app" in lines[0], err
        assert first.poll() is None
        call = await place_call(ari, "tt-weasels", linger_s=10)
        await in_stasis(ari, call.caller_channel_id, app)  # the first one still answers


async def test_serve_restarted_at_once_hands_stranded_callers_on_while_loading(sandbox, ari):
    app = sandbox.settings.ari.app
    serve = start("serve", sandbox)
    async with clean(ari, app, serve):
        await serving(ari, app)
        call = await place_call(ari, "tt-weasels", linger_s=30)
        await in_stasis(ari, call.caller_channel_id, app)
        serve.kill()
        killed = time.monotonic()
        again = start("serve", sandbox)  # no watchdog: the new process must do it
        try:
            channel = await wait_context(ari, call.caller_channel_id, FALLBACK_CONTEXTS, timeout=10)
            took = time.monotonic() - killed
            assert channel_context(channel) in FALLBACK_CONTEXTS, channel
            assert took < PERSON_WITHIN_S, f"the caller waited {took:.1f} s for a person"
            print(f"kill -9 of serve, restarted at once → caller at the fallback: {took:.2f} s")
        finally:
            stop(again)
