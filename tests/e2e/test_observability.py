"""Logs and metrics of a gateway process (issue 12), against the real stack: every log line
is JSON and carries the request's correlation ids; ``/metrics`` counts what the requests
did; with ``A2A_METRICS_EMF`` the same metrics reach standard output as CloudWatch
embedded-metric documents."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any, TypeVar

from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import events, message, rpc
from tests.e2e.test_worker_restart import routes_file

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    import httpx

    from a2a_gateway_dev.devstack import Stack

T = TypeVar("T")


def samples(text: str) -> dict[str, float]:
    """Prometheus text as ``{'name{labels}': value}``."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def poll(
    read: Callable[[], Awaitable[T]], done: Callable[[T], bool], seconds: float = 10
) -> T:
    """``read()`` every 0.1 s until ``done`` holds of its value or ``seconds`` pass; the last
    value either way (the caller asserts on it, so a failure shows what was there)."""
    deadline = time.monotonic() + seconds
    while True:
        value = await read()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


def scraper(http: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[dict[str, float]]]:
    async def scrape() -> dict[str, float]:
        return samples((await http.get(url + "/metrics")).text)

    return scrape


def log_reader(path: Path) -> Callable[[], Awaitable[list[dict[str, Any]]]]:
    async def read() -> list[dict[str, Any]]:
        try:
            return json_lines(path)
        except (OSError, ValueError):  # not there yet, or a line half written
            return []

    return read


