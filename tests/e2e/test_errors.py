"""Every JSON-RPC and A2A error the gateway raises in this slice, over real HTTP."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.sse import events, message, rpc

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        yield http


VALID_MESSAGE = message("hi")["message"]

CASES: list[tuple[str, Any, int, Any]] = [
    ("malformed json", b'{"jsonrpc": "2.0", "id": 1,', -32700, None),
    ("not utf-8", b"\xff\xfe{}", -32700, None),
    ("array batch", b"[]", -32600, None),
    ("scalar body", b"3", -32600, None),
    ("wrong version", {"jsonrpc": "1.0", "id": 7, "method": "tasks/get"}, -32600, 7),
    ("missing method", {"jsonrpc": "2.0", "id": 8}, -32600, 8),
    ("method not a string", {"jsonrpc": "2.0", "id": 9, "method": 5}, -32600, 9),
    (
        "params not structured",  # the method's params are wrong, not the envelope
        {"jsonrpc": "2.0", "id": 10, "method": "tasks/get", "params": 3},
        -32602,
        10,
    ),
    (
        "unknown method",
        {"jsonrpc": "2.0", "id": "u", "method": "tasks/explode", "params": {}},
        -32601,
        "u",
    ),
    (
        "params a list",
        {"jsonrpc": "2.0", "id": 11, "method": "tasks/get", "params": []},
        -32602,
        11,
    ),
    (
        "get without id",
        {"jsonrpc": "2.0", "id": 12, "method": "tasks/get", "params": {}},
        -32602,
        12,
    ),
    (
        "history length negative",
        {
            "jsonrpc": "2.0",
            "id": 13,
            "method": "tasks/get",
            "params": {"id": "x", "historyLength": -1},
        },
        -32602,
        13,
    ),
    (
        "message without messageId",
        rpc(
            "message/send",
            {"message": {"role": "user", "parts": [{"kind": "text", "text": "x"}]}},
            14,
        ),
        -32602,
        14,
    ),
    (
        "message with empty parts",
        rpc("message/send", {"message": {"role": "user", "messageId": "m", "parts": []}}, 15),
        -32602,
        15,
    ),
    (
        "unknown part kind",
        rpc("message/send", {"message": VALID_MESSAGE | {"parts": [{"kind": "video"}]}}, 16),
        -32602,
        16,
    ),
    (
        "file part without bytes or uri",
        rpc(
            "message/send",
            {"message": VALID_MESSAGE | {"parts": [{"kind": "file", "file": {}}]}},
            17,
        ),
        -32602,
        17,
    ),
    (
        "malformed task id",
        rpc("message/send", {"message": VALID_MESSAGE | {"taskId": "../../etc"}}, 18),
        -32602,
        18,
    ),
    ("unknown task on get", rpc("tasks/get", {"id": "no-such-task"}, 19), -32001, 19),
    ("unknown task on cancel", rpc("tasks/cancel", {"id": "no-such-task"}, 20), -32001, 20),
    (
        "push config not supported",
        rpc("tasks/pushNotificationConfig/get", {"id": "t"}, 21),
        -32003,
        21,
    ),
]


@pytest.mark.parametrize(("name", "body", "code", "request_id"), CASES, ids=[c[0] for c in CASES])
async def test_error_codes(
    client: httpx.AsyncClient, gateway_url: str, name: str, body: Any, code: int, request_id: Any
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = await client.post(
        gateway_url, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == request_id
    assert answer["error"]["code"] == code
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    assert "Traceback" not in response.text


async def test_invalid_params_message_names_the_field(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    body = rpc("message/send", {"message": {"role": "user", "messageId": "m", "parts": []}})
    error = (await client.post(gateway_url, json=body)).json()["error"]
    assert "message.parts" in error["message"]
    assert error["data"]["errors"][0]["field"] == "message.parts"


async def test_oversize_body_is_refused_before_parsing(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    huge = (
        b'{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"x":"'
        + b"a" * 2_000_000
        + b'"}}'
    )
    response = await client.post(
        gateway_url, content=huge, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == -32600


async def test_streaming_methods_report_errors_as_one_sse_event(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    stream = await events(client, gateway_url, rpc("tasks/resubscribe", {"id": "missing"}, 5))
    assert len(stream) == 1
    assert stream[0].data == {
        "jsonrpc": "2.0",
        "id": 5,
        "error": {"code": -32001, "message": "Task not found", "data": {"taskId": "missing"}},
    }
    bad = await events(client, gateway_url, rpc("message/stream", {"message": {"role": "user"}}, 6))
    assert bad[0].data is not None and bad[0].data["error"]["code"] == -32602


async def test_bad_last_event_id_is_invalid_params(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    task = (await client.post(gateway_url, json=rpc("message/send", message("a")))).json()["result"]
    stream = await events(
        client,
        gateway_url,
        rpc("tasks/resubscribe", {"id": task["id"]}),
        headers={"Last-Event-ID": "not-an-id"},
    )
    assert stream[0].data is not None and stream[0].data["error"]["code"] == -32602


async def test_follow_up_to_working_task_is_refused(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/progress"
    params = message("steps=20 interval=0.2") | {"configuration": {"blocking": False}}
    task = (await client.post(url, json=rpc("message/send", params))).json()["result"]
    refused = (await client.post(url, json=rpc("message/send", message("more", task["id"])))).json()
    assert refused["error"]["code"] == -32004
    assert "input-required" in refused["error"]["message"]
    await client.post(url, json=rpc("tasks/cancel", {"id": task["id"]}))


async def test_unknown_agent_path_is_404(client: httpx.AsyncClient, gateway_url: str) -> None:
    response = await client.post(gateway_url + "/agents/ghost", json=rpc("tasks/get", {"id": "x"}))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32601


async def test_notification_gets_no_body(client: httpx.AsyncClient, gateway_url: str) -> None:
    body = {"jsonrpc": "2.0", "method": "tasks/get", "params": {"id": "x"}}
    response = await client.post(gateway_url, json=body)
    assert response.status_code == 204
    assert response.content == b""


async def test_a_stored_task_that_is_not_a_valid_task_is_invalid_agent_response(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    task = (await client.post(gateway_url, json=rpc("message/send", message("x")))).json()["result"]
    (key,) = await redis.keys(f"a2a:*:task:anonymous:{task['id']}")
    await redis.hset(key, "status", '{"state": "exploded"}')  # what a buggy agent could leave
    answer = (await client.post(gateway_url, json=rpc("tasks/get", {"id": task["id"]}, 3))).json()
    assert answer == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {
            "code": -32006,
            "message": "Invalid agent response",
            "data": {"taskId": task["id"]},
        },
    }
