"""Hostile requests at the gateway's edge, over real HTTP against real servers.

A burst of streams past the cap, waits whose client left, caps on everything a request
can make, JSON nested too deep, cross-site content types, foreign Host headers (DNS
rebinding), CORS, and a stream whose frames raise. None of it may exceed a cap, leave a
slot or a subscription behind, or log a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from a2a_gateway.core.limits import (
    MAX_ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_LIST_ITEMS,
    MAX_METADATA_BYTES,
    MAX_PARTS,
    MAX_PUSH_CONFIGS,
    MAX_URI_LENGTH,
)
from a2a_gateway.errors import InvalidParamsError
from a2a_gateway.gateway.sse import EventStreamResponse
from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import message, rpc

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from a2a_gateway_dev.devstack import Stack

LONG_ID = "i" * (MAX_ID_LENGTH + 1)
BIG_METADATA = {"k": "v" * MAX_METADATA_BYTES}
PUSH = {"url": "https://example.com/hook"}


@dataclass
class Gateway:
    """A gateway process of this module and its log file."""

    url: str
    log: Path

    def assert_no_traceback(self) -> None:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        assert "Traceback" not in text, text[-4000:]

    async def health(self, client: httpx.AsyncClient) -> dict[str, Any]:
        health: dict[str, Any] = (await client.get(self.url + "/healthz")).json()
        return health

    async def until(
        self,
        client: httpx.AsyncClient,
        holds: Callable[[dict[str, Any]], bool],
        within: float = 10.0,
    ) -> dict[str, Any]:
        """/healthz once ``holds`` is true of it; fails after ``within`` seconds."""
        deadline = time.monotonic() + within
        health = await self.health(client)
        while not holds(health):
            assert time.monotonic() < deadline, health
            await asyncio.sleep(0.05)
            health = await self.health(client)
        return health


@pytest.fixture(scope="module")
def edge(stack: Stack, worker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One gateway (push configs on) for the tests that only send requests, with its own log."""
    proc = stack.gateway(free_port(), env={**GATEWAY_ENV, "A2A_PUSH_NOTIFICATIONS": "true"})
    proc.name = "gateway-edge"
    log_dir = tmp_path_factory.mktemp("edge")
    try:
        proc.start(log_dir)
        proc.wait_ready(30)
        yield Gateway(f"http://127.0.0.1:{proc.port}", log_dir / "gateway-edge.log")
    finally:
        proc.stop()


def started(start_gateway: Callable[..., str], tmp_path: Path, **env: str) -> Gateway:
    return Gateway(start_gateway(**env), tmp_path / "gateway.log")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as http:
        yield http


def new_id() -> str:
    return f"edge-{uuid.uuid4()}"


def nonblocking(text: str, task_id: str | None = None) -> dict[str, Any]:
    return message(text, task_id) | {"configuration": {"blocking": False}}


async def cancel_all(client: httpx.AsyncClient, url: str, task_ids: list[str]) -> None:
    await asyncio.gather(*(client.post(url, json=rpc("tasks/cancel", {"id": t})) for t in task_ids))


# -- capacity: a burst, and waits ------------------------------------------------------------


