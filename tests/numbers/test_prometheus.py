"""/metrics: calls' events fed live, scraped over HTTP on 127.0.0.1 and read by Prometheus' own parser."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from warmline.handoff.events import Disposition
from warmline.numbers.prometheus import LiveMetrics, SttPoolCollector, metrics_server
from warmline.numbers.settings import MetricsSettings, NumbersError
from warmline.numbers.synthetic import SyntheticCall, Turn, events_of
from warmline.speech.stt.pool import PoolMetrics

T0 = 1_795_000_000.0
CALLS = [
    SyntheticCall(call_id="a", start=T0, intent="billing_inquiry", outcome="contained", verified=True, survey=5,
                  text="what do I owe, my number is 555 123 4567", turns=(Turn(6.0, latency=1.0, decode=0.4),)),
    SyntheticCall(call_id="b", start=T0 + 60, intent="policy_change", outcome="escalated", reason="regulated_intent",
                  queue="licensed", hold=20.0, handle=240.0, disposition=Disposition.MISIDENTIFIED,
                  corrected="billing_dispute", repeated=True, survey=3),
    SyntheticCall(call_id="c", start=T0 + 120, intent="coverage_advice", outcome="escalated",
                  reason="regulated_intent", queue="licensed", lost=True),
]


async def scrape(metrics: LiveMetrics) -> tuple[dict, str, str]:
    async with metrics_server("127.0.0.1:0", metrics) as runner:
        host, port = runner.addresses[0][:2]
        assert host == "127.0.0.1"
        async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/metrics") as response:
            assert response.status == 200
            text = await response.text()
            kind = response.headers["Content-Type"]
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, text, kind


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_metrics_parse_and_count_the_calls():
    metrics = LiveMetrics()
    for call in CALLS:
        for event in events_of(call):
            metrics(event)
    metrics.add_collector(SttPoolCollector(type("Pool", (), {"metrics": PoolMetrics(waiting=2, busy=1, rejected=3),
                                                             "workers": 2})()))
    samples, text, kind = await scrape(metrics)
    assert kind.startswith("text/plain")
    assert value(samples, "warmline_calls_total") == 3
    assert value(samples, "warmline_conversations_total", outcome="contained", intent="billing_inquiry",
                 call_type="billing") == 1
    assert value(samples, "warmline_escalations_total", reason="regulated_intent", intent="policy_change",
                 queue="licensed") == 1
    assert value(samples, "warmline_dispositions_total", disposition="misidentified", intent="policy_change") == 1
    assert value(samples, "warmline_caller_repeated_total", intent="policy_change") == 1
    assert value(samples, "warmline_lost_on_hold_total", queue="licensed") == 1
    assert value(samples, "warmline_identity_checks_total", result="verified") == 1
    assert value(samples, "warmline_hold_seconds_count", queue="licensed") == 1
    assert value(samples, "warmline_hold_seconds_sum", queue="licensed") == pytest.approx(20.0)
    assert value(samples, "warmline_handle_seconds_sum", queue="licensed") == pytest.approx(240.0)
    assert value(samples, "warmline_survey_score_bucket", after="ai", le="4.0") == 0
    assert value(samples, "warmline_survey_score_bucket", after="ai", le="5.0") == 1
    assert value(samples, "warmline_turn_latency_seconds_count") == 3
    assert value(samples, "warmline_stt_waiting") == 2 and value(samples, "warmline_stt_rejected_total") == 3
    assert value(samples, "warmline_calls_active") == 0
    # no personal data in any label or value: the caller's words and number never reach /metrics
    assert "555" not in text and "owe" not in text and "+1555" not in text


async def test_a_disposition_after_the_call_ended_keeps_the_reading_of_the_call():
    metrics = LiveMetrics()
    events = events_of(CALLS[1])
    disposition = events.pop()  # DispositionRecorded comes last, after CallEnded
    for event in events:
        metrics(event)
    metrics.on_commit([disposition])  # as the store's commit hook delivers it
    samples, _, _ = await scrape(metrics)
    assert value(samples, "warmline_dispositions_total", disposition="misidentified", intent="policy_change") == 1


async def test_a_busy_port_is_a_one_line_error_naming_the_setting():
    async with metrics_server("127.0.0.1:0") as runner:
        port = runner.addresses[0][1]
        with pytest.raises(NumbersError, match=r"\[metrics\] listen 127.0.0.1:\d+: cannot listen there"):
            async with metrics_server(f"127.0.0.1:{port}"):
                pass


@pytest.mark.parametrize("listen, ok", [("", True), ("127.0.0.1:9464", True), ("[::1]:9464", True),
                                        ("localhost", False), ("127.0.0.1:99999", False), ("http://x:1", False)])
def test_listen_setting(listen, ok):
    if ok:
        assert MetricsSettings(listen=listen).listen == listen
    else:
        with pytest.raises(ValueError, match="host:port"):
            MetricsSettings(listen=listen)


def test_the_grafana_dashboard_reads_only_metrics_warmline_exports():
    """Every series a panel queries is one /metrics serves (a renamed metric breaks this, not a dashboard)."""
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs/grafana/warmline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\bwarmline_[a-z_]+", e)}
    metrics = LiveMetrics()
    for call in CALLS:
        for event in events_of(call):
            metrics(event)
    metrics.add_collector(SttPoolCollector(type("Pool", (), {"metrics": PoolMetrics(), "workers": 2})()))
    exported = {s.name for f in text_string_to_metric_families(metrics.exposition().decode()) for s in f.samples}
    assert used and used <= exported, sorted(used - exported)
    labels = {m for e in exprs for m in re.findall(r"by \(([a-z_]+)\)", e)}
    assert labels <= {"call_type", "reason", "le", "disposition"}
