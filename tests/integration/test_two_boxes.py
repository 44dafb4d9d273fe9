"""Two Warmline instances on one Asterisk, sharing one PostgreSQL event store: the dialplan's
[warmline-inbound-pair] alternates calls between their Stasis apps and sends a caller to the
other one when the first is down; every call's events and hand-off payload read the same from
either instance."""

from __future__ import annotations

import contextlib

from warmline.ari_app.scripted import Journals, converse
from warmline.ari_app.simulate import CallerSimulator
from warmline.calls.store import EventStore, Postgres
from warmline.catalog import EVENT_KINDS
from warmline.handoff.payload import load_payload
from warmline.speech.services import build_services

from ..postgres.conftest import postgres  # noqa: F401 - the real PostgreSQL server fixture
from .conftest import assert_stored_in_order, of, running_app, wait_until_empty

PAIR = "warmline-inbound-pair"
ASK_FOR_A_PERSON = [("how_can_i_help", "Can I speak to a real person, please?")]
OFFICE_HOURS = [("how_can_i_help", "What time does your office close today?"), ("did_that_help", "Yes, thanks."),
                ("anything_else", "No, that's all.")]


def instance(sandbox, app: str):
    return sandbox.settings.model_copy(update={"ari": sandbox.settings.ari.model_copy(update={"app": app})})


async def test_two_instances_share_the_calls_and_the_store(sandbox, ari, kit, voices, postgres, tmp_path):  # noqa: F811
    key = tmp_path / "shared.key"
    stores = {app: EventStore(Postgres(postgres.url), EVENT_KINDS, key_file=key) for app in ("warmline", "warmline-b")}
    served: dict[str, str] = {}
    journals = Journals()
    services = build_services(sandbox.settings.vad, sandbox.settings.stt)

    def listeners(app):
        return [journals, stores[app].record, lambda e: served.setdefault(e.call_id, app)]

    try:
        async with contextlib.AsyncExitStack() as both, CallerSimulator(ari) as sim:
            await both.enter_async_context(running_app(instance(sandbox, "warmline"), kit.sessions(services),
                                                       listeners("warmline")))
            await both.enter_async_context(running_app(instance(sandbox, "warmline-b"), kit.sessions(services),
                                                       listeners("warmline-b")))
            first = await converse(sim, journals, voices, await sim.place(context=PAIR), ASK_FOR_A_PERSON)
            second = await converse(sim, journals, voices, await sim.place(context=PAIR), OFFICE_HOURS)
            assert await wait_until_empty(ari, timeout=45) == ([], [])
            await both.aclose()  # both instances stop: the next caller has nobody, and goes to people

        async with running_app(instance(sandbox, "warmline"), kit.sessions(services), listeners("warmline")), \
                CallerSimulator(ari) as sim:
            third = await converse(sim, journals, voices, await sim.place(context=PAIR), OFFICE_HOURS)
            third_again = await converse(sim, journals, voices, await sim.place(context=PAIR), OFFICE_HOURS)
            assert await wait_until_empty(ari, timeout=45) == ([], [])

        ids = [events[0].call_id for events in (first, second, third, third_again)]
        assert {served[ids[0]], served[ids[1]]} == {"warmline", "warmline-b"}  # one call each
        assert served[ids[2]] == served[ids[3]] == "warmline"  # b is down: both turns go to the one up
        for call_id, events in zip(ids, (first, second, third, third_again)):
            for store in stores.values():
                assert_stored_in_order(store.events(call_id), events)  # each later AMI report once
        [prepared] = of(first, "HandoffPrepared")
        assert all(load_payload(store, ids[0]).payload_id == prepared.payload_id for store in stores.values())
        assert of(second, "CallEnded")[0].reason == "contained"
    finally:
        for store in stores.values():
            store.close()
        services.close()
