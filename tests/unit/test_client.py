"""``a2a_gateway.client`` without a server: backoff bounds, event id order and dedupe,
SSE parsing, the follow loop against scripted responses (httpx ``MockTransport``),
the deadline, authentication, and that importing it pulls in nothing of the server."""

from __future__ import annotations

import asyncio
import json
import random
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from a2a_gateway.client import (
    A2AClient,
    A2AClientError,
    A2AError,
    A2AHTTPError,
    ApiKeyAuth,
    BearerAuth,
    Dedupe,
    Event,
    MissingDependency,
    Resumed,
    ResumeFailed,
    RetryPolicy,
    SigV4Auth,
    StreamDeadlineExceeded,
    parse_event_id,
    protocol_of,
    v1,
)
from a2a_gateway.client.client import make_message
from a2a_gateway.client.resume import CONTENT_MEMORY, retry_after_seconds, sse_blocks

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

SERVER_SIDE = ["starlette", "redis", "temporalio", "opentelemetry", "prometheus_client"]
SERVER_SIDE += ["aws_lambda_powertools", "pydantic", "botocore", "uvicorn"]


def test_importing_the_client_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, a2a_gateway.client, a2a_gateway.client.auth\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {SERVER_SIDE!r}]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# -- backoff ------------------------------------------------------------------------------


