"""Faults inside a call's own work, on the sandbox with the real conversation: a decoder that
raises or hangs, a CRM that hangs or refuses, a producer console that hangs or refuses the hand-off
push (the producer's phone still rings at once). Each time the transfer to a person begins within 5 s
of the fault taking effect (a decode failing or reaching its deadline, the CRM refusing or its
timeout expiring; the caller hears the transfer message meanwhile), the reason is recorded, and
nothing of Warmline's is left on the PBX."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from warmline.ari_app.console import PUSH_TIMEOUT_S
from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.crm.base import GuardedCrm
from warmline.crm.http import HttpCrm
from warmline.crm.seed import DEMO_CALLER
from warmline.crm.settings import HttpCrmSettings
from warmline.speech.services import SpeechServices, build_services
from warmline.speech.stt.pool import SttPool

from .conftest import of, running_app, wait_until_empty
from .test_transfer import hang_up_when_bridged, producer, transfer_call

PERSON_WITHIN_S = 5.0
REQUEST = "Hi, I'd like to know my current balance."
POLICY_KEYS = f"keys:{DEMO_CALLER.policy_number}#"


class RaisingEngine:
    name, sample_rates, streaming = "raising", (16000,), False

    def transcribe(self, audio, rate):
        raise RuntimeError("decoder crashed")

    def describe(self):
        return self.name


class HangingEngine(RaisingEngine):
    name = "hanging"

    def transcribe(self, audio, rate):
        time.sleep(30)  # past any deadline: the pool abandons and replaces this worker
        return ""


class HangingCrm:
    """A CRM that accepts the request and never answers (the guard's timeout must end it)."""

    def __init__(self, real):
        self.real = real

    async def find_policy(self, number):
        await asyncio.Event().wait()

    def __getattr__(self, name):
        return getattr(self.real, name)


async def escalated_call(sandbox, ari, kit, voices, services, script):
    journals = Journals()
    async with running_app(sandbox.settings, kit.sessions(services), [journals]), CallerSimulator(ari) as sim:
        call = await sim.place()
        events = await converse(sim, journals, voices, call, script)
        assert await wait_until_empty(ari, timeout=45) == ([], []), "legs or bridges left behind"
    return events


def handed_on_after(events, start) -> float:
    """Seconds from `start` (wall clock) until the transfer to a person began."""
    [planned] = of(events, "TransferPlanned") or [None]
    assert planned is not None, [type(e).__name__ for e in events]
    return planned.at - start


def question_end(events, key: str) -> float:
    return next(e.at for e in of(events, "PromptEnded") if e.prompt.split()[0] == key)


@pytest.mark.parametrize("engine,timeout_s", [(RaisingEngine(), 6.0), (HangingEngine(), 2.0)], ids=["raises", "hangs"])
async def test_a_failing_decoder_hands_the_caller_to_a_person(sandbox, ari, kit, voices, engine, timeout_s):
    real = build_services(sandbox.settings.vad, sandbox.settings.stt)
    services = SpeechServices(real.vad, real.segmenter, SttPool(engine, workers=2, decode_timeout_s=timeout_s))
    try:
        events = await escalated_call(sandbox, ari, kit, voices, services, [("how_can_i_help", REQUEST)])
    finally:
        services.stt.close()
        real.close()
    [failed] = of(events, "SpeechFailed")
    [decided] = of(events, "EscalationDecided")
    assert decided.reason == "system_error" and "speech not decoded" in decided.detail
    # the fault takes effect when the decode fails (at once, or at its deadline)
    waited = handed_on_after(events, failed.at)
    print(f"\ndecoder {engine.name}: transfer began {waited:.2f} s after the failed decode")
    assert waited < PERSON_WITHIN_S
    assert failed.at - question_end(events, "how_can_i_help") < 15  # bounded by the deadline, not stuck
    assert of(events, "CallEnded")[0].reason in ("handed_to", "abandoned")


async def refusing_crm():
    crm = await HttpCrm.open(HttpCrmSettings(base_url="http://127.0.0.1:9", token_env=""), 1.5)  # nothing listens on port 9
    return crm


@pytest.mark.parametrize("fault", ["hangs", "refuses"])
async def test_a_failing_crm_hands_the_caller_to_a_person(sandbox, ari, kit, voices, fault):
    guarded: GuardedCrm = kit.crm
    real = guarded.inner
    faulty = HangingCrm(real) if fault == "hangs" else await refusing_crm()
    guarded.inner = _PolicyFrom(faulty, real)
    services = build_services(sandbox.settings.vad, sandbox.settings.stt)
    try:
        events = await escalated_call(sandbox, ari, kit, voices, services,
                                      [("how_can_i_help", REQUEST), ("verify_policy", POLICY_KEYS)])
    finally:
        guarded.inner = real
        if fault == "refuses":
            await faulty.close()
        services.close()
    [keyed] = of(events, "KeysPressed")
    [decided] = of(events, "EscalationDecided")
    assert decided.reason == "action_failed"  # the flow cannot go on without the CRM
    took_effect = keyed.at + (guarded.timeout_s if fault == "hangs" else 0.0)
    waited = handed_on_after(events, took_effect)
    print(f"\nCRM {fault}: transfer began {waited:.2f} s after the fault took effect "
          f"({handed_on_after(events, keyed.at):.2f} s after the keys; [crm] timeout_s {guarded.timeout_s:g} s)")
    assert waited < PERSON_WITHIN_S


class _PolicyFrom:
    """The real CRM for everything but find_policy, which goes to the faulty one."""

    def __init__(self, faulty, real):
        self.faulty, self.real = faulty, real

    async def find_policy(self, number):
        return await self.faulty.find_policy(number)

    def __getattr__(self, name):
        return getattr(self.real, name)


class SilentConsole:
    """A producer console that takes the hand-off push and never answers."""

    async def __aenter__(self) -> str:
        async def never(request):
            await asyncio.sleep(3600)

        app = web.Application()
        app.router.add_post("/pop", never)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/pop"

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()


@pytest.mark.parametrize("fault", ["hangs", "refuses"])
async def test_a_failing_console_push_does_not_hold_up_the_transfer(sandbox, ari, kit, voices, tmp_path, fault):
    async with SilentConsole() as silent:
        url = silent if fault == "hangs" else "http://127.0.0.1:9/pop"  # nothing listens on port 9
        events, _, stored = await transfer_call(sandbox, ari, kit, voices, tmp_path, [producer("accept")],
                                                during=hang_up_when_bridged, console_url=url)
    [prepared] = of(events, "HandoffPrepared")
    [ringing] = of(events, "ProducerRinging")
    assert stored is not None and of(events, "TransferBridged"), "the producer must still get the caller"
    waited = ringing.at - prepared.at
    print(f"\nconsole push {fault}: the producer's phone rang {waited:.2f} s after the payload was stored")
    assert waited < PUSH_TIMEOUT_S + 2.0  # the push is bounded; the ring is never held for it
    assert of(events, "CallEnded")[0].reason == "handed_to"
