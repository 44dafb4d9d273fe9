"""Live numbers for Prometheus: counters and histograms fed by every call's events as they happen.

`LiveMetrics` is a journal listener (a callable taking each CallEvent; `serve` also feeds it what
the event store commits, so events recorded outside a call's journal — the console's dispositions
— are counted too). Each call is folded by the same `CallFold` the weekly numbers use, and what
the fold observes is counted. Labels are closed sets: intent, call type, reason code, outcome,
queue, disposition — never a caller's number, name or words.

`metrics_handler` is the aiohttp handler the console mounts at /metrics; `metrics_server` is the
standalone server `[metrics] listen` starts when there is no console.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Iterable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from warmline.calls.events import CallEnded, CallEvent, CallStarted
from warmline.numbers.facts import CallFold, Observation
from warmline.numbers.settings import NumbersError

log = logging.getLogger(__name__)

ENDED_KEPT = 5000  # calls remembered after they end: a disposition or a survey may still come
LATENCY_BUCKETS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0)
DECODE_BUCKETS = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 6.0)
HOLD_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0)
HANDLE_BUCKETS = (60.0, 120.0, 180.0, 300.0, 450.0, 600.0, 900.0, 1200.0, 1800.0)
SCORE_BUCKETS = (1.0, 2.0, 3.0, 4.0, 5.0)


class LiveMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self.counters = {
            "call_started": Counter("warmline_calls", "Calls that reached Warmline", registry=r),
            "conversation": Counter("warmline_conversations", "Conversations ended, by outcome (contained, "
                                    "escalated, abandoned), the caller's first intent and its call type",
                                    ["outcome", "intent", "call_type"], registry=r),
            "escalation": Counter("warmline_escalations", "Escalations to a person, by reason code, intent and queue",
                                  ["reason", "intent", "queue"], registry=r),
            "call_ended": Counter("warmline_call_ends", "Calls ended, by how", ["reason"], registry=r),
            "identity_check": Counter("warmline_identity_checks", "Identity checks: verified (once per call) or "
                                      "failed (each failed attempt)", ["result"], registry=r),
            "lost_on_hold": Counter("warmline_lost_on_hold", "Escalated callers who hung up before a person took them",
                                    ["queue"], registry=r),
            "disposition": Counter("warmline_dispositions", "Producers' dispositions of transfers, by the intent the "
                                   "AI read", ["disposition", "intent"], registry=r),
            "caller_repeated": Counter("warmline_caller_repeated", "Transfers where the caller had to repeat what the "
                                       "AI already had", ["intent"], registry=r),
        }
        self.histograms = {
            "turn_latency_seconds": Histogram("warmline_turn_latency_seconds", "End of the caller's speech to the "
                                              "start of the next prompt", buckets=LATENCY_BUCKETS, registry=r),
            "stt_decode_seconds": Histogram("warmline_stt_decode_seconds", "Speech-to-text time per utterance, "
                                            "waiting for a worker included", buckets=DECODE_BUCKETS, registry=r),
            "hold_seconds": Histogram("warmline_hold_seconds", "Escalation to a person taking the caller",
                                      ["queue"], buckets=HOLD_BUCKETS, registry=r),
            "handle_seconds": Histogram("warmline_handle_seconds", "Producer handle time on escalated calls (bridged "
                                        "to hang-up)", ["queue"], buckets=HANDLE_BUCKETS, registry=r),
            "survey_score": Histogram("warmline_survey_score", "Post-call survey answers (1-5), after the AI or a "
                                      "producer served the caller", ["after"], buckets=SCORE_BUCKETS, registry=r),
        }
        self.active = Gauge("warmline_calls_active", "Calls in progress", registry=r)
        self._live: dict[str, CallFold] = {}
        self._ended: OrderedDict[str, CallFold] = OrderedDict()

    def __call__(self, event: CallEvent) -> None:
        """The journal listener: count what this event tells."""
        try:
            for observation in self._fold(event).feed(event):
                self.observe(observation)
        finally:
            if isinstance(event, CallEnded):
                self._end(event.call_id)

    def on_commit(self, events: Iterable[CallEvent]) -> None:
        """The event store's commit hook (its writer thread): every event this process stored."""
        for event in events:
            try:
                self(event)
            except Exception:  # the numbers must never stop the store
                log.exception("live metrics: %s not counted", type(event).__name__)

    def observe(self, o: Observation) -> None:
        labels = dict(o.labels)
        if o.metric in self.counters:
            counter = self.counters[o.metric]
            (counter.labels(**labels) if labels else counter).inc(o.value)
        elif o.metric in self.histograms:
            histogram = self.histograms[o.metric]
            (histogram.labels(**labels) if labels else histogram).observe(o.value)

    def add_collector(self, collector) -> None:
        self.registry.register(collector)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def _fold(self, event: CallEvent) -> CallFold:
        call_id = event.call_id
        fold = self._live.get(call_id) or self._ended.get(call_id)
        if fold is None:
            fold = self._live[call_id] = CallFold(call_id)
            self.active.set(len(self._live))
        if isinstance(event, CallStarted) and call_id in self._ended:  # an id reused: a new call
            fold = self._live[call_id] = CallFold(call_id)
            del self._ended[call_id]
        return fold

    def _end(self, call_id: str) -> None:
        fold = self._live.pop(call_id, None)
        if fold is not None:
            self._ended[call_id] = fold
            while len(self._ended) > ENDED_KEPT:
                self._ended.popitem(last=False)
        self.active.set(len(self._live))


