"""Hostile input on the 1.0 surfaces (JSON-RPC dialect and HTTP+JSON binding): every
malformed request gets the error its version names, never a 500, a hang or a traceback
in the gateway's log."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.sse import rpc

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx

V1 = {"A2A-Version": "1.0"}


def v1_message(**message: Any) -> dict[str, Any]:
    body = {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": "x"}]}
    return {"message": body | message}


# (name, method, params, expected JSON-RPC code)
RPC_CASES: list[tuple[str, str, Any, int]] = [
    ("params-string", "SendMessage", "oops", -32602),
    ("params-list", "GetTask", ["id"], -32602),
    ("no-message", "SendMessage", {}, -32602),
    ("part-two-contents", "SendMessage", v1_message(parts=[{"text": "a", "url": "b"}]), -32602),
    ("part-no-content", "SendMessage", v1_message(parts=[{"mediaType": "text/plain"}]), -32602),
    ("part-bad-base64", "SendMessage", v1_message(parts=[{"raw": "%%%"}]), -32602),
    ("part-data-scalar", "SendMessage", v1_message(parts=[{"data": 3}]), -32602),
    ("role-agent", "SendMessage", v1_message(role="ROLE_AGENT"), -32602),
    ("role-number-bogus", "SendMessage", v1_message(role=99), -32602),
    ("parts-over-cap", "SendMessage", v1_message(parts=[{"text": "p"}] * 101), -32602),
    ("task-id-too-long", "GetTask", {"id": "t" * 200}, -32602),
    ("history-negative", "GetTask", {"id": "x", "historyLength": -1}, -32602),
    ("history-not-int", "GetTask", {"id": "x", "historyLength": "many"}, -32602),
    ("list-page-size-zero", "ListTasks", {"pageSize": 0}, -32602),
    ("list-page-size-huge", "ListTasks", {"pageSize": 10**12}, -32602),
    ("list-status-bogus", "ListTasks", {"status": "TASK_STATE_SLEEPING"}, -32602),
    ("list-token-garbage", "ListTasks", {"pageToken": "\u2028" * 10}, -32602),
    ("list-after-not-time", "ListTasks", {"statusTimestampAfter": "yesterday"}, -32602),
    ("push-no-url", "CreateTaskPushNotificationConfig", {"taskId": "x"}, -32602),
    ("cancel-no-id", "CancelTask", {}, -32602),
    ("unknown-method", "SendMessages", {}, -32601),
    ("legacy-method", "tasks/get", {"id": "x"}, -32601),
]


@pytest.fixture
def gateway(start_gateway: Callable[..., str], tmp_path: Path) -> tuple[str, Path]:
    return start_gateway(), tmp_path / "gateway.log"


async def test_hostile_json_rpc_requests_get_their_errors(
    http: httpx.AsyncClient, gateway: tuple[str, Path]
) -> None:
    url, log = gateway
    for name, method, params, code in RPC_CASES:
        response = await http.post(url, json=rpc(method, params, name), headers=V1)
        assert response.status_code == 200, (name, response.text)
        answer = response.json()
        assert answer["id"] == name
        assert answer["error"]["code"] == code, (name, answer)
        assert isinstance(answer["error"]["data"], list), (name, answer)
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


async def test_hostile_http_json_requests_get_their_statuses(
    http: httpx.AsyncClient, gateway: tuple[str, Path]
) -> None:
    url, log = gateway
    base = url + "/agents/progress"
    json_type = {"content-type": "application/json"}
    cases: list[tuple[str, str, str, dict[str, str], bytes | None, int]] = [
        ("body-not-json", "POST", "/message:send", json_type, b"{nope", 400),
        ("body-array", "POST", "/message:send", json_type, b"[1, 2]", 400),
        ("body-deep", "POST", "/message:send", json_type, b"[" * 100 + b"]" * 100, 400),
        ("body-form", "POST", "/message:send", {"content-type": "text/plain"}, b"a=b", 415),
        ("cancel-body-garbage", "POST", "/tasks/x:cancel", json_type, b"{", 400),
        ("unknown-verb", "POST", "/tasks/x:explode", json_type, b"{}", 404),
        ("get-with-verb", "GET", "/tasks/x:cancel", {}, None, 404),
        ("task-id-too-long", "GET", "/tasks/" + "t" * 300, {}, None, 400),
        ("page-size-word", "GET", "/tasks?pageSize=lots", {}, None, 400),
        ("include-artifacts-word", "GET", "/tasks?includeArtifacts=maybe", {}, None, 400),
        ("history-word", "GET", "/tasks/x?historyLength=lots", {}, None, 400),
        ("bad-last-event-id", "POST", "/tasks/x:subscribe", {"last-event-id": "zz"}, None, 404),
        ("huge-version", "GET", "/tasks", {"A2A-Version": "9" * 5000}, None, 400),
        ("push-on-unknown-task", "POST", "/tasks/x/pushNotificationConfigs", json_type, b"{}", 400),
    ]
    for name, method, path, headers, body, status in cases:
        response = await http.request(method, base + path, headers=headers, content=body)
        assert response.status_code == status, (name, response.status_code, response.text)
        if status != 404 or ":" in path:
            error = response.json()["error"]
            assert error["code"] == status and error["details"], (name, error)
    sent = await http.post(base + "/message:send", json=v1_message(parts=[{"text": "steps=1"}]))
    task_id = sent.json()["task"]["id"]
    for last in ("zz", "1-2-3", "99999999999999999999999-0", "9999999999999-0"):
        resumed = await http.post(
            f"{base}/tasks/{task_id}:subscribe", headers={"last-event-id": last}
        )
        assert resumed.status_code == 400, (last, resumed.text)
        assert resumed.json()["error"]["status"] == "INVALID_ARGUMENT"
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]
