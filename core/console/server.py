"""The console served beside the calls: `warmline serve` opens it when [console] enabled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from warmline.calls.store import EventStore
from warmline.console.service import Console
from warmline.console.store import ConsoleError, ConsoleStore
from warmline.console.web import make_app, tls_context
from warmline.crm.base import CrmError
from warmline.crm.settings import open_crm
from warmline.nlu.taxonomy import INTENTS
from warmline.speech import prompts

log = logging.getLogger(__name__)


def choices(settings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The queues a re-routed call may have belonged to, and the intents a misread one may have been."""
    queues = {*settings.nlu.queues.values(), *settings.handoff.licensed_queues,
              *(q for p in settings.handoff.producers for q in p.queues)}
    return tuple(sorted(q for q in queues if q and q != "payment")), tuple(INTENTS)


def prompt_texts(settings) -> dict[str, str]:
    try:
        return dict(prompts.load_catalog(settings.prompts).texts)
    except Exception as exc:  # noqa: BLE001 — the pop still shows prompt keys without the catalog
        log.warning("console: the prompt catalog is not readable (%s); the AI's words show as keys",
                    type(exc).__name__)
        return {}


def weekly_review(settings, events: EventStore):
    """The console's /report: `warmline report`'s page, built off the loop from the same store."""
    from warmline.numbers.cli import last_complete_week
    from warmline.numbers.history import Week
    from warmline.numbers.report import build_review, render_html
    from warmline.numbers.routing import current_queues

    def build(week: str | None) -> str:
        review = build_review(events, Week.parse(week) if week else last_complete_week(),
                              queues=current_queues(settings), target=settings.numbers.containment_target,
                              min_transfers=settings.numbers.min_transfers)
        return render_html(review)

    async def report(week: str | None) -> str:
        return await asyncio.to_thread(build, week)  # matplotlib and the store's reads: not on the loop

    return report


@contextlib.asynccontextmanager
async def running_console(settings, events: EventStore | None, metrics=None) -> AsyncIterator[Console]:
    """`metrics`: serve's LiveMetrics, shown at /metrics."""
    """The console's site, up until the block ends. Listen to calls through the Console it yields."""
    cfg = settings.console
    store = ConsoleStore(Path(cfg.database).expanduser())
    try:
        crm = await open_crm(settings.crm)
    except CrmError as exc:
        log.warning("console: no CRM snapshot in pops: %s", exc)
        crm = None
    producers = settings.handoff.producers
    console = Console(cfg, store, events, crm, producers=[p.name for p in producers],
                      queues_of={p.name: set(p.queues) for p in producers})
    queues, intents = choices(settings)
    from warmline.numbers.prometheus import METRICS_KEY, metrics_handler

    app = make_app(console, texts=prompt_texts(settings), queues=queues, intents=intents, metrics=metrics_handler,
                   report=weekly_review(settings, events) if events is not None else None)
    if metrics is not None:
        app[METRICS_KEY] = metrics
    runner = web.AppRunner(app, access_log=None)  # the access log would carry call ids in URLs for nothing
    await runner.setup()
    try:
        ssl = tls_context(cfg.tls_cert, cfg.tls_key) if cfg.tls_cert else None
        site = web.TCPSite(runner, cfg.host, cfg.port, ssl_context=ssl)
        try:
            await site.start()
        except OSError as exc:
            raise ConsoleError(f"the console cannot listen on {cfg.listen} ({exc.strerror}); change [console] "
                               "listen") from None
        await console.start()
        log.info("producer console on %s://%s", "https" if ssl else "http", cfg.listen)
        yield console
    finally:
        await console.stop()
        await runner.cleanup()
        if crm is not None:
            await crm.close()
        store.close()
