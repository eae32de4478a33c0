"""Alarms, dashboard and worker scaling of ``template.yaml`` against the metrics the code
emits (``src/a2a_gateway/metrics.py``), and the derived thresholds evaluated for the
parameters' whole range.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from a2a_gateway import metrics
from tests.unit.test_template import evaluate_conditions, parameter_values, resolve_ifs

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deploy.md"
NAMESPACE = {"Fn::Sub": "A2AGateway/${EnvironmentName}"}
# Metrics the template uses that metrics.py does not define (yet): TaskQueueBacklog, which
# the worker is to publish (the approximate backlog of the task queues it serves, dimension
# service=worker), and GatewayMaxMemoryUsed, made by the template's own metric filter.
PENDING_METRICS: set[str] = set()
TEMPLATE_METRICS = {"GatewayMaxMemoryUsed"}


@pytest.fixture(scope="module")
def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        n: r["Properties"]
        for n, r in template["Resources"].items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def watched(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm reads: its own, or those of its metric math."""
    if "MetricName" in alarm:
        return [alarm]
    return [q["MetricStat"]["Metric"] for q in alarm["Metrics"] if "MetricStat" in q]


def service_dimension(template: dict[str, Any]) -> str:
    name: str = template["Mappings"]["Metrics"]["Settings"]["ServiceDimension"]
    return name


def test_the_service_dimension_is_the_one_powertools_writes(template: dict[str, Any]) -> None:
    """metrics.py writes EMF with Powertools' EphemeralMetrics(service=...), whose default
    dimension is named "service"."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    emf = EphemeralMetrics(namespace="A2AGateway/test", service="gateway")
    emf.add_metric(name="StreamsOpened", unit="Count", value=1)
    document = emf.serialize_metric_set()
    (dimensions,) = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert dimensions == [service_dimension(template)]


def test_alarms_and_scaling_use_the_metrics_the_code_emits(
    template: dict[str, Any], alarms: dict[str, dict[str, Any]]
) -> None:
    by_name = {m.name: m for m in metrics.ALL}
    dim = service_dimension(template)
    used = []
    sources = [m for a in alarms.values() for m in watched(a)]
    policy = template["Resources"]["WorkerBacklogScalingPolicy"]["Properties"]
    spec = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    sources += [q["MetricStat"]["Metric"] for q in spec["Metrics"] if "MetricStat" in q]
    for metric in sources:
        if metric["Namespace"] != NAMESPACE:
            continue
        name = metric["MetricName"]
        used.append(name)
        assert name in by_name or name in PENDING_METRICS | TEMPLATE_METRICS, name
        names = [
            d["Name"]["Fn::FindInMap"][2] if isinstance(d["Name"], dict) else d["Name"]
            for d in metric.get("Dimensions", [])
        ]
        if name in TEMPLATE_METRICS:
            assert names == [], name
            continue
        assert names[0] == "ServiceDimension" or names[0] == dim, name
        if name in by_name:  # the other dimensions are the metric's labels
            assert set(names[1:]) <= set(by_name[name].labels), name
    assert {"StreamsActive", "StreamsRefused", "AppendToClientLatency", "TaskQueueBacklog"} <= set(
        used
    )
    # The one Metrics Insights alarm names its metric, labels and dimension in the query.
    query = alarms["WorkerTurnErrorsAlarm"]["Metrics"][0]["Expression"]["Fn::Sub"]
    assert query[0].startswith(
        'SELECT SUM(WorkerTurns) FROM SCHEMA("A2AGateway/${EnvironmentName}"'
    )
    assert set(metrics.WORKER_TURNS.labels) == {"Agent", "Outcome"}
    assert "'error'" in query[0] and "Outcome = " in query[0]
    assert "error" in metrics.WORKER_TURNS.help  # an outcome the worker records


def test_the_issue_s_alarms_exist(alarms: dict[str, dict[str, Any]]) -> None:
    pairs = {
        (json.dumps(m["Namespace"]), m["MetricName"]) for a in alarms.values() for m in watched(a)
    }
    ns = json.dumps(NAMESPACE)
    wanted = {
        (ns, "StreamsActive"),  # active streams near the cap
        (ns, "StreamsRefused"),  # failed connections
        (ns, "AppendToClientLatency"),  # stream latency
        (ns, "GatewayMaxMemoryUsed"),  # gateway memory (Lambda)
        ('"AWS/ECS"', "MemoryUtilization"),  # worker memory
        ('"AWS/ElastiCache"', "ThrottledCmds"),  # cache throttling
        ('"AWS/States"', "ExecutionsFailed"),  # push failures
        ('"AWS/SQS"', "ApproximateNumberOfMessagesVisible"),  # push dead letters
        ('"AWS/Lambda"', "ConcurrentExecutions"),  # concurrency near the reserved cap
        (ns, "TaskQueueBacklog"),  # worker backlog
        ('"AWS/Lambda"', "Duration"),
        ('"AWS/Lambda"', "Errors"),
        ('"AWS/Lambda"', "Throttles"),
        ('"ECS/ContainerInsights"', "RunningTaskCount"),
    }
    assert wanted <= pairs, wanted - pairs


def test_every_alarm_is_named_notifies_and_is_documented(
    alarms: dict[str, dict[str, Any]],
) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    for name, alarm in alarms.items():
        alarm_name = alarm["AlarmName"]["Fn::Sub"]
        assert alarm_name.startswith("a2a-gateway-${EnvironmentName}-"), name
        short = alarm_name.removeprefix("a2a-gateway-${EnvironmentName}-")
        assert f"| `{short}` |" in guide, f"docs/deploy.md has no row for {short}"
        assert alarm["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }, name
        assert alarm["AlarmDescription"], name


# ------------------------------------------------------------------ 11. derived thresholds


def overrun(alarm: dict[str, Any], duration_ms: float, params: dict[str, float]) -> float:
    """The alarm's expression for a Duration datapoint (metric math is plain arithmetic)."""
    (expression,) = [q["Expression"] for q in alarm["Metrics"] if q.get("ReturnData")]
    text, variables = (
        (expression["Fn::Sub"], {})
        if isinstance(expression["Fn::Sub"], str)
        else expression["Fn::Sub"]
    )
    values = {**params, "Timeout": 900}
    for key in variables:
        assert key == "Timeout"
    text = re.sub(r"\$\{(\w+)\}", lambda m: str(values[m.group(1)]), text)
    assert re.fullmatch(r"[\d\s.()+\-*/a-z]+", text), text
    return float(eval(text, {"__builtins__": {}}, {"duration": duration_ms}))