def test_full_jitter_stays_within_its_bounds() -> None:
    policy = RetryPolicy(base=0.1, cap=2.0)
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(2.0, 0.1 * 2**attempt)
        delays = [policy.delay(attempt, rng) for _ in range(500)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling, "the whole range is used (full jitter)"
        assert min(delays) < 0.2 * ceiling
    assert policy.delay(10_000, rng) <= 2.0, "no overflow for large attempts"


def test_retry_after_as_seconds_or_a_date() -> None:
    assert retry_after_seconds("1") == 1.0
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    now = 1_700_000_000.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:25 GMT", now=now) == pytest.approx(5)


# -- ids and dedupe -----------------------------------------------------------------------


def test_event_ids_compare_numerically() -> None:
    assert parse_event_id("10-0") == (10, 0)
    assert parse_event_id("9-5") < parse_event_id("10-0")  # type: ignore[operator]
    assert parse_event_id("10-10") > parse_event_id("10-2")  # type: ignore[operator]
    top = 2**64 - 1
    assert parse_event_id(f"{top}-{top}") == (top, top)


@pytest.mark.parametrize(
    "odd",
    [
        *("", "abc", "1-", "-1", "1-2-3", "1.5-2", None, "1" * 21 + "-0"),
        # what the event log does not take for a stream id either (core.ids)
        *(" 1-0", "1-0 ", "\uff11-\uff10", f"{2**64}-0", f"0-{2**64}"),
    ],
)
def test_other_event_ids_are_opaque(odd: str | None) -> None:
    assert parse_event_id(odd) is None
    if odd:
        seen = Dedupe("5-0")
        assert seen.accept(odd) and not seen.accept(odd), "compared as an opaque id"


def test_dedupe_drops_repeats_and_out_of_order_replays() -> None:
    seen = Dedupe()
    order = ["5-0", "5-1", "5-1", "4-9", "9-0", "10-0", "9-9", "10-1"]
    assert [i for i in order if seen.accept(i)] == ["5-0", "5-1", "9-0", "10-0", "10-1"]
    assert seen.last_id == "10-1"
    assert seen.accept(None, {"n": 1}) and seen.accept(None, {"n": 2})
    assert seen.last_id == "10-1", "an event without an id leaves the position alone"


def test_dedupe_compares_events_without_ids_by_content() -> None:
    """A server without ids replays what it has after a reconnection: the same result
    (key order aside) is dropped, anything else passes, and the memory is bounded."""
    seen = Dedupe()
    first = {"kind": "status-update", "status": {"state": "working"}, "final": False}
    assert seen.accept(None, first)
    assert not seen.accept(None, dict(reversed(list(first.items()))))
    assert seen.accept(None, {**first, "final": True})
    for n in range(CONTENT_MEMORY):
        assert seen.accept(None, {"n": n})
    assert seen.accept(None, first), "forgotten after CONTENT_MEMORY newer events"


def test_dedupe_starts_from_a_given_id_and_handles_opaque_ids() -> None:
    seen = Dedupe("7-0")
    assert not seen.accept("6-0") and not seen.accept("7-0") and seen.accept("7-1")
    opaque = Dedupe("a")
    assert [i for i in ["a", "b", "a", "c", "b"] if opaque.accept(i)] == ["b", "c"]


async def lines_of(text: str) -> AsyncIterator[str]:
    for line in text.split("\n"):
        yield line


async def test_sse_blocks_keep_ids_and_resume_frames_and_skip_comments() -> None:
    text = (
        ': keep-alive\nid: 1-0\ndata: {"a": 1}\n\n: keep-alive\n'
        'id: 1-1\ndata: {"a":\ndata: 2}\n\nid: 1-1\nretry: 1000\n: deadline\n\n'
        'data: {"a": 3}\n\nid: 2-0\ndata: {"cut'
    )
    blocks = [b async for b in sse_blocks(lines_of(text))]
    assert [(b.id, b.data, b.retry, b.has_data) for b in blocks] == [
        ("1-0", {"a": 1}, None, True),
        ("1-1", {"a": 2}, None, True),
        ("1-1", None, 1000, False),
        (None, {"a": 3}, None, True),
    ], "an unterminated last block is dropped"


# -- the follow loop against scripted responses -------------------------------------------


def status(task: str, state: str, text: str, *, final: bool = False) -> dict[str, Any]:
    return {
        "kind": "status-update",
        "taskId": task,
        "contextId": "c",
        "status": {"state": state, "message": {"parts": [{"kind": "text", "text": text}]}},
        "final": final,
    }


def frame(event_id: str | None, result: dict[str, Any]) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return head + "data: " + json.dumps({"jsonrpc": "2.0", "id": "x", "result": result}) + "\n\n"


TASK = {"kind": "task", "id": "t", "contextId": "c", "status": {"state": "submitted"}}
SSE = {"content-type": "text/event-stream"}


class Script:
    """Answers each POST with the next scripted response; records the requests."""

    def __init__(self, *responses: Callable[[], httpx.Response]) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.responses.pop(0)()

    def methods(self) -> list[tuple[str, str | None]]:
        return [
            (json.loads(r.content)["method"], r.headers.get("last-event-id")) for r in self.requests
        ]


def stream_of(*chunks: str, error: Exception | None = None) -> Callable[[], httpx.Response]:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk.encode()
        if error is not None:
            raise error

    return lambda: httpx.Response(200, headers=SSE, content=body())


def client_for(script: Script, **policy: Any) -> A2AClient:
    transport = httpx.MockTransport(script)
    http = httpx.AsyncClient(transport=transport)
    retry = RetryPolicy(base=0.001, cap=0.01, **policy)
    return A2AClient("http://a2a.test/agents/progress", http=http, retry=retry, protocol="0.3")


async def collect(items: AsyncIterator[Any]) -> list[Any]:
    return [i async for i in items]


async def test_follows_cuts_resume_frames_and_early_ends_yielding_each_event_once() -> None:
    s = [status("t", "working", f"step {i}") for i in range(1, 5)]
    done = status("t", "completed", "done", final=True)
    script = Script(
        # the first connection drops mid-body
        stream_of(frame("1-0", TASK), frame("1-1", s[0]), error=httpx.RemoteProtocolError("x")),
        # a replay that repeats and reorders, then the gateway's resume frame
        stream_of(
            frame("1-1", s[0]),
            frame("1-2", s[1]),
            frame("1-0", TASK),
            ": keep-alive\n",
            "id: 1-2\nretry: 1000\n: drain\n\n",
        ),
        # 503 with Retry-After, then a body that ends without its final event
        lambda: httpx.Response(503, headers={"Retry-After": "0"}, json={"error": "busy"}),
        stream_of(frame("2-0", s[2])),
        stream_of(frame("10-0", s[3]), frame("10-1", done), frame("10-2", s[3])),
    )
    async with client_for(script) as client:
        items = await collect(client.stream("go"))
    events = [(i.id, i.result) for i in items if isinstance(i, Event)]
    assert events == [
        ("1-0", TASK),
        ("1-1", s[0]),
        ("1-2", s[1]),
        ("2-0", s[2]),
        ("10-0", s[3]),
        ("10-1", done),
    ]
    markers = [i for i in items if isinstance(i, Resumed)]
    assert [(m.after_id, m.reason) for m in markers] == [
        ("1-1", "disconnected: RemoteProtocolError"),
        ("1-2", "resume-frame"),  # after the resume frame: refused once, then admitted
        ("2-0", "ended-early"),
    ]
    assert [m.attempt for m in markers] == [1, 2, 1], "the count resets after progress"
    assert script.methods() == [
        ("message/stream", None),
        ("tasks/resubscribe", "1-1"),
        ("tasks/resubscribe", "1-2"),
        ("tasks/resubscribe", "1-2"),
        ("tasks/resubscribe", "2-0"),
    ]
    assert items.index(markers[0]) == 2, "the marker comes before the new connection's events"


async def test_without_ids_it_resubscribes_and_yields_what_comes() -> None:
    done = status("t", "completed", "done", final=True)
    script = Script(
        stream_of(frame(None, TASK), error=httpx.ReadError("x")),
        stream_of(frame(None, {**TASK, "status": {"state": "working"}}), frame(None, done)),
    )
    async with client_for(script) as client:
        items = await collect(client.stream("go"))
    assert [i.kind for i in items if isinstance(i, Event)] == ["task", "task", "status-update"]
    assert script.methods() == [("message/stream", None), ("tasks/resubscribe", None)]


async def test_a_refused_first_request_is_repeated_but_a_broken_one_without_task_is_not() -> None:
    done = status("t", "completed", "done", final=True)
    script = Script(
        lambda: httpx.Response(429, headers={"Retry-After": "0"}),
        stream_of(frame("1-0", done)),
    )
    async with client_for(script) as client:
        items = await collect(client.stream("go"))
    assert script.methods() == [("message/stream", None), ("message/stream", None)]
    assert isinstance(items[0], Resumed) and items[0].reason == "http-429"
    first = json.loads(script.requests[0].content)["params"]["message"]["messageId"]
    assert json.loads(script.requests[1].content)["params"]["message"]["messageId"] == first

    broken = Script(stream_of(": keep-alive\n", error=httpx.ReadError("x")))
    async with client_for(broken) as client:
        with pytest.raises(ResumeFailed, match="second task"):
            await collect(client.stream("go"))
    # With a task id the message is recognised when repeated: it is sent again.
    again = Script(
        stream_of(": keep-alive\n", error=httpx.ReadError("x")), stream_of(frame("1-0", done))
    )
    async with client_for(again) as client:
        await collect(client.stream("go", task_id="t"))
    assert again.methods() == [("message/stream", None), ("message/stream", None)]


async def test_errors_are_raised_not_retried() -> None:
    error = {"jsonrpc": "2.0", "id": "x", "error": {"code": -32001, "message": "Task not found"}}
    script = Script(lambda: httpx.Response(200, json=error))
    async with client_for(script) as client:
        with pytest.raises(A2AError) as raised:
            await collect(client.resubscribe("nope"))
    assert raised.value.code == -32001


async def test_gives_up_after_max_attempts_without_progress() -> None:
    script = Script(*[lambda: httpx.Response(503) for _ in range(4)])
    async with client_for(script, max_attempts=3) as client:
        with pytest.raises(ResumeFailed, match="3 reconnections") as raised:
            await collect(client.resubscribe("t", last_event_id="4-0"))
    assert raised.value.last_event_id == "4-0"
    assert len(script.requests) == 4


async def test_deadline_bounds_waits_and_reads() -> None:
    # A Retry-After beyond the deadline fails without waiting for it (or for the deadline:
    # the guard, a TimeoutError, would end the test first), naming the last event.
    script = Script(
        stream_of(frame("1-0", TASK), error=httpx.ReadError("x")),
        lambda: httpx.Response(503, headers={"Retry-After": "3600"}),
    )
    async with client_for(script) as client, asyncio.timeout(30):
        with pytest.raises(StreamDeadlineExceeded) as raised:
            await collect(client.stream("go", deadline=60))
    assert raised.value.last_event_id == "1-0" and raised.value.task_id == "t"

    # A stream that stays silent is cut at the deadline, not when the body goes on (an
    # hour later: the guard would end the test first).
    async def silent() -> AsyncIterator[bytes]:
        yield frame("3-0", TASK).encode()
        await asyncio.sleep(3600)

    quiet = Script(lambda: httpx.Response(200, headers=SSE, content=silent()))
    started = time.monotonic()
    async with client_for(quiet, deadline=0.3) as client, asyncio.timeout(30):
        with pytest.raises(StreamDeadlineExceeded) as raised:
            await collect(client.stream("go"))
    assert time.monotonic() - started > 0.25, "not before the deadline"
    assert raised.value.last_event_id == "3-0"


async def test_unary_calls_retry_refusals() -> None:
    task = {**TASK, "status": {"state": "completed"}}
    script = Script(
        lambda: httpx.Response(503, headers={"Retry-After": "0"}),
        lambda: httpx.Response(200, json={"jsonrpc": "2.0", "id": "x", "result": task}),
    )
    async with client_for(script) as client:
        assert await client.get("t") == task
    assert script.methods() == [("tasks/get", None), ("tasks/get", None)]


async def test_calls_and_streams_read_answers_alike() -> None:
    """One reading of an answer for both: a refusal is retried until the attempts run out
    (then a call raises its HTTP error, a stream ``ResumeFailed``), any other HTTP error is
    raised at once, a body that is no JSON-RPC response is a client error (not a
    ``ValueError``), and so is a result where a stream was asked for."""
    result = {"jsonrpc": "2.0", "id": "x", "result": TASK}
    answers: dict[str, tuple[Callable[[], httpx.Response], int]] = {
        "busy": (lambda: httpx.Response(503, text="busy"), 3),
        "denied": (lambda: httpx.Response(401, text="who?"), 1),
        "html": (lambda: httpx.Response(200, text="<html>"), 1),
        "result": (lambda: httpx.Response(200, json=result), 1),
    }
    cases: list[tuple[str, bool, type[Exception], str]] = [
        ("busy", False, A2AHTTPError, "HTTP 503: busy"),
        ("busy", True, ResumeFailed, "2 reconnections without progress (http-503)"),
        ("denied", False, A2AHTTPError, "HTTP 401: who?"),
        ("denied", True, A2AHTTPError, "HTTP 401: who?"),
        ("html", False, A2AClientError, "not a JSON-RPC response"),
        ("html", True, A2AClientError, "not a JSON-RPC response"),
        ("result", True, A2AClientError, "expected an event stream"),
    ]
    for name, stream, error, message in cases:
        answer, requests = answers[name]
        script = Script(*[answer] * 3)
        async with client_for(script, max_attempts=2) as client:
            with pytest.raises(error, match=re.escape(message)):
                await (collect(client.resubscribe("t")) if stream else client.get("t"))
        assert len(script.requests) == requests, (name, stream)


# -- authentication -----------------------------------------------------------------------


def sent_headers(auth: httpx.Auth) -> httpx.Headers:
    request = httpx.Request("POST", "https://abc.lambda-url.us-east-1.on.aws/", json={"a": 1})
    flow = auth.sync_auth_flow(request)
    return next(flow).headers


def test_bearer_and_api_key() -> None:
    assert sent_headers(BearerAuth("tok"))["authorization"] == "Bearer tok"
    assert sent_headers(ApiKeyAuth("k"))["x-api-key"] == "k"


def test_sigv4_signs_for_lambda_with_botocore() -> None:
    from botocore.credentials import Credentials

    auth = SigV4Auth("us-east-1", credentials=Credentials("AKIDEXAMPLE", "secret", "token"))
    headers = sent_headers(auth)
    assert (
        headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        and "/us-east-1/lambda/aws4_request" in headers["authorization"]
    )
    assert "host" in headers["authorization"].split("SignedHeaders=")[1]
    assert headers["x-amz-date"] and headers["x-amz-security-token"] == "token"


def test_sigv4_without_botocore_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "botocore.auth", None)
    auth = SigV4Auth("us-east-1", credentials=object())
    with pytest.raises(MissingDependency, match="pip install botocore"):
        sent_headers(auth)


