"""What the gateway and the worker count, and where it goes: Prometheus text at
``/metrics`` (``prometheus-client``; containers, ``make dev``) and CloudWatch embedded
metric format on standard output (Powertools ``EphemeralMetrics``; AWS). Either, both or
neither are on (``A2A_METRICS_ENDPOINT``, ``A2A_METRICS_EMF``); with neither, recording
costs a method call. docs/operations.md lists every metric with its meaning.

Every metric has one name per sink: ``Metric.name`` for CloudWatch (namespace
``A2AGateway``, dimension ``Service`` plus the metric's own), and ``Metric.prom`` for
Prometheus (``a2a_…``; counters get ``_total``, durations are in seconds). Labels are
closed sets (reasons, outcomes, JSON-RPC codes, agent names from the routing file), never
a caller's value, so no caller can grow the series.

EMF (Lambda, where the log stream becomes metrics) and ``PutMetricData``
(``A2A_METRICS_CLOUDWATCH``: ECS, where it does not without the CloudWatch agent) are
buffered in process and written every ``A2A_METRICS_FLUSH_SECONDS`` and at shutdown, to
the namespace ``A2A_METRICS_NAMESPACE``: counters as sums, durations as up to
``MAX_VALUES`` values each (sampled evenly beyond that), gauges read at the flush.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

NAMESPACE = "A2AGateway"
MAX_VALUES = 100
"""CloudWatch takes at most 100 values of one metric in one EMF document."""

Kind = Literal["counter", "histogram", "gauge"]
_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


@dataclass(frozen=True)
class Metric:
    """One metric: its CloudWatch name, unit and kind, its Prometheus name and help, its
    dimensions (label names), and the factor from the recorded value to CloudWatch's unit
    (durations are recorded in seconds)."""

    name: str
    unit: str
    kind: Kind
    prom: str
    help: str
    labels: tuple[str, ...] = ()
    to_unit: float = 1.0


STREAMS_ACTIVE = Metric(
    "StreamsActive", "Count", "gauge", "a2a_streams_active", "Streams open in this process"
)
STREAMS_OPENED = Metric(
    "StreamsOpened", "Count", "counter", "a2a_streams_opened", "Streams started"
)
STREAMS_ENDED = Metric(
    "StreamsEnded",
    "Count",
    "counter",
    "a2a_streams_ended",
    "Streams ended, by reason: final, deadline, disconnect, cut, drain, error",
    ("Reason",),
)
STREAMS_REFUSED = Metric(
    "StreamsRefused",
    "Count",
    "counter",
    "a2a_streams_refused",
    "Streams refused before they started, by reason: capacity, limit",
    ("Reason",),
)
EVENTS_DELIVERED = Metric(
    "EventsDelivered", "Count", "counter", "a2a_events_delivered", "Events handed to streams"
)
TIME_TO_FIRST_EVENT = Metric(
    "TimeToFirstEvent",
    "Milliseconds",
    "histogram",
    "a2a_time_to_first_event_seconds",
    "From a stream's request to its first event",
    to_unit=1000.0,
)
APPEND_TO_CLIENT = Metric(
    "AppendToClientLatency",
    "Milliseconds",
    "histogram",
    "a2a_append_to_client_seconds",
    "From an event's append to Redis to its hand-off to the client's stream",
    to_unit=1000.0,
)
STREAM_DURATION = Metric(
    "StreamDuration", "Seconds", "histogram", "a2a_stream_duration_seconds", "Stream lifetimes"
)
STREAM_RESUMES = Metric(
    "StreamResumes", "Count", "counter", "a2a_stream_resumes", "Streams resumed with Last-Event-ID"
)
REQUESTS = Metric(
    "Requests",
    "Count",
    "counter",
    "a2a_requests",
    "Protocol requests, by HTTP status class",
    ("Status",),
)
RPC_ERRORS = Metric(
    "RpcErrors", "Count", "counter", "a2a_rpc_errors", "Error answers, by JSON-RPC code", ("Code",)
)
HUB_READERS = Metric(
    "HubReaders", "Count", "gauge", "a2a_hub_readers", "Blocked Redis reads the hub holds"
)
HUB_SUBSCRIPTIONS = Metric(
    "HubSubscriptions", "Count", "gauge", "a2a_hub_subscriptions", "Subscriptions the hub serves"
)
WORKER_TURNS = Metric(
    "WorkerTurns",
    "Count",
    "counter",
    "a2a_worker_turns",
    "Agent turns ended, by agent and outcome: completed, input-required, failed, canceled, error",
    ("Agent", "Outcome"),
)
WORKER_TURN_RETRIES = Metric(
    "WorkerTurnRetries",
    "Count",
    "counter",
    "a2a_worker_turn_retries",
    "Turn attempts after the first (a worker died or a turn failed), by agent",
    ("Agent",),
)
TASK_QUEUE_BACKLOG = Metric(
    "TaskQueueBacklog",
    "Count",
    "gauge",
    "a2a_task_queue_backlog",
    "Approximate tasks waiting in the worker's Temporal task queues (it scales on this)",
)
ALL = (
    STREAMS_ACTIVE,
    STREAMS_OPENED,
    STREAMS_ENDED,
    STREAMS_REFUSED,
    EVENTS_DELIVERED,
    TIME_TO_FIRST_EVENT,
    APPEND_TO_CLIENT,
    STREAM_DURATION,
    STREAM_RESUMES,
    REQUESTS,
    RPC_ERRORS,
    HUB_READERS,
    HUB_SUBSCRIPTIONS,
    WORKER_TURNS,
    WORKER_TURN_RETRIES,
    TASK_QUEUE_BACKLOG,
)


class Metrics:
    """The process's metrics for ``service`` (``gateway`` or ``worker``): ``record`` a
    counter or a duration, ``gauge`` a value read when exported."""

    def __init__(
        self,
        service: str,
        *,
        prometheus: bool = False,
        emf: bool = False,
        cloudwatch: bool = False,
        namespace: str = NAMESPACE,
    ) -> None:
        self.service = service
        self.namespace = namespace
        self._prometheus = _Prometheus() if prometheus else None
        self._sinks: list[Callable[[str, str, Groups], None]] = []
        if emf:
            self._sinks.append(_emf)
        if cloudwatch:
            self._sinks.append(_PutMetricData())
        self._buffer = _Buffer() if self._sinks else None
        self._gauges: dict[Metric, Callable[[], float]] = {}
        self._flushing = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._prometheus is not None or self._buffer is not None

    def record(self, metric: Metric, value: float = 1.0, **labels: str) -> None:
        """Count ``value`` (a counter) or observe it (a duration in seconds)."""
        if self._prometheus is not None:
            self._prometheus.record(metric, value, labels)
        if self._buffer is not None:
            self._buffer.record(metric, value, labels)

    def gauge(self, metric: Metric, read: Callable[[], float]) -> None:
        """Report ``read()`` as ``metric`` whenever metrics are exported."""
        self._gauges[metric] = read
        if self._prometheus is not None:
            self._prometheus.gauge(metric, read)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Serve the Prometheus text at ``http://host:port/metrics`` from a thread (a
        process without an HTTP server of its own: the worker)."""
        if self._prometheus is not None:
            self._prometheus.serve(port, host)

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text and its content type (empty when Prometheus is off)."""
        if self._prometheus is None:
            return b"", "text/plain"
        return self._prometheus.exposition()

    def flush(self) -> None:
        """Write what was recorded since the last flush to the CloudWatch sinks (EMF,
        ``PutMetricData``; a no-op without them); never raises. ``PutMetricData`` blocks:
        an event loop calls this through ``asyncio.to_thread``. Flushes from several threads
        (the periodic one still running as the last begins) take turns."""
        if self._buffer is None:
            return
        with self._flushing:
            try:
                groups = self._buffer.drain({m: read() for m, read in self._gauges.items()})
                for sink in self._sinks:
                    sink(self.service, self.namespace, groups)
            except Exception:
                log.warning("metrics flush failed", exc_info=True)


class _Prometheus:
    def __init__(self) -> None:
        import prometheus_client as prom  # noqa: PLC0415 - only where Prometheus is on

        self._prom = prom
        self.registry = prom.CollectorRegistry()
        self._collectors: dict[Metric, Any] = {}

    def _collector(self, metric: Metric) -> Any:
        found = self._collectors.get(metric)
        if found is None:
            labels = [label.lower() for label in metric.labels]
            kw: dict[str, Any] = {"registry": self.registry, "labelnames": labels}
            if metric.kind == "counter":
                found = self._prom.Counter(metric.prom, metric.help, **kw)
            elif metric.kind == "histogram":
                found = self._prom.Histogram(
                    metric.prom, metric.help, buckets=_SECONDS_BUCKETS, **kw
                )
            else:
                found = self._prom.Gauge(metric.prom, metric.help, **kw)
            self._collectors[metric] = found
        return found

    def record(self, metric: Metric, value: float, labels: dict[str, str]) -> None:
        collector = self._collector(metric)
        if labels:
            collector = collector.labels(**{k.lower(): v for k, v in labels.items()})
        if metric.kind == "counter":
            collector.inc(value)
        else:
            collector.observe(value)

    def gauge(self, metric: Metric, read: Callable[[], float]) -> None:
        self._collector(metric).set_function(read)

    def exposition(self) -> tuple[bytes, str]:
        return self._prom.generate_latest(self.registry), self._prom.CONTENT_TYPE_LATEST

    def serve(self, port: int, host: str) -> None:
        self._prom.start_http_server(port, addr=host, registry=self.registry)


Dimensions = tuple[tuple[str, str], ...]
Groups = dict[Dimensions, list[tuple[Metric, list[float]]]]


class _Buffer:
    """Counters summed and durations sampled between flushes, for the CloudWatch sinks
    (EMF documents, or ``PutMetricData``). Thread-safe: the event loop records while a
    flush drains from a thread of its own."""

    def __init__(self) -> None:
        self._sums: dict[tuple[Metric, Dimensions], float] = defaultdict(float)
        self._values: dict[tuple[Metric, Dimensions], list[float]] = defaultdict(list)
        self._seen: dict[tuple[Metric, Dimensions], int] = defaultdict(int)
        self._lock = threading.Lock()

    def record(self, metric: Metric, value: float, labels: dict[str, str]) -> None:
        key = (metric, tuple(sorted(labels.items())))
        with self._lock:
            self._record(metric, key, value)

    def _record(self, metric: Metric, key: tuple[Metric, Dimensions], value: float) -> None:
        if metric.kind == "counter":
            self._sums[key] += value
            return
        self._seen[key] += 1
        values = self._values[key]
        if len(values) < MAX_VALUES:
            values.append(value * metric.to_unit)
        else:  # reservoir sampling: every value has the same chance to be kept
            slot = int(self._seen[key] * _fraction(self._seen[key]))
            if slot < MAX_VALUES:
                values[slot] = value * metric.to_unit

    def drain(self, gauges: dict[Metric, float]) -> Groups:
        """What was recorded since the last drain, by dimension set, with the gauges."""
        with self._lock:
            sums, self._sums = self._sums, defaultdict(float)
            samples, self._values = self._values, defaultdict(list)
            self._seen = defaultdict(int)
        groups: Groups = defaultdict(list)
        for (metric, dims), total in sums.items():
            groups[dims].append((metric, [total]))
        for (metric, dims), values in samples.items():
            groups[dims].append((metric, values))
        for metric, value in gauges.items():
            groups[()].append((metric, [value]))
        return groups


def _emf(service: str, namespace: str, groups: Groups) -> None:
    """One EMF document per dimension set, on standard output (Lambda's log stream turns
    them into metrics)."""
    from aws_lambda_powertools.metrics import (  # noqa: PLC0415 - only where EMF is on
        EphemeralMetrics,
    )

    for dims, entries in groups.items():
        emf = EphemeralMetrics(namespace=namespace, service=service)
        for dimension, label in dims:
            emf.add_dimension(name=dimension, value=label)
        for metric, values in entries:
            for value in values:
                emf.add_metric(name=metric.name, unit=metric.unit, value=value)
        emf.flush_metrics()


class _PutMetricData:
    """The same data through ``PutMetricData`` (ECS: standard output becomes logs only, no
    metrics, without the CloudWatch agent). Blocking: call it from a thread. Its client is
    made at the first flush and kept (making one resolves credentials and the endpoint)."""

    def __init__(self) -> None:
        self._client: Any = None

    def __call__(self, service: str, namespace: str, groups: Groups) -> None:
        data = _metric_data(service, groups)
        if not data:
            return
        if self._client is None:  # flushes do not overlap (``Metrics.flush``)
            boto3: Any = importlib.import_module("boto3")  # only where this sink is on
            self._client = boto3.client("cloudwatch")
        client = self._client
        for start in range(0, len(data), 20):  # a conservative batch per request
            client.put_metric_data(Namespace=namespace, MetricData=data[start : start + 20])


def _metric_data(service: str, groups: Groups) -> list[dict[str, Any]]:
    """``groups`` as ``PutMetricData``'s ``MetricData`` entries."""
    data = []
    for dims, entries in groups.items():
        dimensions = [{"Name": "service", "Value": service}]
        dimensions += [{"Name": name, "Value": label} for name, label in dims]
        for metric, values in entries:
            data.append(
                {
                    "MetricName": metric.name,
                    "Dimensions": dimensions,
                    "Unit": metric.unit,
                    "Values": values,
                }
            )
    return data


def _fraction(seen: int) -> float:
    """A pseudo-random fraction for reservoir sampling (no ``random``: deterministic and
    cheap is enough for latency samples)."""
    return math.modf(seen * 0.6180339887498949)[0]