@pytest.mark.parametrize("margin", [5, 10, 30, 60, 120])
@pytest.mark.parametrize("max_stream", [60, 300, 600, 870, 900])
def test_duration_alarms_follow_the_margin_and_the_maximum(
    alarms: dict[str, dict[str, Any]], margin: int, max_stream: int
) -> None:
    params = {"StreamDeadlineMarginSeconds": margin, "MaxStreamSeconds": max_stream}
    near_timeout = alarms["GatewayDurationNearTimeoutAlarm"]
    overrun_alarm = alarms["GatewayStreamOverrunAlarm"]
    for alarm in (near_timeout, overrun_alarm):
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"

    def fires(seconds: float) -> bool:
        return any(overrun(a, seconds * 1000, params) >= 1 for a in (near_timeout, overrun_alarm))

    # Streams end by design at the earlier of MaxStreamSeconds and 900 - margin; a little
    # (under half a margin) to wind down is normal.
    designed_end = min(max_stream, 900 - margin)
    assert not fires(designed_end)
    assert not fires(designed_end + margin / 2 - 0.5)
    # Past that, an alarm fires, and before Lambda's own 900 s cut-off.
    assert fires(designed_end + margin / 2 + 0.5) or designed_end + margin / 2 >= 900
    assert fires(900 - margin / 2)
    assert fires(899.9)
    # With the defaults (margin 30): 885 s, as before the threshold was derived.
    if margin == 30:
        assert overrun(near_timeout, 885_000, params) == pytest.approx(1)


