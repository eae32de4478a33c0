"""Tracing (``a2a_gateway.tracing``) against the real stack: one trace from the HTTP
request through Temporal to the agent turn and each append.

The gateway app runs in-process (``httpx.ASGITransport`` over ``create_app``, its lifespan
connecting a real ``TemporalRunner`` to the session's Temporal), and so does a Temporal
worker on a task queue of this test's own (the session's worker process never sees its
tasks), both tracing into one in-memory exporter. The global tracer provider is never
touched: ``tracing.use_provider`` points the module at the test's provider and back.

Also here: what tracing costs when it is off (nothing is wrapped, nothing of the SDK is
imported), how the environment switches it on, and an export over OTLP/HTTP to a local
receiver in a process of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route as HttpRoute
from temporalio.client import Client

from a2a_gateway import tracing
from a2a_gateway.agents.ask import AskAgent
from a2a_gateway.agents.echo import EchoAgent
from a2a_gateway.config import ConfigError, Settings
from a2a_gateway.core.contract import SIGNAL_MESSAGE, WORKFLOW_NAME
from a2a_gateway.gateway.app import create_app
from a2a_gateway.routing import Routing
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.worker.activities import RedisTaskActivities
from a2a_gateway.worker.main import task_worker
from tests.conftest import TEST_LIMITS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from opentelemetry.sdk.trace import ReadableSpan
    from starlette.requests import Request
    from starlette.responses import Response

    from a2a_gateway_dev.devstack import Stack

SECRET = "s3cret-words-of-the-user"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracing.use_provider(provider)
    try:
        yield spans
    finally:
        tracing.use_provider(None)
        provider.shutdown()


@pytest.fixture
async def traced_gateway(
    stack: Stack, exporter: InMemorySpanExporter
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app and a worker, in-process and traced, on a task queue of their own."""
    queue = f"trace-{uuid.uuid4()}"
    agents = [
        {"name": "echo", "entrypoint": "a2a_gateway.agents.echo:EchoAgent", "taskQueue": queue},
        {"name": "ask", "entrypoint": "a2a_gateway.agents.ask:AskAgent", "taskQueue": queue},
    ]
    routing = Routing.from_dict({"agents": agents, "limits": TEST_LIMITS})
    settings = Settings.from_env(
        {"REDIS_URL": stack.redis_url, "TEMPORAL_ADDRESS": stack.temporal_address}
    )
    app = create_app(settings, routing)
    _outermost_tracing(app)
    client = tracing.traced_client(await Client.connect(stack.temporal_address))
    events = EventLog.from_settings(settings)
    activities = RedisTaskActivities(events, {"echo": EchoAgent(delay=0), "ask": AskAgent()})
    try:
        async with (
            task_worker(client, queue, activities, 10),
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", timeout=30
            ) as http,
        ):
            yield http
    finally:
        await events.close()


def _outermost_tracing(app: Starlette) -> None:
    """The tracing middleware, outermost, as ``create_app`` is to add it (added here only
    while it does not)."""
    if not any(m.cls is tracing.TracingMiddleware for m in app.user_middleware):
        app.add_middleware(tracing.TracingMiddleware)