# -- the 1.0 dialect -------------------------------------------------------------------------


def test_requests_are_reshaped_for_1_0() -> None:
    message = make_message(
        {
            "parts": [
                {"kind": "text", "text": "hi"},
                {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "text/plain", "name": "a"}},
                {"kind": "file", "file": {"uri": "https://x.test/f"}},
                {"kind": "data", "data": {"k": 1}, "metadata": {"m": True}},
            ]
        },
        task_id="t",
    )
    params = v1.params_to_v1(
        "message/send", {"message": message, "configuration": {"blocking": False}}
    )
    sent = params["message"]
    assert sent["role"] == "ROLE_USER" and "kind" not in sent and sent["taskId"] == "t"
    assert sent["parts"] == [
        {"text": "hi"},
        {"raw": "aGk=", "mediaType": "text/plain", "filename": "a"},
        {"url": "https://x.test/f"},
        {"data": {"k": 1}, "metadata": {"m": True}},
    ]
    assert params["configuration"] == {"returnImmediately": True}
    assert v1.METHODS["tasks/resubscribe"] == "SubscribeToTask"


def test_1_0_results_come_back_in_0_3_shapes() -> None:
    said = {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "step 1"}]}
    working = {"state": "TASK_STATE_WORKING", "message": said}
    update = v1.result_from_v1(
        "message/stream", {"statusUpdate": {"taskId": "t", "contextId": "c", "status": working}}
    )
    assert update["kind"] == "status-update" and update["final"] is False
    assert update["status"]["state"] == "working"
    assert update["status"]["message"]["parts"] == [{"kind": "text", "text": "step 1"}]
    assert update["status"]["message"]["role"] == "agent"
    for state, final in (("INPUT_REQUIRED", True), ("COMPLETED", True), ("SUBMITTED", False)):
        done = v1.payload_from_v1(
            {"statusUpdate": {"taskId": "t", "status": {"state": f"TASK_STATE_{state}"}}}
        )
        assert done["final"] is final, state
    chunk = v1.payload_from_v1(
        {
            "artifactUpdate": {
                "taskId": "t",
                "append": True,
                "artifact": {
                    "artifactId": "a",
                    "parts": [{"raw": "eA==", "mediaType": "image/png"}],
                },
            }
        }
    )
    assert chunk["kind"] == "artifact-update" and chunk["append"] is True
    assert chunk["artifact"]["parts"] == [
        {"kind": "file", "file": {"bytes": "eA==", "mimeType": "image/png"}}
    ]
    task = v1.result_from_v1(
        "tasks/get",
        {"id": "t", "status": {"state": "TASK_STATE_CANCELED"}, "history": [said], "extra": 1},
    )
    assert task["kind"] == "task" and task["status"]["state"] == "canceled"
    assert task["history"][0]["kind"] == "message" and task["extra"] == 1
    sent = v1.result_from_v1("message/send", {"message": said})
    assert sent["kind"] == "message"
    assert Event("1-0", sent).final and Event("1-0", task).final