def test_stream_cap_alarm_divides_by_the_ceiling_of_each_mode(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["GatewayStreamsNearCapAlarm"]
    assert alarm["Condition"] == "HasStreamCap"
    (percent,) = [q for q in alarm["Properties"]["Metrics"] if q.get("ReturnData")]
    managed = resolve_ifs(percent["Expression"], {"UseManagedInstances": True})
    standard = resolve_ifs(percent["Expression"], {"UseManagedInstances": False})
    assert managed == {
        "Fn::Sub": "100 * active / (${GatewayMaxEnvironments} * ${GatewayMaxConcurrencyPerEnvironment})"
    }
    assert standard == {"Fn::Sub": "100 * active / ${GatewayReservedConcurrency}"}

    def has_cap(**overrides: str) -> bool:
        conditions = evaluate_conditions(template, parameter_values(template, overrides))
        return conditions["HasStreamCap"]

    assert has_cap() is False  # no reserved concurrency: no known ceiling
    assert has_cap(GatewayReservedConcurrency="800") is True
    assert has_cap(GatewayCompute="ManagedInstances") is True
    concurrency = template["Resources"]["GatewayConcurrencyNearReservedAlarm"]
    assert concurrency["Condition"] == "WatchReservedConcurrency"


# ------------------------------------------------------------------ worker scaling


def test_worker_scales_on_backlog_per_task(template: dict[str, Any]) -> None:
    policy = template["Resources"]["WorkerBacklogScalingPolicy"]["Properties"]
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == {"Ref": "WorkerBacklogPerTask"}
    queries = {q["Id"]: q for q in config["CustomizedMetricSpecification"]["Metrics"]}
    assert queries["backlog"]["MetricStat"]["Metric"]["MetricName"] == "TaskQueueBacklog"
    assert queries["tasks"]["MetricStat"]["Metric"]["MetricName"] == "RunningTaskCount"
    (result,) = [q for q in queries.values() if q["ReturnData"]]
    assert result["Expression"] == "backlog / tasks"
    assert policy["ScalingTargetId"] == {"Ref": "WorkerScalableTarget"}


# ------------------------------------------------------------------ the memory metric filter


def matches(pattern: str, line: str) -> dict[str, str] | None:
    """CloudWatch Logs' space-delimited filter: fields by position, "..." for the rest."""
    fields = [f.strip() for f in pattern.strip("[]").split(",")]
    tokens = line.split()
    found: dict[str, str] = {}
    for index, field in enumerate(fields):
        if field == "...":
            return found
        if index >= len(tokens):
            return None
        name, _, literal = field.partition("=")
        if literal and tokens[index] != literal.strip('"'):
            return None
        found[name] = tokens[index]
    return found if len(tokens) == len(fields) else None


def test_memory_metric_filter_reads_report_lines(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    metric_filter = resources["GatewayMaxMemoryUsedMetricFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "GatewayLogGroup"}
    (transformation,) = metric_filter["MetricTransformations"]
    assert transformation["MetricValue"] == "$max_memory_used"
    assert transformation["MetricNamespace"] == NAMESPACE
    report = (
        "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 301034.56 ms\t"
        "Billed Duration: 301035 ms\tMemory Size: 1024 MB\tMax Memory Used: 187 MB\t"
        "Init Duration: 812.34 ms"
    )
    found = matches(metric_filter["FilterPattern"], report)
    assert found is not None and found["max_memory_used"] == "187"
    assert matches(metric_filter["FilterPattern"], "START RequestId: x Version: $LATEST") is None
    # REPORT lines are text only with the Text log format.
    for function in ("GatewayFunction", "GatewayManagedFunction"):
        assert resources[function]["Properties"]["LoggingConfig"]["LogFormat"] == "Text"


# ------------------------------------------------------------------ dashboard


def test_dashboard_is_valid_json_over_the_emitted_metrics(template: dict[str, Any]) -> None:
    body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    values = {name: f"value-of-{name}" for name in variables}
    values |= {
        "AWS::Region": "eu-west-1",
        "StreamLatencyAlarmMs": "1000",
        "MaxStreamSeconds": "300",
    }
    values |= {"Namespace": "A2AGateway/dev", "Dim": service_dimension(template)}
    values |= {"WorkerCluster": "cluster", "PushStateMachine": "arn:states"}
    text = re.sub(r"\$\{([\w:]+)\}", lambda m: values[m.group(1)], body)
    dashboard = json.loads(text)
    names = {m.name for m in metrics.ALL} | PENDING_METRICS | TEMPLATE_METRICS
    shown = set()
    for widget in dashboard["widgets"]:
        namespace = metric = ""
        for line in widget["properties"]["metrics"]:
            if isinstance(line[0], dict):
                shown |= set(re.findall(r'MetricName=\\?"(\w+)\\?"', line[0]["expression"]))
                continue
            if line[0] != "...":  # "..." repeats the line above; "." one field of it
                namespace = namespace if line[0] == "." else line[0]
                metric = metric if line[1] == "." else line[1]
            if namespace == "A2AGateway/dev":
                shown.add(metric)
    assert shown <= names, shown - names
    assert {m.name for m in metrics.ALL} - shown <= {
        "Requests",
        "HubReaders",
        "HubSubscriptions",
    }, "a metric of metrics.py is missing from the dashboard"