async def send(
    http: httpx.AsyncClient, agent: str, text: str, task_id: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "kind": "message",
        "messageId": str(uuid.uuid4()),
        "role": "user",
        "parts": [{"kind": "text", "text": text}],
    }
    if task_id:
        message["taskId"] = task_id
    body = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": message}}
    response = await http.post(f"/agents/{agent}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert "result" in answer, answer
    return answer["result"]


async def spans_until(
    exporter: InMemorySpanExporter, done: Any, seconds: float = 20
) -> list[ReadableSpan]:
    """The finished spans once ``done(spans)`` holds (activity spans end just after the
    event that answered the client)."""
    deadline = time.monotonic() + seconds
    while True:
        spans = list(exporter.get_finished_spans())
        if done(spans) or time.monotonic() > deadline:
            return spans
        await asyncio.sleep(0.05)


def named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def one(spans: list[ReadableSpan], name: str, **attributes: Any) -> ReadableSpan:
    found = [
        s
        for s in named(spans, name)
        if all((s.attributes or {}).get(k) == v for k, v in attributes.items())
    ]
    assert len(found) == 1, (name, attributes, [(s.name, s.attributes) for s in spans])
    return found[0]


def is_child(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.context is not None and parent.context is not None
    return (
        child.parent is not None
        and child.context.trace_id == parent.context.trace_id
        and child.parent.span_id == parent.context.span_id
    )


async def test_one_trace_from_the_request_through_temporal_to_each_append(
    traced_gateway: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    text = f"hello traced {SECRET}"
    task = await send(traced_gateway, "echo", text)
    assert task["status"]["state"] == "completed"
    task_id = task["id"]

    def finished(spans: list[ReadableSpan]) -> bool:
        return any(s.name == "RunActivity:run_turn" for s in spans) and any(
            s.kind is SpanKind.SERVER for s in spans
        )

    spans = await spans_until(exporter, finished)
    server = one(spans, "POST /agents/{agent}")
    attributes = server.attributes or {}
    assert server.kind is SpanKind.SERVER
    assert attributes["http.route"] == "/agents/{agent}"
    assert attributes["a2a.method"] == "message/send"
    assert attributes["a2a.task_id"] == task_id
    assert attributes["a2a.agent"] == "echo"
    assert attributes.get("http.status_code", attributes.get("http.response.status_code")) == 200
    assert server.parent is None  # the client sent no traceparent: the trace starts here

    start = one(spans, f"StartWorkflow:{WORKFLOW_NAME}")
    run = one(spans, f"RunWorkflow:{WORKFLOW_NAME}")
    schedule = one(spans, "StartActivity:run_turn")
    activity = one(spans, "RunActivity:run_turn")
    snapshot = one(spans, "eventlog snapshot")
    turn = one(spans, "invoke_agent echo")
    assert is_child(start, server)
    # Workflow spans are zero-length (a workflow replays): the workflow's own spans are
    # children of the start, side by side, not of RunWorkflow.
    assert is_child(run, start)
    assert is_child(schedule, start)
    assert is_child(activity, schedule)
    assert is_child(snapshot, activity)
    assert is_child(turn, activity)
    assert (turn.attributes or {})["gen_ai.agent.name"] == "echo"
    assert (turn.attributes or {})["a2a.task_id"] == task_id
    assert (turn.attributes or {})["a2a.state"] == "completed"

    appends = sorted(named(spans, "eventlog append"), key=lambda s: s.start_time or 0)
    assert all(is_child(a, turn) for a in appends)
    events = [(a.attributes or {}) for a in appends]
    assert [e["a2a.seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["a2a.state"] == "working"
    assert events[-1]["a2a.state"] == "completed"
    assert [e["a2a.event"] for e in events[1:-1]] == ["artifact"] * len(text.split())
    assert all(e["a2a.appended"] is True and e["a2a.task_id"] == task_id for e in events)
    assert all(a.kind is SpanKind.CLIENT for a in appends)
    with tracing.span("for a log line") as current:
        ids = tracing.current_ids()
    assert ids == {
        "trace_id": f"{current.get_span_context().trace_id:032x}",
        "span_id": f"{current.get_span_context().span_id:016x}",
    }

    assert server.context is not None
    trace = [s for s in spans if s.context and s.context.trace_id == server.context.trace_id]
    assert {s.name for s in trace} >= {
        server.name,
        start.name,
        run.name,
        schedule.name,
        activity.name,
        turn.name,
        "eventlog append",
    }
    # Nothing of what the user said, nor of any header, is in any span.
    recorded = json.dumps([dict(s.attributes or {}) for s in spans], default=str)
    assert SECRET not in recorded
    assert "authorization" not in recorded.lower()


async def test_a_follow_up_signals_from_its_own_trace_and_the_task_trace_links_to_it(
    traced_gateway: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    task = await send(traced_gateway, "ask", "hi")
    assert task["status"]["state"] == "input-required"
    answered = await send(traced_gateway, "ask", "Ada", task_id=task["id"])
    assert answered["status"]["state"] == "completed"

    def finished(spans: list[ReadableSpan]) -> bool:
        return len(named(spans, "invoke_agent ask")) == 2 and any(
            s.name.startswith("HandleSignal:") for s in spans
        )

    spans = await spans_until(exporter, finished)
    first, second = sorted(named(spans, "POST /agents/{agent}"), key=lambda s: s.start_time or 0)
    assert (second.attributes or {})["a2a.task_id"] == task["id"]
    signal = one(spans, f"SignalWorkflow:{SIGNAL_MESSAGE}")
    assert is_child(signal, second)
    # The workflow handles the signal, and runs the turn it causes, in the task's trace
    # (the first request's), with a link to the follow-up's.
    start = one(spans, f"StartWorkflow:{WORKFLOW_NAME}")
    assert is_child(start, first)
    handled = one(spans, f"HandleSignal:{SIGNAL_MESSAGE}")
    assert is_child(handled, start)
    assert signal.context is not None
    ids = (signal.context.trace_id, signal.context.span_id)
    assert [(link.context.trace_id, link.context.span_id) for link in handled.links] == [ids]
    turns = named(spans, "invoke_agent ask")
    assert sorted((t.attributes or {})["a2a.turn"] for t in turns) == [0, 1]
    assert start.context is not None
    assert all(t.context and t.context.trace_id == start.context.trace_id for t in turns)


async def test_a_stream_is_one_server_span_around_all_its_events(
    traced_gateway: httpx.AsyncClient, exporter: InMemorySpanExporter
) -> None:
    message = {"messageId": "m1", "role": "user", "parts": [{"kind": "text", "text": "a b c"}]}
    body = {"jsonrpc": "2.0", "id": 1, "method": "message/stream", "params": {"message": message}}
    async with traced_gateway.stream("POST", "/agents/echo", json=body) as response:
        frames = [line async for line in response.aiter_lines() if line.startswith("data:")]
    assert '"final":true' in frames[-1]

    spans = await spans_until(
        exporter, lambda spans: any(s.name == "RunActivity:run_turn" for s in spans)
    )
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name.startswith("POST")]
    assert server.name == "POST /agents/{agent}"
    assert (server.attributes or {})["a2a.method"] == "message/stream"
    assert server.end_time is not None and server.start_time is not None
    last = max(named(spans, "eventlog append"), key=lambda s: s.start_time or 0)
    assert (last.attributes or {})["a2a.state"] == "completed"
    assert last.start_time is not None
    assert server.end_time > last.start_time  # the span lasts until the final event
    assert not [s for s in spans if s.name.endswith((" send", " receive"))]


async def test_health_scrapes_keys_and_the_console_get_no_server_span(
    exporter: InMemorySpanExporter,
) -> None:
    """What is polled or fetched as a file (``/healthz``, ``/metrics``, the JWKS, the
    console) would drown the traces: only the protocol request is traced."""

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    paths = ["/healthz", "/metrics", "/.well-known/jwks.json", "/console", "/console/x.js"]
    app = Starlette(
        routes=[HttpRoute(p, ok, methods=["GET", "POST"]) for p in [*paths, "/agents/{agent}"]],
        middleware=[Middleware(tracing.TracingMiddleware)],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        for path in paths:
            assert (await http.get(path)).status_code == 200, path
        assert (await http.post("/agents/echo")).status_code == 200
    servers = [s.name for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert servers == ["POST /agents/{agent}"]


async def test_off_it_wraps_nothing_and_intercepts_nothing(stack: Stack) -> None:
    tracing.use_provider(None)

    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    assert tracing.interceptors() == []
    client = await Client.connect(stack.temporal_address)
    assert tracing.traced_client(client) is client
    assert tracing.span("x") is tracing.span("y")  # one shared null context
    with tracing.span("x"):
        tracing.annotate({"a": 1})
        assert tracing.current_ids() == {}
    assert tracing.TracingMiddleware(app)._traced is None


def test_the_environment_decides_what_is_exported() -> None:
    choose = tracing._exporters_from_env
    assert choose({}) == []
    assert choose({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == ["otlp"]
    assert choose({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == ["otlp"]
    assert choose({"OTEL_TRACES_EXPORTER": "console"}) == ["console"]
    assert choose({"OTEL_TRACES_EXPORTER": "otlp,console,otlp"}) == ["otlp", "console"]
    assert choose({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}) == []
    assert choose({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}) == []
    with pytest.raises(ConfigError, match="zipkin"):
        choose({"OTEL_TRACES_EXPORTER": "zipkin"})


CHILD = """
import sys
from a2a_gateway import tracing
import a2a_gateway.gateway.app, a2a_gateway.worker.main
tracing.configure("probe")
print("sdk" if "opentelemetry.sdk.trace" in sys.modules else "no-sdk", tracing.enabled())
with tracing.span("probe span", {"a2a.task_id": "t-1"}):
    pass
"""


def run_child(env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_unset_nothing_of_the_sdk_is_loaded() -> None:
    assert run_child({}) == "no-sdk False"


class Receiver(BaseHTTPRequestHandler):
    """A stand-in OTLP/HTTP collector: keeps what is posted to /v1/traces."""

    posted: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.posted.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_with_an_endpoint_spans_are_exported_over_otlp_http() -> None:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        assert run_child({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}) == "sdk True"
    finally:
        server.shutdown()
        server.server_close()
    # The batch processor flushes when the process exits.
    assert [path for path, _ in Receiver.posted] == ["/v1/traces"]
    request = ExportTraceServiceRequest.FromString(Receiver.posted[0][1])
    (resource_spans,) = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "probe"
    (span,) = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert span.name == "probe span"