class SttPoolCollector:
    """The speech pool's queue and workers at scrape time (warmline.speech.stt.pool.SttPool)."""

    def __init__(self, pool) -> None:
        self.pool = pool

    def collect(self):
        m = self.pool.metrics
        yield GaugeMetricFamily("warmline_stt_waiting", "Decodes waiting for a worker now", value=m.waiting)
        yield GaugeMetricFamily("warmline_stt_busy", "Decodes running now", value=m.busy)
        yield GaugeMetricFamily("warmline_stt_workers", "Decode workers", value=self.pool.workers)
        rejected = CounterMetricFamily("warmline_stt_rejected", "Decodes refused: every worker busy, queue full")
        rejected.add_metric([], m.rejected)
        yield rejected
        timed_out = CounterMetricFamily("warmline_stt_timed_out", "Decodes past the deadline")
        timed_out.add_metric([], m.timed_out)
        yield timed_out


_LIVE: LiveMetrics | None = None


def live() -> LiveMetrics:
    """The process's live metrics (what serve feeds and /metrics shows)."""
    global _LIVE
    if _LIVE is None:
        _LIVE = LiveMetrics()
    return _LIVE


METRICS_KEY = web.AppKey("warmline_metrics", LiveMetrics)


async def metrics_handler(request: web.Request) -> web.Response:
    """GET /metrics in Prometheus' text format: the app's LiveMetrics (app[METRICS_KEY]), else the process's."""
    metrics = request.app.get(METRICS_KEY) or live()
    response = web.Response(body=metrics.exposition())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


def metrics_app(metrics: LiveMetrics | None = None) -> web.Application:
    app = web.Application()
    if metrics is not None:
        app[METRICS_KEY] = metrics
    app.router.add_get("/metrics", metrics_handler)
    return app


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


async def start_metrics_server(listen: str, metrics: LiveMetrics | None = None) -> web.AppRunner:
    """GET /metrics on host:port (`[metrics] listen`, when no console serves it); `cleanup()` the runner to stop."""
    host, port = split_listen(listen)
    runner = web.AppRunner(metrics_app(metrics), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise NumbersError(f"[metrics] listen {listen}: cannot listen there ({exc.strerror or exc}); "
                           "choose a free host:port, or empty to serve /metrics on the console only") from None
    log.info("metrics on http://%s:%d/metrics", host, port)
    return runner


@contextlib.asynccontextmanager
async def metrics_server(listen: str, metrics: LiveMetrics | None = None):
    """The standalone server for the length of a block."""
    runner = await start_metrics_server(listen, metrics)
    try:
        yield runner
    finally:
        await runner.cleanup()