async def test_a_burst_of_streams_never_exceeds_the_cap(
    client: httpx.AsyncClient, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    gateway = started(start_gateway, tmp_path, A2A_MAX_STREAMS="50")
    url = gateway.url + "/agents/progress"
    burst = 150
    statuses: list[int] = []
    refusals: list[httpx.Response] = []
    task_ids: list[str] = []
    answered = asyncio.Event()
    peak = 0

    async def open_one() -> None:
        body = rpc("message/stream", message("steps=2 interval=10"))
        async with client.stream("POST", url, json=body) as response:
            if response.status_code == 200:
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        task_ids.append(json.loads(line[5:])["result"]["id"])
                        break
            else:
                await response.aread()
                refusals.append(response)
            statuses.append(response.status_code)
            if len(statuses) == burst:
                answered.set()
            await answered.wait()  # accepted streams stay open until all are answered

    async def watch_health() -> None:
        nonlocal peak
        while not answered.is_set():
            health = await gateway.health(client)
            peak = max(peak, health["streams"] + health.get("waits", 0))
            await asyncio.sleep(0.02)

    await asyncio.wait_for(
        asyncio.gather(watch_health(), *(open_one() for _ in range(burst))), timeout=90
    )
    await cancel_all(client, url, task_ids)

    assert statuses.count(200) == 50, statuses
    assert statuses.count(503) == burst - 50, statuses
    assert peak <= 50
    refused = refusals[0]
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == -32603
    assert "maximum of 50 streams" in refused.json()["error"]["message"]
    await gateway.until(client, lambda h: h["streams"] == 0 and h["waits"] == 0)
    gateway.assert_no_traceback()


async def test_blocking_waits_count_toward_the_cap(
    client: httpx.AsyncClient, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    gateway = started(start_gateway, tmp_path, A2A_MAX_STREAMS="2")
    url = gateway.url + "/agents/progress"
    held = [new_id(), new_id()]
    waiters = [httpx.AsyncClient(timeout=60) for _ in held]
    waits = [
        asyncio.create_task(
            w.post(url, json=rpc("message/send", message("steps=1 interval=30", t)))
        )
        for w, t in zip(waiters, held, strict=True)
    ]
    try:
        await gateway.until(client, lambda h: h.get("waits") == 2)
        for task_id in held:  # a wait holds its place from before its task exists
            for _ in range(100):
                got = await client.post(url, json=rpc("tasks/get", {"id": task_id}))
                if "result" in got.json():
                    break
                await asyncio.sleep(0.05)
        refused = [
            await client.post(url, json=rpc("message/send", message("steps=0"), 5), timeout=5),
            await client.post(url, json=rpc("message/stream", message("steps=0"), 6), timeout=5),
            await client.post(url, json=rpc("tasks/cancel", {"id": held[0]}, 7), timeout=5),
        ]
        for response, request_id in zip(refused, (5, 6, 7), strict=True):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            assert response.json()["id"] == request_id
            assert "maximum of 2 streams" in response.json()["error"]["message"]
        # A batch member that would wait is answered with the same error; others run.
        batch = await client.post(
            url,
            json=[rpc("message/send", message("steps=0"), 8), rpc("tasks/get", {"id": held[0]}, 9)],
            timeout=5,
        )
        by_id = {answer["id"]: answer for answer in batch.json()}
        assert "maximum of 2 streams" in by_id[8]["error"]["message"]
        assert by_id[9]["result"]["id"] == held[0]
        # What does not wait is not limited.
        quick = await client.post(url, json=rpc("message/send", nonblocking("steps=0")))
        assert quick.json()["result"]["kind"] == "task"
    finally:
        for wait in waits:
            wait.cancel()
        for waiter in waiters:
            await waiter.aclose()
    await gateway.until(client, lambda h: h["waits"] == 0 and h["subscriptions"] == 0)
    await cancel_all(client, url, held)
    gateway.assert_no_traceback()


async def test_a_wait_whose_client_left_is_released(
    client: httpx.AsyncClient, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    gateway = started(start_gateway, tmp_path)
    url = gateway.url + "/agents/progress"
    task_id = new_id()
    async with httpx.AsyncClient(timeout=60) as leaving:
        body = rpc("message/send", message("steps=1 interval=30", task_id))
        pending = asyncio.create_task(leaving.post(url, json=body))
        await gateway.until(client, lambda h: h.get("waits") == 1 and h["subscriptions"] == 1)
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
    await gateway.until(client, lambda h: h["waits"] == 0 and h["subscriptions"] == 0, within=3)
    # Only the wait ended: the task goes on.
    task = (await client.post(url, json=rpc("tasks/get", {"id": task_id}))).json()["result"]
    assert task["status"]["state"] in ("submitted", "working")
    await cancel_all(client, url, [task_id])
    gateway.assert_no_traceback()


async def test_message_send_as_a_notification_answers_at_once(
    client: httpx.AsyncClient, edge: Gateway
) -> None:
    url = edge.url + "/agents/progress"
    task_id = new_id()
    notification = {
        "jsonrpc": "2.0",
        "method": "message/send",
        "params": message("steps=1 interval=30", task_id),
    }
    started_at = time.monotonic()
    response = await client.post(url, json=notification)
    assert response.status_code == 204
    assert time.monotonic() - started_at < 5, "a notification does not wait for the task"
    task = (await client.post(url, json=rpc("tasks/get", {"id": task_id}))).json()["result"]
    assert task["status"]["state"] in ("submitted", "working")
    await cancel_all(client, url, [task_id])
    edge.assert_no_traceback()


# -- caps on what a request can make ---------------------------------------------------------


def send(**fields: Any) -> dict[str, Any]:
    """message/send params (non-blocking, to the echo agent) with message fields set."""
    body = nonblocking("hi")
    body["message"].update(fields)
    return body


CAPS = [
    pytest.param(
        "message/send",
        send(parts=[{"kind": "text", "text": "x"}] * (MAX_PARTS + 1)),
        MAX_PARTS,
        id="parts",
    ),
    pytest.param("message/send", send(messageId=LONG_ID), MAX_ID_LENGTH, id="messageId"),
    pytest.param("message/send", send(contextId=LONG_ID), MAX_ID_LENGTH, id="contextId"),
    pytest.param(
        "message/send", send(referenceTaskIds=[LONG_ID]), MAX_ID_LENGTH, id="referenceTaskId"
    ),
    pytest.param(
        "message/send",
        send(referenceTaskIds=["t"] * (MAX_LIST_ITEMS + 1)),
        MAX_LIST_ITEMS,
        id="referenceTaskIds",
    ),
    pytest.param(
        "message/send", send(metadata=BIG_METADATA), MAX_METADATA_BYTES, id="message-metadata"
    ),
    pytest.param(
        "message/send",
        nonblocking("hi") | {"metadata": BIG_METADATA},
        MAX_METADATA_BYTES,
        id="request-metadata",
    ),
    pytest.param("tasks/get", {"id": LONG_ID}, MAX_ID_LENGTH, id="tasks/get-id"),
    pytest.param("tasks/cancel", {"id": LONG_ID}, MAX_ID_LENGTH, id="tasks/cancel-id"),
    pytest.param(
        "tasks/pushNotificationConfig/set",
        {"taskId": "t", "pushNotificationConfig": {**PUSH, "id": LONG_ID}},
        MAX_ID_LENGTH,
        id="push-config-id",
    ),
    pytest.param(
        "tasks/pushNotificationConfig/set",
        {"taskId": "t", "pushNotificationConfig": {"url": "https://e.com/" + "p" * MAX_URI_LENGTH}},
        MAX_URI_LENGTH,
        id="push-url",
    ),
    pytest.param(
        "tasks/pushNotificationConfig/delete",
        {"id": "t", "pushNotificationConfigId": LONG_ID},
        MAX_ID_LENGTH,
        id="push-config-id-delete",
    ),
]


@pytest.mark.parametrize(("method", "params", "limit"), CAPS)
async def test_over_a_cap_is_invalid_params_naming_the_limit(
    client: httpx.AsyncClient, edge: Gateway, method: str, params: dict[str, Any], limit: int
) -> None:
    response = await client.post(edge.url, json=rpc(method, params, "cap"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["id"] == "cap"
    assert answer["error"]["code"] == -32602, answer
    assert str(limit) in answer["error"]["message"], answer
    edge.assert_no_traceback()


async def test_a_stream_over_a_cap_is_one_error_event(
    client: httpx.AsyncClient, edge: Gateway
) -> None:
    body = rpc("message/stream", send(parts=[{"kind": "text", "text": "x"}] * (MAX_PARTS + 1)))
    response = await asyncio.wait_for(client.post(edge.url, json=body), 10)
    assert response.headers["content-type"].startswith("text/event-stream")
    data = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    assert len(data) == 1 and data[0]["error"]["code"] == -32602
    assert str(MAX_PARTS) in data[0]["error"]["message"]
    assert (await edge.health(client))["streams"] == 0


async def test_a_json_rpc_id_over_the_cap_is_invalid_request(
    client: httpx.AsyncClient, edge: Gateway
) -> None:
    answer = (await client.post(edge.url, json=rpc("tasks/get", {"id": "t"}, LONG_ID))).json()
    assert answer["id"] is None
    assert answer["error"]["code"] == -32600
    assert str(MAX_ID_LENGTH) in answer["error"]["message"]


async def test_push_configs_per_task_are_capped(client: httpx.AsyncClient, edge: Gateway) -> None:
    created = await client.post(edge.url, json=rpc("message/send", nonblocking("hi")))
    task_id = created.json()["result"]["id"]

    statuses: list[int] = []

    async def put(config_id: str) -> dict[str, Any]:
        config = {**PUSH, "id": config_id}
        params = {"taskId": task_id, "pushNotificationConfig": config}
        response = await client.post(edge.url, json=rpc("tasks/pushNotificationConfig/set", params))
        statuses.append(response.status_code)
        answer: dict[str, Any] = response.json()
        return answer

    # Concurrent sets of new ids: exactly the cap (the default pushConfigsPerTask) is
    # stored, the rest refused with HTTP 429 and an error naming the limit.
    answers = await asyncio.gather(*(put(f"c{i}") for i in range(MAX_PUSH_CONFIGS * 2)))
    stored = [a for a in answers if "result" in a]
    refused = [a["error"] for a in answers if "error" in a]
    assert len(stored) == MAX_PUSH_CONFIGS
    assert sorted(statuses) == [200] * MAX_PUSH_CONFIGS + [429] * MAX_PUSH_CONFIGS
    assert {e["code"] for e in refused} == {-32000}
    assert {e["data"]["limit"] for e in refused} == {"pushConfigsPerTask"}
    assert all(str(MAX_PUSH_CONFIGS) in e["message"] for e in refused)
    # Replacing one by its id is always allowed.
    kept = stored[0]["result"]["pushNotificationConfig"]["id"]
    assert "result" in await put(kept)
    assert "error" in await put("one-more")
    listed = await client.post(
        edge.url, json=rpc("tasks/pushNotificationConfig/list", {"id": task_id})
    )
    assert len(listed.json()["result"]) == MAX_PUSH_CONFIGS
    edge.assert_no_traceback()


def deep_body(depth: int) -> bytes:
    """A non-blocking message/send whose body nests ``depth`` levels: request, params,
    message, metadata, then lists."""
    lists = depth - 4
    head = {"jsonrpc": "2.0", "id": f"d{depth}", "method": "message/send"}
    params = nonblocking("deep")
    message_json = json.dumps(params["message"])[:-1] + ', "metadata": {"x": '
    return (
        json.dumps(head)[:-1].encode()
        + b', "params": {"configuration": {"blocking": false}, "message": '
        + message_json.encode()
        + b"[" * lists
        + b"1"
        + b"]" * lists
        + b"}}}}"
    )


async def test_json_nesting_is_capped(client: httpx.AsyncClient, edge: Gateway) -> None:
    headers = {"content-type": "application/json"}
    at_limit = await client.post(edge.url, content=deep_body(MAX_JSON_DEPTH), headers=headers)
    kind = at_limit.json().get("result", {}).get("kind")
    assert kind == "task", at_limit.text[:300]
    for depth in (MAX_JSON_DEPTH + 1, 300, 1000, 5000):
        response = await client.post(edge.url, content=deep_body(depth), headers=headers)
        assert response.status_code == 200
        answer = response.json()
        error = answer.get("error") or {}
        assert error.get("code") == -32602, (depth, response.text[:300])
        assert str(MAX_JSON_DEPTH) in error["message"]
        assert answer["id"] in (f"d{depth}", None)
    edge.assert_no_traceback()


# -- cross-site requests, Host and CORS -------------------------------------------------------


async def test_only_json_media_types_are_executed(client: httpx.AsyncClient, edge: Gateway) -> None:
    url = edge.url + "/agents/progress"
    running = new_id()
    await client.post(url, json=rpc("message/send", nonblocking("steps=1 interval=30", running)))
    for content_type in (
        None,
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonl",
    ):
        created = new_id()
        for body in (
            rpc("message/send", nonblocking("steps=0", created)),
            rpc("tasks/cancel", {"id": running}),
        ):
            headers = {"content-type": content_type} if content_type else {}
            response = await client.post(url, content=json.dumps(body).encode(), headers=headers)
            assert response.status_code == 415, (content_type, response.text)
            error = response.json()["error"]
            assert error["code"] == -32600 and "application/json" in error["message"]
        missing = (await client.post(url, json=rpc("tasks/get", {"id": created}))).json()
        assert missing["error"]["code"] == -32001, "nothing was created"
    still = (await client.post(url, json=rpc("tasks/get", {"id": running}))).json()
    assert still["result"]["status"]["state"] in ("submitted", "working"), "nothing was canceled"
    for content_type in (
        "application/json; charset=utf-8",
        "application/a2a+json",
        "Application/JSON",
    ):
        body = json.dumps(rpc("tasks/get", {"id": running})).encode()
        response = await client.post(url, content=body, headers={"content-type": content_type})
        assert response.json()["result"]["id"] == running, content_type
    await cancel_all(client, url, [running])
    edge.assert_no_traceback()


async def test_foreign_hosts_are_refused(
    client: httpx.AsyncClient, edge: Gateway, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    port = edge.url.rsplit(":", 1)[1]
    get = rpc("tasks/get", {"id": "nope"})
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.2", "localhost.evil.example"):
        for response in (
            await client.post(edge.url, json=get, headers={"host": host}),
            await client.get(edge.url + "/.well-known/agent.json", headers={"host": host}),
        ):
            assert response.status_code == 400, host
            assert response.json()["error"]["code"] == -32600
            assert "A2A_ALLOWED_HOSTS" in response.json()["error"]["message"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}", "[::1]"):
        response = await client.post(edge.url, json=get, headers={"host": host})
        assert response.json()["error"]["code"] == -32001, host

    allowed = started(start_gateway, tmp_path, A2A_ALLOWED_HOSTS="a2a.example.com, *.corp.example")
    for host, status in (
        ("a2a.example.com", 200),
        ("A2A.example.com:443", 200),
        ("x.corp.example", 200),
        ("a.b.corp.example:8443", 200),
        ("localhost", 200),
        ("corp.example", 400),
        ("a2a.example.com.evil.example", 400),
        ("evil.example", 400),
    ):
        response = await client.get(allowed.url + "/healthz", headers={"host": host})
        assert response.status_code == status, host
    edge.assert_no_traceback()


async def test_cors_is_off_by_default_and_allowed_per_origin(
    client: httpx.AsyncClient, edge: Gateway, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    app_origin = "https://app.example.com"
    preflight = {
        "origin": app_origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, last-event-id, a2a-version",
    }
    closed = await client.options(edge.url, headers=preflight)
    assert "access-control-allow-origin" not in closed.headers

    gateway = started(
        start_gateway, tmp_path, A2A_CORS_ORIGINS=f"{app_origin},http://localhost:3000"
    )
    allowed = await client.options(gateway.url, headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == app_origin
    assert "last-event-id" in allowed.headers["access-control-allow-headers"].lower()
    assert "POST" in allowed.headers["access-control-allow-methods"]
    foreign = await client.options(
        gateway.url, headers={**preflight, "origin": "https://evil.example"}
    )
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers

    answer = await client.post(
        gateway.url, json=rpc("tasks/get", {"id": "nope"}), headers={"origin": app_origin}
    )
    assert answer.headers["access-control-allow-origin"] == app_origin
    assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
    for _ in range(2):  # each stream carries the CORS headers once (no shared header list)
        stream = await client.post(
            gateway.url, json=rpc("message/stream", message("hi")), headers={"origin": app_origin}
        )
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers.get_list("access-control-allow-origin") == [app_origin]
    edge.assert_no_traceback()


async def test_loopback_cors_allows_local_pages_only(
    client: httpx.AsyncClient, start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    """``A2A_CORS_ORIGINS=loopback`` (what ``make dev`` sets): a page served from this
    machine on any port may call; a remote site, or one that only looks local, may not."""
    gateway = started(start_gateway, tmp_path, A2A_CORS_ORIGINS="loopback")
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
    }
    for origin in (
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://[::1]:8000",
        "http://localhost",
    ):
        allowed = await client.options(gateway.url, headers={**preflight, "origin": origin})
        assert allowed.status_code == 200, origin
        assert allowed.headers["access-control-allow-origin"] == origin
    for origin in (
        "https://evil.example",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example:80",
        "http://evil.example#http://localhost",
        "null",
    ):
        refused = await client.options(gateway.url, headers={**preflight, "origin": origin})
        assert refused.status_code == 400, origin
        assert "access-control-allow-origin" not in refused.headers, origin
    gateway.assert_no_traceback()


# -- streams that end badly ---------------------------------------------------------------------


async def test_odd_last_event_ids_never_raise_in_the_server(
    client: httpx.AsyncClient, edge: Gateway
) -> None:
    created = await client.post(edge.url, json=rpc("message/send", message("hi")))
    task_id = created.json()["result"]["id"]
    for last in ("18446744073709551616-0", "0-18446744073709551616", "9" * 40 + "-1", "1-", "x"):
        response = await client.post(
            edge.url,
            json=rpc("tasks/resubscribe", {"id": task_id}),
            headers={"last-event-id": last},
        )
        assert response.status_code == 200
        data = [
            json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")
        ]
        assert all("result" in d or d["error"]["code"] != -32603 for d in data), (last, data)
    assert (await edge.health(client))["streams"] == 0
    edge.assert_no_traceback()


async def frames_then(error: BaseException) -> AsyncIterator[bytes]:
    yield b"data: 1\n\n"
    raise error


async def never_disconnects() -> dict[str, Any]:
    await asyncio.sleep(3600)
    return {"type": "http.disconnect"}


@pytest.mark.parametrize(
    ("error", "level", "stack"),
    [
        pytest.param(InvalidParamsError("bad id"), logging.INFO, False, id="rpc-error"),
        pytest.param(RuntimeError("boom"), logging.ERROR, True, id="unexpected"),
    ],
)
async def test_a_stream_whose_frames_raise_ends_cleanly(
    caplog: pytest.LogCaptureFixture, error: Exception, level: int, stack: bool
) -> None:
    """EventStreamResponse on its own (plain ASGI callables): an exception from the frames
    ends the body and is logged (one line for an RPC error, a stack for anything else); it
    never escapes, as an exception group or otherwise."""
    sent: list[dict[str, Any]] = []

    async def collect(item: Any) -> None:
        sent.append(item)

    with caplog.at_level(logging.INFO, logger="a2a_gateway.gateway.sse"):
        await EventStreamResponse(frames_then(error))({"type": "http"}, never_disconnects, collect)
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\n", b""]
    assert sent[-1]["more_body"] is False
    records = [r for r in caplog.records if r.name == "a2a_gateway.gateway.sse"]
    assert [r.levelno for r in records] == [level]
    assert (records[0].exc_info is not None) is stack


async def test_a_stream_whose_frames_raise_ends_with_the_error_frame_it_is_given() -> None:
    sent: list[dict[str, Any]] = []

    async def collect(item: Any) -> None:
        sent.append(item)

    seen: list[Exception] = []

    def on_error(err: Exception) -> bytes:
        seen.append(err)
        return b"data: error\n\n"

    error = InvalidParamsError("bad id")
    response = EventStreamResponse(frames_then(error), on_error=on_error)
    await response({"type": "http"}, never_disconnects, collect)
    assert [m.get("body") for m in sent[1:]] == [b"data: 1\n\n", b"data: error\n\n", b""]
    assert seen == [error]


async def test_a_stream_gives_back_its_slot_however_it_ends() -> None:
    """``on_close`` (the capacity slot) runs exactly once: after the frames end, after they
    raise, and when not even the response start could be sent."""

    async def collect(item: Any) -> None:
        pass

    async def refuse(item: Any) -> None:
        raise OSError("the client is gone")

    async def done() -> AsyncIterator[bytes]:
        yield b"data: 1\n\n"

    for frames, send in (
        (done(), collect),
        (frames_then(RuntimeError("boom")), collect),
        (done(), refuse),
    ):
        closed: list[bool] = []
        response = EventStreamResponse(frames, on_close=lambda c=closed: c.append(True))
        await response({"type": "http"}, never_disconnects, send)
        assert closed == [True]
