"""The metrics sinks on their own: EMF documents as CloudWatch reads them, at most 100
values per metric, counters summed, gauges read at the flush; nothing when both are off."""

from __future__ import annotations

import json
import sys
import threading
import types
from typing import TYPE_CHECKING, Any

from a2a_gateway import metrics as m

if TYPE_CHECKING:
    import pytest


def documents(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_emf_sums_counters_samples_durations_and_reads_gauges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = m.Metrics("gateway", emf=True)
    metrics.gauge(m.STREAMS_ACTIVE, lambda: 7)
    for _ in range(5):
        metrics.record(m.STREAMS_OPENED)
    metrics.record(m.STREAMS_ENDED, Reason="deadline")
    for i in range(1000):
        metrics.record(m.APPEND_TO_CLIENT, i / 1000)  # seconds, reported in ms
    metrics.flush()
    docs = documents(capsys.readouterr().out)
    plain = next(d for d in docs if "StreamsOpened" in d)
    assert plain["StreamsOpened"] == [5.0]
    values = plain["AppendToClientLatency"]
    assert isinstance(values, list) and len(values) == m.MAX_VALUES
    assert all(0 <= v < 1000 for v in values) and max(values) > 500  # sampled across the range
    assert next(d for d in docs if "StreamsActive" in d)["StreamsActive"] == [7.0]
    ended = next(d for d in docs if "StreamsEnded" in d)
    assert ended["Reason"] == "deadline" and ended["service"] == "gateway"
    directive = ended["_aws"]["CloudWatchMetrics"][0]  # type: ignore[index]
    assert directive["Namespace"] == m.NAMESPACE
    assert sorted(directive["Dimensions"][0]) == ["Reason", "service"]
    metrics.flush()  # the buffer was emptied: only the gauge again
    again = documents(capsys.readouterr().out)
    assert [sorted(k for k in d if k not in ("_aws", "service")) for d in again] == [
        ["StreamsActive"]
    ]


def test_prometheus_names_and_labels(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = m.Metrics("worker", prometheus=True)
    metrics.record(m.WORKER_TURNS, Agent="echo", Outcome="completed")
    metrics.record(m.STREAM_DURATION, 2.0)
    text, media_type = metrics.exposition()
    assert media_type.startswith("text/plain")
    assert b'a2a_worker_turns_total{agent="echo",outcome="completed"} 1.0' in text
    assert b"a2a_stream_duration_seconds_count 1.0" in text
    metrics.flush()  # no EMF configured: nothing written
    assert capsys.readouterr().out == ""


def test_with_both_sinks_off_recording_is_free_of_effects(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = m.Metrics("gateway")
    assert not metrics.enabled
    metrics.record(m.STREAMS_OPENED)
    metrics.flush()
    assert metrics.exposition() == (b"", "text/plain")
    assert capsys.readouterr().out == ""


def test_put_metric_data_sink_reaches_cloudwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's sink on ECS (no EMF extraction there): the same metrics, namespace and
    dimensions through PutMetricData (moto's CloudWatch)."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        metrics = m.Metrics("worker", cloudwatch=True, namespace="A2AGateway/test")
        metrics.gauge(m.TASK_QUEUE_BACKLOG, lambda: 4)
        metrics.record(m.WORKER_TURNS, Agent="echo", Outcome="completed")
        metrics.record(m.WORKER_TURNS, Agent="echo", Outcome="completed")
        metrics.flush()
        listed = boto3.client("cloudwatch").list_metrics(Namespace="A2AGateway/test")["Metrics"]
        found = {
            (x["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in x["Dimensions"])))
            for x in listed
        }
    assert ("TaskQueueBacklog", (("service", "worker"),)) in found
    assert (
        "WorkerTurns",
        (("Agent", "echo"), ("Outcome", "completed"), ("service", "worker")),
    ) in found


def test_put_metric_data_makes_its_client_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client per flush resolved credentials and the endpoint every few seconds; the
    sink keeps the one it made."""
    made: list[str] = []
    sent: list[dict[str, Any]] = []

    class Client:
        def put_metric_data(self, **request: Any) -> None:
            sent.append(request)

    def client(service: str) -> Client:
        made.append(service)
        return Client()

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=client))
    metrics = m.Metrics("worker", cloudwatch=True)
    for _ in range(3):
        metrics.record(m.STREAMS_OPENED)
        metrics.flush()
    assert made == ["cloudwatch"]
    assert [r["MetricData"][0]["Values"] for r in sent] == [[1.0]] * 3


def test_a_flush_from_another_thread_loses_nothing_recorded_meanwhile() -> None:
    """The event loop records while ``asyncio.to_thread(flush)`` drains: every count lands
    in exactly one flush."""
    flushed: list[float] = []

    def sink(service: str, namespace: str, groups: m.Groups) -> None:
        flushed.extend(v for entries in groups.values() for _, vs in entries for v in vs)

    metrics = m.Metrics("gateway", emf=True)
    metrics._sinks = [sink]  # counted here instead of printed
    recorded = 200_000
    done = threading.Event()

    def flushing() -> None:
        while not done.is_set():
            metrics.flush()

    flusher = threading.Thread(target=flushing)
    flusher.start()
    try:
        for _ in range(recorded):
            metrics.record(m.STREAMS_OPENED)
    finally:
        done.set()
        flusher.join()
    metrics.flush()
    assert sum(flushed) == recorded