async def test_metrics_logs_and_emf_of_a_stream(
    http: httpx.AsyncClient, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    url = start_gateway(A2A_METRICS_EMF="true", A2A_METRICS_FLUSH_SECONDS="0.5")
    progress = url + "/agents/progress/"
    stream = await events(http, progress, rpc("message/stream", message("steps=3 interval=0.1")))
    task_id = stream[0].result["id"]
    assert stream[-1].result["status"]["state"] == "completed"
    missing = await http.post(progress, json=rpc("tasks/get", {"id": "nope"}))
    assert missing.json()["error"]["code"] == -32001
    resumed = await events(
        http,
        progress,
        rpc("tasks/resubscribe", {"id": task_id}),
        {"Last-Event-ID": stream[1].id or ""},
    )
    assert resumed[-1].result["status"]["state"] == "completed"

    # A stream's slot, its end and its request's count are recorded as its response
    # closes, just after the client read its last event: scrape until they are there.
    settled = {
        'a2a_requests_total{status="2xx"}': 3,
        'a2a_streams_ended_total{reason="final"}': 2,
        "a2a_streams_active": 0,
    }
    found = await poll(scraper(http, url), lambda f: all(f.get(k) == v for k, v in settled.items()))
    assert found["a2a_streams_opened_total"] == 2
    assert found['a2a_streams_ended_total{reason="final"}'] == 2
    assert found["a2a_stream_resumes_total"] == 1
    assert found["a2a_events_delivered_total"] >= len(stream) - 1  # keep-alives are not events
    assert found["a2a_time_to_first_event_seconds_count"] == 2
    assert found["a2a_append_to_client_seconds_count"] >= 3
    assert found["a2a_stream_duration_seconds_count"] == 2
    assert found['a2a_rpc_errors_total{code="-32001"}'] == 1
    assert found['a2a_requests_total{status="2xx"}'] == 3
    assert found["a2a_streams_active"] == 0
    assert "a2a_hub_subscriptions" in found

    # uvicorn's own lines are JSON too: a malformed request makes it log a warning
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    await reader.read(1024)
    writer.close()
    await writer.wait_closed()

    log = tmp_path / "gateway.log"
    wanted = {"StreamsOpened", "StreamsEnded", "EventsDelivered", "AppendToClientLatency"}

    def flushed(lines: list[dict[str, Any]]) -> bool:
        """The EMF buffer was flushed after the streams ended, and uvicorn logged."""
        emf = [line for line in lines if "_aws" in line]
        opened = sum(sum(d.get("StreamsOpened", [])) for d in emf)
        return (
            opened == 2
            and wanted <= set().union(*emf)
            and any(line.get("message") == "Invalid HTTP request received." for line in lines)
        )

    lines = await poll(log_reader(log), flushed)
    emf = [line for line in lines if "_aws" in line]
    opened = [d for d in emf if "StreamsOpened" in d]
    assert opened and sum(sum(d["StreamsOpened"]) for d in opened) == 2
    assert all(d["service"] == "gateway" for d in emf)
    directives = [
        m["Name"] for d in emf for c in d["_aws"]["CloudWatchMetrics"] for m in c["Metrics"]
    ]
    assert wanted <= set(directives)
    ended = [line for line in lines if str(line.get("message", "")).startswith("stream ended")]
    assert len(ended) == 2
    for line in ended:  # every log line of a request carries its correlation ids
        assert line["level"] == "INFO" and line["service"] == "gateway"
        assert re.fullmatch(r"[0-9a-f-]{36}", line["request_id"])
        assert line["principal"] == "anonymous" and line["agent"] == "progress"
        assert line["method"] in ("message/stream", "tasks/resubscribe")
    assert ended[1]["task_id"] == task_id
    audit_ids = {line["requestId"] for line in lines if "requestId" in line}
    assert {line["request_id"] for line in ended} <= audit_ids
    non_json = [
        line for line in log.read_text().splitlines() if line.strip() and not line.startswith("{")
    ]
    assert non_json == [], non_json[:5]
    uvicorn = [line for line in lines if line.get("message") == "Invalid HTTP request received."]
    assert uvicorn and all(line["level"] == "WARNING" for line in uvicorn), uvicorn


async def test_metrics_can_be_turned_off(
    http: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    """The template turns the endpoint off: the public function URL must not tell anyone
    the load."""
    url = start_gateway(A2A_METRICS_ENDPOINT="false")
    assert (await http.get(url + "/metrics")).status_code == 404


async def test_scrapes_keys_and_the_console_are_not_protocol_requests(
    http: httpx.AsyncClient, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    """``/metrics``, ``/.well-known/jwks.json`` and ``/console/*`` are neither audited nor
    counted in ``a2a_requests_total`` (a scraper would otherwise be most of the count):
    between two protocol requests, five of them change neither the count nor the log."""
    url = start_gateway(A2A_PUSH_NOTIFICATIONS="true", A2A_CONSOLE="true")
    count = 'a2a_requests_total{status="2xx"}'
    first = await http.post(url + "/", json=rpc("tasks/get", {"id": "first"}))
    assert "x-request-id" in first.headers
    before = await poll(scraper(http, url), lambda f: f.get(count) == 1)
    assert before.get(count) == 1
    for path in (
        "/metrics",
        "/metrics",
        "/.well-known/jwks.json",
        "/console/",
        "/console/agents.json",
    ):
        response = await http.get(url + path)
        assert response.status_code == 200, path
        assert "x-request-id" not in response.headers, path  # the audit middleware adds it
    last = await http.post(url + "/", json=rpc("tasks/get", {"id": "last"}))
    assert "x-request-id" in last.headers
    after = await poll(scraper(http, url), lambda f: f.get(count, 0) >= 2)
    assert {k: v for k, v in after.items() if k.startswith("a2a_requests_total")} == {count: 2}

    def both(lines: list[dict[str, Any]]) -> bool:
        return [line.get("method") for line in lines].count("tasks/get") == 2

    lines = await poll(log_reader(tmp_path / "gateway.log"), both)
    audited = [line for line in lines if "requestId" in line]
    assert [line["requestId"] for line in audited] == [
        first.headers["x-request-id"],
        last.headers["x-request-id"],
    ]


async def test_worker_turn_metrics_and_json_logs(
    http: httpx.AsyncClient, stack: Stack, tmp_path: Path
) -> None:
    """A worker of its own (its own task queue) counts its turns per agent and outcome,
    serves them at ``A2A_WORKER_METRICS_PORT`` and writes them as EMF; its log is JSON."""
    port = free_port()
    routes = str(routes_file(tmp_path, f"obs-{uuid.uuid4()}"))
    env = {
        **GATEWAY_ENV,
        "A2A_ROUTES_FILE": routes,
        "A2A_WORKER_METRICS_PORT": str(port),
        "A2A_METRICS_EMF": "true",
        "A2A_METRICS_FLUSH_SECONDS": "0.5",
        "A2A_WORKER_HEARTBEAT_FILE": str(tmp_path / "alive"),
    }
    worker = stack.worker(env, name="worker-obs")
    gateway = stack.gateway(free_port(), env={**GATEWAY_ENV, "A2A_ROUTES_FILE": routes})
    gateway.name = "gateway-obs"
    try:
        worker.start(tmp_path)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        url = f"http://127.0.0.1:{gateway.port}"
        done = await http.post(url + "/", json=rpc("message/send", message("hello")))
        assert done.json()["result"]["status"]["state"] == "completed"
        asked = await http.post(url + "/agents/ask/", json=rpc("message/send", message("hi")))
        assert asked.json()["result"]["status"]["state"] == "input-required"
        # A turn is counted when its activity returns, which is just after its last
        # event reached the client: read until both turns are there.
        wanted = (
            'a2a_worker_turns_total{agent="echo",outcome="completed"}',
            'a2a_worker_turns_total{agent="ask",outcome="input-required"}',
        )
        for _ in range(100):
            found = samples((await http.get(f"http://127.0.0.1:{port}/metrics")).text)
            if all(name in found for name in wanted):
                break
            await asyncio.sleep(0.1)
        assert [found.get(name) for name in wanted] == [1, 1]
        assert "a2a_task_queue_backlog" in found

        async def alive() -> bool:
            return (tmp_path / "alive").exists()

        assert await poll(alive, bool)  # the liveness heartbeat

        def emf_flushed(lines: list[dict[str, Any]]) -> bool:
            turns = {(d["Agent"], d["Outcome"]) for d in lines if "WorkerTurns" in d}
            return len(turns) == 2 and any("TaskQueueBacklog" in d for d in lines)

        await poll(log_reader(tmp_path / "worker-obs.log"), emf_flushed)
    finally:
        gateway.stop()
        worker.stop()
    lines = json_lines(tmp_path / "worker-obs.log")
    turns = [line for line in lines if "WorkerTurns" in line]
    assert {(d["Agent"], d["Outcome"]) for d in turns} == {
        ("echo", "completed"),
        ("ask", "input-required"),
    }
    assert all(d["service"] == "worker" for d in turns)
    backlog = [d for d in lines if "TaskQueueBacklog" in d]
    assert backlog and all(d["TaskQueueBacklog"] == [0.0] for d in backlog)  # nothing waits
    logged = [line for line in lines if "message" in line]
    assert any("worker ready" in line["message"] for line in logged)
    assert all(line["service"] == "worker" for line in logged)
    ended = [line for line in logged if line["message"].startswith("turn 0 ended")]
    assert {(line["agent"], line["principal"]) for line in ended} == {
        ("echo", "anonymous"),
        ("ask", "anonymous"),
    }
    assert {line["task_id"] for line in ended} == {
        done.json()["result"]["id"],
        asked.json()["result"]["id"],
    }