def test_the_protocol_is_read_from_the_card() -> None:
    jsonrpc = {"protocolBinding": "JSONRPC", "url": "http://x.test/"}
    assert protocol_of({"protocolVersion": "0.3.0", "supportedInterfaces": []}) == "0.3"
    assert protocol_of({"supportedInterfaces": [{**jsonrpc, "protocolVersion": "1.0"}]}) == "1.0"
    both = [{**jsonrpc, "protocolVersion": "1.0"}, {**jsonrpc, "protocolVersion": "0.3"}]
    assert protocol_of({"supportedInterfaces": both}) == "0.3"
    rest_only = [{"protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"}]
    assert protocol_of({"supportedInterfaces": rest_only}) == "0.3"
    assert protocol_of(None) == "0.3" and protocol_of({}) == "0.3"
    with pytest.raises(ValueError, match="protocol"):
        A2AClient("http://x.test", protocol="2.0")  # type: ignore[arg-type]


async def test_a_1_0_stream_is_followed_in_1_0() -> None:
    """protocol="1.0": SendStreamingMessage, then SubscribeToTask with Last-Event-ID after a
    cut, each with ``A2A-Version: 1.0``; the events come back in 0.3's shapes."""

    def v1_frame(event_id: str, payload: dict[str, Any]) -> str:
        body = json.dumps({"jsonrpc": "2.0", "id": "x", "result": payload})
        return f"id: {event_id}\ndata: {body}\n\n"

    task = {"id": "t", "contextId": "c", "status": {"state": "TASK_STATE_SUBMITTED"}}

    def update(state: str) -> dict[str, Any]:
        return {"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}}

    script = Script(
        stream_of(v1_frame("1-0", {"task": task}), v1_frame("2-0", update("TASK_STATE_WORKING"))),
        stream_of(
            v1_frame("2-0", update("TASK_STATE_WORKING")),
            v1_frame("3-0", update("TASK_STATE_COMPLETED")),
        ),
    )
    transport = httpx.MockTransport(script)
    async with httpx.AsyncClient(transport=transport) as http:
        client = A2AClient(
            "http://a2a.test/", http=http, retry=RetryPolicy(base=0.001, cap=0.01), protocol="1.0"
        )
        items = await collect(client.stream("hello"))
    events = [i for i in items if isinstance(i, Event)]
    assert [(e.id, e.kind, e.state) for e in events] == [
        ("1-0", "task", "submitted"),
        ("2-0", "status-update", "working"),
        ("3-0", "status-update", "completed"),
    ]
    assert events[-1].final
    assert [
        (
            json.loads(r.content)["method"],
            r.headers.get("last-event-id"),
            r.headers.get("a2a-version"),
        )
        for r in script.requests
    ] == [
        ("SendStreamingMessage", None, "1.0"),
        ("SubscribeToTask", "2-0", "1.0"),
    ]
    sent = json.loads(script.requests[0].content)["params"]["message"]
    assert sent["role"] == "ROLE_USER" and sent["parts"] == [{"text": "hello"}]
