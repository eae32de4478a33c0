"""A2A v0.2.5 conformance, table-driven, over real HTTP.

Every success ``result`` (and every SSE ``data:`` result) is validated against the JSON
schema definition the spec names for it; every error against ``JSONRPCErrorResponse``
with its exact code. ``gateway_url`` has push notifications off, ``push_gateway_url`` on.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import pytest

from a2a_gateway.core.extensions import PUSH_EVERY_STATUS
from tests.e2e.sse import events, message, rpc

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "a2a.schema.json").read_text())
STREAMING = {"message/stream", "tasks/resubscribe"}
KIND_DEFINITION = {
    "task": "Task",
    "message": "Message",
    "status-update": "TaskStatusUpdateEvent",
    "artifact-update": "TaskArtifactUpdateEvent",
}
PROGRESS = "/agents/progress"
ASK = "/agents/ask"
HOOK = "https://hooks.example.com/a2a"


def validator(definition: str) -> jsonschema.protocols.Validator:
    wrapped = {
        "$schema": SCHEMA["$schema"],
        "$ref": f"#/definitions/{definition}",
        "definitions": SCHEMA["definitions"],
    }
    cls = jsonschema.validators.validator_for(wrapped)
    return cls(wrapped)


VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def conforms(definition: str, value: Any) -> None:
    """``value`` validates as ``#/definitions/<definition>`` (raises with the path if not)."""
    if definition not in VALIDATORS:
        VALIDATORS[definition] = validator(definition)
    VALIDATORS[definition].validate(value)


def success(answer: Any, definition: str, request_id: Any, envelope: str | None = None) -> Any:
    """The ``result`` of a success response, after checking envelope and result shape."""
    assert isinstance(answer, dict), answer
    assert "error" not in answer, answer
    assert answer["jsonrpc"] == "2.0"
    assert answer["id"] == request_id
    if envelope is not None:
        conforms(envelope, answer)
    conforms(definition, answer["result"])
    return answer["result"]


def failure(answer: Any, code: int, request_id: Any) -> dict[str, Any]:
    """The ``error`` of an error response with exactly ``code``."""
    conforms("JSONRPCErrorResponse", answer)
    assert answer["id"] == request_id, answer
    assert answer["error"]["code"] == code, answer
    assert answer["error"]["message"]
    assert "result" not in answer
    error: dict[str, Any] = answer["error"]
    return error


def stream_results(stream: list[Any], request_id: Any) -> list[dict[str, Any]]:
    """Each SSE result, validated as a SendStreamingMessageSuccessResponse of its kind."""
    results = []
    for frame in stream:
        assert frame.data is not None
        conforms("SendStreamingMessageSuccessResponse", frame.data)
        result = success(frame.data, KIND_DEFINITION[frame.data["result"]["kind"]], request_id)
        results.append(result)
    return results


def new_id() -> str:
    return str(uuid.uuid4())


def user_message(*parts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"kind": "message", "role": "user", "messageId": new_id(), "parts": list(parts)} | {
        k: v for k, v in fields.items() if v is not None
    }


def text(value: str) -> dict[str, Any]:
    return {"kind": "text", "text": value}


@dataclass
class Ctx:
    """Tasks in known states, made once per module, and the URLs of both gateways."""

    client: httpx.AsyncClient
    url: str
    push_url: str
    completed: str = ""
    canceled: str = ""
    input_required: str = ""
    push_task: str = ""
    made: list[tuple[str, str]] = field(default_factory=list)

    async def call(self, base: str, method: str, params: Any, path: str = "") -> dict[str, Any]:
        answer = (await self.client.post(base + path, json=rpc(method, params))).json()
        assert "result" in answer, answer
        result: dict[str, Any] = answer["result"]
        return result

    async def working(self, base: str | None = None) -> str:
        """A fresh ``progress`` task that keeps working until canceled at module end."""
        base = base or self.url
        params = message("steps=50 interval=0.2") | {"configuration": {"blocking": False}}
        task = await self.call(base, "message/send", params, PROGRESS)
        self.made.append((base + PROGRESS, task["id"]))
        return str(task["id"])


@pytest.fixture(scope="module")
async def ctx(gateway_url: str, push_gateway_url: str) -> AsyncIterator[Ctx]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        c = Ctx(http, gateway_url, push_gateway_url)
        c.completed = (await c.call(gateway_url, "message/send", message("done")))["id"]
        c.canceled = await c.working()
        await c.call(gateway_url, "tasks/cancel", {"id": c.canceled}, PROGRESS)
        asked = await c.call(gateway_url, "message/send", message("hi"), ASK)
        assert asked["status"]["state"] == "input-required"
        c.input_required = asked["id"]
        c.push_task = (await c.call(push_gateway_url, "message/send", message("push")))["id"]
        push_config = {"taskId": c.push_task, "pushNotificationConfig": {"url": HOOK, "id": "p1"}}
        await c.call(push_gateway_url, "tasks/pushNotificationConfig/set", push_config)
        yield c
        for url, task_id in c.made:
            await http.post(url, json=rpc("tasks/cancel", {"id": task_id}))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        yield http


Params = Callable[[Ctx], Any]


def fixed(params: Any) -> Params:
    return lambda _: params


async def resolve(params: Params, c: Ctx) -> Any:
    value = params(c)
    if isinstance(value, Awaitable):
        value = await value
    return value


# -- the nine methods: request and success shape ------------------------------------------


@dataclass(frozen=True)
class Ok:
    name: str
    method: str
    params: Params
    definition: str
    envelope: str
    check: Callable[[Any, Ctx], None] = lambda result, c: None
    path: str = ""
    push: bool = False


async def _cancelable(c: Ctx) -> dict[str, Any]:
    return {"id": await c.working()}


async def _cancelable_ask(c: Ctx) -> dict[str, Any]:
    return {"id": (await c.call(c.url, "message/send", message("hi"), ASK))["id"]}


def _state(state: str) -> Callable[[Any, Ctx], None]:
    def check(result: Any, c: Ctx) -> None:
        assert result["status"]["state"] == state

    return check


def _history(n: int) -> Callable[[Any, Ctx], None]:
    def check(result: Any, c: Ctx) -> None:
        assert len(result["history"]) == n

    return check


def _push_config(config_id: str) -> Callable[[Any, Ctx], None]:
    def check(result: Any, c: Ctx) -> None:
        assert result["taskId"] == c.push_task
        assert result["pushNotificationConfig"]["id"] == config_id
        assert result["pushNotificationConfig"]["url"] == HOOK

    return check


def _list_has_p1(result: Any, c: Ctx) -> None:
    assert "p1" in [r["pushNotificationConfig"]["id"] for r in result]
    assert all(r["taskId"] == c.push_task for r in result)


def _is_null(result: Any, c: Ctx) -> None:
    assert result is None


OK_CASES = [
    Ok(
        "message/send-blocking-completes",
        "message/send",
        fixed(message("hello world")),
        "Task",
        "SendMessageSuccessResponse",
        _state("completed"),
    ),
    Ok(
        "message/send-nonblocking-submitted",
        "message/send",
        fixed(message("steps=0 interval=0") | {"configuration": {"blocking": False}}),
        "Task",
        "SendMessageSuccessResponse",
        _state("submitted"),
        path=PROGRESS,
    ),
    Ok(
        "message/send-input-required",
        "message/send",
        fixed(message("hi")),
        "Task",
        "SendMessageSuccessResponse",
        _state("input-required"),
        path=ASK,
    ),
    Ok(
        "message/send-historyLength-0",
        "message/send",
        fixed(message("x") | {"configuration": {"historyLength": 0}}),
        "Task",
        "SendMessageSuccessResponse",
        _history(0),
    ),
    Ok(
        "message/send-full-configuration",
        "message/send",
        fixed(
            message("y")
            | {
                "configuration": {
                    "acceptedOutputModes": ["text/plain"],
                    "blocking": True,
                    "historyLength": 1,
                },
                "metadata": {"trace": "t-1"},
            }
        ),
        "Task",
        "SendMessageSuccessResponse",
        _history(1),
    ),
    Ok(
        "tasks/get",
        "tasks/get",
        lambda c: {"id": c.completed},
        "Task",
        "GetTaskSuccessResponse",
        _state("completed"),
    ),
    Ok(
        "tasks/get-historyLength-0",
        "tasks/get",
        lambda c: {"id": c.completed, "historyLength": 0, "metadata": {"k": "v"}},
        "Task",
        "GetTaskSuccessResponse",
        _history(0),
    ),
    Ok(
        "tasks/get-input-required",
        "tasks/get",
        lambda c: {"id": c.input_required},
        "Task",
        "GetTaskSuccessResponse",
        _state("input-required"),
        path=ASK,
    ),
    Ok(
        "tasks/cancel-working",
        "tasks/cancel",
        _cancelable,
        "Task",
        "CancelTaskSuccessResponse",
        _state("canceled"),
        path=PROGRESS,
    ),
    Ok(
        "tasks/cancel-input-required",
        "tasks/cancel",
        _cancelable_ask,
        "Task",
        "CancelTaskSuccessResponse",
        _state("canceled"),
        path=ASK,
    ),
    Ok(
        "message/send-unknown-taskId-creates-it",
        "message/send",
        lambda c: message("new", f"client-chosen-{new_id()}"),
        "Task",
        "SendMessageSuccessResponse",
        lambda result, c: result["id"].startswith("client-chosen-") or pytest.fail(result["id"]),
    ),
    Ok(
        "push/set",
        "tasks/pushNotificationConfig/set",
        lambda c: {
            "taskId": c.push_task,
            "pushNotificationConfig": {
                "url": HOOK,
                "id": "p1",
                "token": "tok",
                "authentication": {"schemes": ["Bearer"]},
            },
        },
        "TaskPushNotificationConfig",
        "SetTaskPushNotificationConfigSuccessResponse",
        _push_config("p1"),
        push=True,
    ),
    Ok(
        "push/get-by-id",
        "tasks/pushNotificationConfig/get",
        lambda c: {"id": c.push_task, "pushNotificationConfigId": "p1"},
        "TaskPushNotificationConfig",
        "GetTaskPushNotificationConfigSuccessResponse",
        _push_config("p1"),
        push=True,
    ),
    Ok(
        "push/get-TaskIdParams",
        "tasks/pushNotificationConfig/get",
        lambda c: {"id": c.push_task},
        "TaskPushNotificationConfig",
        "GetTaskPushNotificationConfigSuccessResponse",
        push=True,
    ),
    Ok(
        "push/list",
        "tasks/pushNotificationConfig/list",
        lambda c: {"id": c.push_task},
        "TaskPushNotificationConfig",  # each item; the envelope checks the array
        "ListTaskPushNotificationConfigSuccessResponse",
        _list_has_p1,
        push=True,
    ),
    Ok(
        "push/delete-unknown-config-id",
        "tasks/pushNotificationConfig/delete",
        lambda c: {"id": c.push_task, "pushNotificationConfigId": "never-set"},
        "",  # result is null; the envelope checks it
        "DeleteTaskPushNotificationConfigSuccessResponse",
        _is_null,
        push=True,
    ),
]


@pytest.mark.parametrize("case", OK_CASES, ids=[c.name for c in OK_CASES])
async def test_method_success_shape(ctx: Ctx, case: Ok) -> None:
    base = ctx.push_url if case.push else ctx.url
    request_id = f"ok-{case.name}"
    body = rpc(case.method, await resolve(case.params, ctx), request_id)
    response = await ctx.client.post(base + case.path, json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    conforms(case.envelope, answer)
    assert answer["id"] == request_id and answer["jsonrpc"] == "2.0"
    result = answer["result"]
    if isinstance(result, list):
        for item in result:
            conforms(case.definition, item)
    elif case.definition:
        conforms(case.definition, result)
    case.check(result, ctx)
    if case.method == "message/send" and result["status"]["state"] not in {"completed"}:
        await ctx.client.post(base + case.path, json=rpc("tasks/cancel", {"id": result["id"]}))


# -- streaming methods: every data line ----------------------------------------------------


@dataclass(frozen=True)
class Streamed:
    name: str
    method: str
    params: Params
    kinds: list[str]
    path: str = ""


STREAM_CASES = [
    Streamed(
        "message/stream-echo",
        "message/stream",
        fixed(message("one two")),
        ["task", "status:working", "artifact-update", "artifact-update", "status:completed"],
    ),
    Streamed(
        "message/stream-progress",
        "message/stream",
        fixed(message("steps=2 interval=0.05")),
        [
            "task",
            "status:working",
            "status:working",
            "status:working",
            "artifact-update",
            "status:completed",
        ],
        PROGRESS,
    ),
    Streamed(
        "message/stream-input-required",
        "message/stream",
        fixed(message("hi")),
        ["task", "status:working", "status:input-required"],
        ASK,
    ),
    Streamed(
        "tasks/resubscribe-completed",
        "tasks/resubscribe",
        lambda c: {"id": c.completed},
        ["task:completed"],
    ),
    Streamed(
        "tasks/resubscribe-canceled",
        "tasks/resubscribe",
        lambda c: {"id": c.canceled},
        ["task:canceled"],
        PROGRESS,
    ),
]


def _kind(result: dict[str, Any], with_task_state: bool) -> str:
    if result["kind"] == "status-update":
        return f"status:{result['status']['state']}"
    if result["kind"] == "task" and with_task_state:
        return f"task:{result['status']['state']}"
    return str(result["kind"])


@pytest.mark.parametrize("case", STREAM_CASES, ids=[c.name for c in STREAM_CASES])
async def test_stream_every_event_conforms(ctx: Ctx, case: Streamed) -> None:
    body = rpc(case.method, await resolve(case.params, ctx), 77)
    results = stream_results(await events(ctx.client, ctx.url + case.path, body), 77)
    with_state = any(k.startswith("task:") for k in case.kinds)
    assert [_kind(r, with_state) for r in results] == case.kinds
    last = results[-1]
    if last["kind"] == "status-update":
        assert last["final"] is True
        assert all(r.get("final") is False for r in results[1:-1] if "final" in r)
    task = results[0]
    for r in results[1:]:
        assert r["taskId"] == task["id"] and r["contextId"] == task["contextId"]


# -- errors: every code of spec §8 this server raises ------------------------------------


@dataclass(frozen=True)
class Err:
    name: str
    body: Callable[[Ctx], Any]  # dict/list (sent as JSON), bytes (sent raw), or awaitable
    code: int
    request_id: Any = "e"
    path: str = ""
    push: bool = False


def call(method: str, params: Any, request_id: Any = "e") -> Callable[[Ctx], Any]:
    return lambda _: {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def on_task(
    method: str, params: Callable[[Ctx], Any], request_id: Any = "e"
) -> Callable[[Ctx], Any]:
    return lambda c: {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params(c)}


def send_with(**message_fields: Any) -> dict[str, Any]:
    return {"message": user_message(text("x"), **message_fields)}


def part(p: dict[str, Any]) -> dict[str, Any]:
    return {"message": user_message(p)}


async def _to_working(c: Ctx) -> dict[str, Any]:
    task_id = await c.working()
    return rpc("message/send", message("more", task_id), "e")


PUSH_METHODS = {
    "set": {"taskId": "no-such-task", "pushNotificationConfig": {"url": HOOK}},
    "get": {"id": "no-such-task"},
    "list": {"id": "no-such-task"},
    "delete": {"id": "no-such-task", "pushNotificationConfigId": "x"},
}
PUSH_SEND = {"configuration": {"pushNotificationConfig": {"url": HOOK}}}

ERR_CASES = [
    # -32700
    Err("parse-malformed", lambda _: b'{"jsonrpc": "2.0", "id": 1,', -32700, None),
    Err("parse-not-utf8", lambda _: b"\xff\xfe{}", -32700, None),
    # -32600
    Err(
        "invalid-wrong-jsonrpc",
        lambda _: {"jsonrpc": "1.0", "id": 7, "method": "tasks/get"},
        -32600,
        7,
    ),
    Err("invalid-missing-jsonrpc", lambda _: {"id": 7, "method": "tasks/get"}, -32600, 7),
    Err("invalid-missing-method", lambda _: {"jsonrpc": "2.0", "id": 8}, -32600, 8),
    Err("invalid-method-not-string", lambda _: {"jsonrpc": "2.0", "id": 9, "method": 5}, -32600, 9),
    Err("invalid-params-scalar", call("tasks/get", 3, 10), -32602, 10),
    Err("invalid-params-string", call("tasks/get", "abc", 11), -32602, 11),
    Err("invalid-empty-batch", lambda _: [], -32600, None),
    Err("invalid-body-scalar", lambda _: 3, -32600, None),
    Err(
        "invalid-id-bool",
        lambda _: {"jsonrpc": "2.0", "id": True, "method": "tasks/get"},
        -32600,
        None,
    ),
    Err(
        "invalid-notification-bad-version",
        lambda _: {"jsonrpc": "1.0", "method": "tasks/get"},
        -32600,
        None,
    ),
    # -32601
    Err("method-unknown", call("tasks/explode", {}), -32601),
    Err("method-v0.1-tasks/send", call("tasks/send", {"id": "x"}), -32601),
    # -32602
    Err("params-list", call("tasks/get", []), -32602),
    Err("params-tasks/get-no-id", call("tasks/get", {}), -32602),
    Err("params-tasks/get-id-int", call("tasks/get", {"id": 5}), -32602),
    Err(
        "params-historyLength-negative", call("tasks/get", {"id": "x", "historyLength": -1}), -32602
    ),
    Err(
        "params-historyLength-string",
        call("tasks/get", {"id": "x", "historyLength": "all"}),
        -32602,
    ),
    Err("params-tasks/cancel-no-id", call("tasks/cancel", {}), -32602),
    Err("params-send-no-message", call("message/send", {}), -32602),
    Err(
        "params-send-no-messageId",
        call("message/send", {"message": {"role": "user", "parts": [text("x")]}}),
        -32602,
    ),
    Err("params-send-empty-parts", call("message/send", {"message": user_message()}), -32602),
    Err("params-send-unknown-part-kind", call("message/send", part({"kind": "video"})), -32602),
    Err(
        "params-send-file-both-bytes-and-uri",
        call(
            "message/send", part({"kind": "file", "file": {"bytes": "AA==", "uri": "https://x/y"}})
        ),
        -32602,
    ),
    Err(
        "params-send-file-neither-bytes-nor-uri",
        call("message/send", part({"kind": "file", "file": {"mimeType": "text/plain"}})),
        -32602,
    ),
    Err(
        "params-send-text-not-string",
        call("message/send", part({"kind": "text", "text": 1})),
        -32602,
    ),
    Err(
        "params-send-data-not-object",
        call("message/send", part({"kind": "data", "data": [1]})),
        -32602,
    ),
    Err(
        "params-send-role-agent",
        call("message/send", {"message": user_message(text("x")) | {"role": "agent"}}),
        -32602,
    ),
    Err(
        "params-send-role-unknown",
        call("message/send", {"message": user_message(text("x")) | {"role": "robot"}}),
        -32602,
    ),
    Err(
        "params-send-blocking-not-bool",
        call("message/send", send_with() | {"configuration": {"blocking": "maybe"}}),
        -32602,
    ),
    Err(
        "params-send-historyLength-negative",
        call("message/send", send_with() | {"configuration": {"historyLength": -2}}),
        -32602,
    ),
    Err(
        "params-send-malformed-taskId", call("message/send", send_with(taskId="../../etc")), -32602
    ),
    Err(
        "params-send-to-completed-task",
        on_task("message/send", lambda c: send_with(taskId=c.completed)),
        -32602,
    ),
    Err(
        "params-send-to-canceled-task",
        on_task("message/send", lambda c: send_with(taskId=c.canceled)),
        -32602,
        path=PROGRESS,
    ),
    Err(
        "params-send-contextId-mismatch",
        on_task("message/send", lambda c: send_with(taskId=c.input_required, contextId="other")),
        -32602,
        path=ASK,
    ),
    Err("params-stream-no-message", call("message/stream", {}), -32602),
    Err("params-resubscribe-no-id", call("tasks/resubscribe", {}), -32602),
    Err(
        "params-push-set-non-http-url",
        on_task(
            "tasks/pushNotificationConfig/set",
            lambda c: {"taskId": c.push_task, "pushNotificationConfig": {"url": "ftp://x/y"}},
        ),
        -32602,
        push=True,
    ),
    Err(
        "params-push-set-no-config",
        on_task("tasks/pushNotificationConfig/set", lambda c: {"taskId": c.push_task}),
        -32602,
        push=True,
    ),
    Err(
        "params-push-delete-no-config-id",
        on_task("tasks/pushNotificationConfig/delete", lambda c: {"id": c.push_task}),
        -32602,
        push=True,
    ),
    Err(
        "params-push-get-unknown-config-id",
        on_task(
            "tasks/pushNotificationConfig/get",
            lambda c: {"id": c.push_task, "pushNotificationConfigId": "nope"},
        ),
        -32602,
        push=True,
    ),
    # -32001
    Err("notfound-tasks/get", call("tasks/get", {"id": "no-such-task"}), -32001),
    Err("notfound-tasks/cancel", call("tasks/cancel", {"id": "no-such-task"}), -32001),
    Err("notfound-tasks/resubscribe", call("tasks/resubscribe", {"id": "no-such-task"}), -32001),
    *[
        Err(
            f"notfound-push/{name}",
            call(f"tasks/pushNotificationConfig/{name}", params),
            -32001,
            push=True,
        )
        for name, params in PUSH_METHODS.items()
    ],
    # -32002
    Err("notcancelable-completed", on_task("tasks/cancel", lambda c: {"id": c.completed}), -32002),
    Err(
        "notcancelable-canceled",
        on_task("tasks/cancel", lambda c: {"id": c.canceled}),
        -32002,
        path=PROGRESS,
    ),
    # -32003 (push off on gateway_url)
    *[
        Err(
            f"pushoff-push/{name}",
            on_task(
                f"tasks/pushNotificationConfig/{name}",
                lambda c, p=params: json.loads(json.dumps(p).replace("no-such-task", c.completed)),
            ),
            -32003,
        )
        for name, params in PUSH_METHODS.items()
    ],
    Err("pushoff-send-with-config", call("message/send", send_with() | PUSH_SEND), -32003),
    Err("pushoff-stream-with-config", call("message/stream", send_with() | PUSH_SEND), -32003),
    # -32004
    Err("unsupported-send-to-working-task", _to_working, -32004, path=PROGRESS),
    # -32005
    Err(
        "contenttype-accepted-image-png",
        call(
            "message/send", send_with() | {"configuration": {"acceptedOutputModes": ["image/png"]}}
        ),
        -32005,
        path=PROGRESS,
    ),
    Err(
        "contenttype-data-part",
        call("message/send", part({"kind": "data", "data": {"a": 1}})),
        -32005,
        path=PROGRESS,
    ),
    Err(
        "contenttype-file-png",
        call(
            "message/send",
            part({"kind": "file", "file": {"bytes": "AA==", "mimeType": "image/png"}}),
        ),
        -32005,
        path=PROGRESS,
    ),
    Err(
        "contenttype-stream-data-part",
        call("message/stream", part({"kind": "data", "data": {"a": 1}})),
        -32005,
        path=PROGRESS,
    ),
    # -32007 (A2A 0.3 forward compatibility)
    Err("extendedcard-jsonrpc-0.3", call("agent/getAuthenticatedExtendedCard", {}), -32007),
]


@pytest.mark.parametrize("case", ERR_CASES, ids=[c.name for c in ERR_CASES])
async def test_error_code(ctx: Ctx, case: Err) -> None:
    base = (ctx.push_url if case.push else ctx.url) + case.path
    body = await resolve(case.body, ctx)
    if isinstance(body, dict) and body.get("method") in STREAMING:
        stream = await events(ctx.client, base, body)
        assert len(stream) == 1, stream
        answer = stream[0].data
    else:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = await ctx.client.post(
            base, content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert "Traceback" not in response.text
        answer = response.json()
    failure(answer, case.code, case.request_id)


INVALID_PARTS = {
    "text-not-string": ({"kind": "text", "text": 1}, "message.parts.0.text"),
    "data-not-object": ({"kind": "data", "data": [1]}, "message.parts.0.data"),
    "file-neither": ({"kind": "file", "file": {}}, "message.parts.0.file"),
}


@pytest.mark.parametrize("bad", INVALID_PARTS.values(), ids=list(INVALID_PARTS))
async def test_invalid_params_names_the_part_field(
    ctx: Ctx, bad: tuple[dict[str, Any], str]
) -> None:
    bad_part, field_path = bad
    answer = (await ctx.client.post(ctx.url, json=rpc("message/send", part(bad_part), 1))).json()
    error = failure(answer, -32602, 1)
    fields = [p["field"] for p in error["data"]["errors"]]
    assert fields, error
    assert all(f == field_path or f.startswith(field_path + ".") for f in fields), fields
    assert field_path in error["message"]


# -- JSON-RPC 2.0 notifications and batches ----------------------------------------------

NOTIFICATIONS = {
    "tasks/get-unknown-task": {"method": "tasks/get", "params": {"id": "x"}},
    "unknown-method": {"method": "tasks/explode", "params": {}},
    "invalid-params": {"method": "message/send", "params": {}},
    "tasks/cancel-unknown-task": {"method": "tasks/cancel", "params": {"id": "x"}},
    # JSON-RPC 2.0 §4.1: "The Server MUST NOT reply to a Notification" - streaming ones too.
    "message/stream": {"method": "message/stream", "params": message("quiet")},
    "tasks/resubscribe-unknown-task": {"method": "tasks/resubscribe", "params": {"id": "x"}},
}


@pytest.mark.parametrize("request_body", NOTIFICATIONS.values(), ids=list(NOTIFICATIONS))
async def test_notification_is_answered_with_204(ctx: Ctx, request_body: dict[str, Any]) -> None:
    response = await ctx.client.post(ctx.url, json={"jsonrpc": "2.0"} | request_body)
    assert response.status_code == 204
    assert response.content == b""


async def test_notification_is_executed(ctx: Ctx) -> None:
    task_id = f"notified-{new_id()}"
    body = {"jsonrpc": "2.0", "method": "message/send", "params": message("n", task_id)}
    response = await ctx.client.post(ctx.url, json=body)
    assert response.status_code == 204
    task = success(
        (await ctx.client.post(ctx.url, json=rpc("tasks/get", {"id": task_id}, 1))).json(),
        "Task",
        1,
    )
    assert task["id"] == task_id


async def test_batch_answers_in_order_without_notifications(ctx: Ctx) -> None:
    batch = [
        rpc("tasks/get", {"id": ctx.completed}, 1),
        {"jsonrpc": "2.0", "method": "tasks/get", "params": {"id": ctx.completed}},
        42,
        rpc("tasks/explode", {}, "x"),
        rpc("message/stream", message("no"), 3),
        rpc("tasks/get", {"id": "no-such-task"}, 4),
        {"jsonrpc": "2.0", "id": 5, "method": 5},
        rpc("message/send", message("batched"), 6),
    ]
    response = await ctx.client.post(ctx.url, json=batch)
    assert response.status_code == 200
    answers = response.json()
    assert isinstance(answers, list)
    assert [a["id"] for a in answers] == [1, None, "x", 3, 4, 5, 6]
    success(answers[0], "Task", 1, "GetTaskSuccessResponse")
    failure(answers[1], -32600, None)
    failure(answers[2], -32601, "x")
    failure(answers[3], -32600, 3)
    failure(answers[4], -32001, 4)
    failure(answers[5], -32600, 5)
    assert success(answers[6], "Task", 6, "SendMessageSuccessResponse")["status"]["state"] == (
        "completed"
    )


async def test_batch_of_notifications_is_204(ctx: Ctx) -> None:
    batch = [
        {"jsonrpc": "2.0", "method": "tasks/get", "params": {"id": ctx.completed}},
        {"jsonrpc": "2.0", "method": "tasks/explode"},
    ]
    response = await ctx.client.post(ctx.url, json=batch)
    assert response.status_code == 204
    assert response.content == b""


async def test_batch_over_limit_is_invalid_request(ctx: Ctx) -> None:
    batch = [rpc("tasks/get", {"id": "x"}, i) for i in range(101)]
    failure((await ctx.client.post(ctx.url, json=batch)).json(), -32600, None)


# -- agent cards and the extended card ------------------------------------------------------

CARDS = {
    "well-known-agent.json": ("/.well-known/agent.json", "echo", "/"),
    "well-known-agent-card.json": ("/.well-known/agent-card.json", "echo", "/"),
    "agents-progress-agent.json": ("/agents/progress/.well-known/agent.json", "progress", PROGRESS),
    "agents-ask-agent-card.json": ("/agents/ask/.well-known/agent-card.json", "ask", ASK),
}


@pytest.mark.parametrize("push", [False, True], ids=["push-off", "push-on"])
@pytest.mark.parametrize("card", CARDS.values(), ids=list(CARDS))
async def test_agent_card(ctx: Ctx, card: tuple[str, str, str], push: bool) -> None:
    path, name, rpc_path = card
    base = ctx.push_url if push else ctx.url
    response = await ctx.client.get(base + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    conforms("AgentCard", body)
    assert body["protocolVersion"] == "0.3.0"  # the JSON-RPC interface serves 0.3 and 0.2.5
    assert body["name"] == name
    assert body["url"] == base + rpc_path.rstrip("/") + "/"
    assert body["preferredTransport"] == "JSONRPC"
    offered = [{"uri": PUSH_EVERY_STATUS, "required": False}]
    capabilities = dict(body["capabilities"])
    described = capabilities.pop("extensions", [])
    assert all(e.pop("description") for e in described)  # its wording is not the contract
    assert capabilities == {
        "streaming": True,
        "pushNotifications": push,
        "stateTransitionHistory": False,
        "extendedAgentCard": False,
    }
    assert described == (offered if push else [])
    assert [i["protocolVersion"] for i in body["supportedInterfaces"]] == ["1.0", "1.0", "0.3"]
    assert "security" not in body and "securitySchemes" not in body
    assert body["supportsAuthenticatedExtendedCard"] is False


async def test_unknown_agent_card_is_404(ctx: Ctx) -> None:
    response = await ctx.client.get(ctx.url + "/agents/ghost/.well-known/agent.json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["/agent/authenticatedExtendedCard", "/agents/progress/agent/authenticatedExtendedCard"]
)
async def test_no_extended_card_without_authentication(ctx: Ctx, path: str) -> None:
    """The card says supportsAuthenticatedExtendedCard: false (no A2A_AUTH here): the
    endpoint is not found, with 0.3's -32007 saying why."""
    response = await ctx.client.get(ctx.url + path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32007


# -- push notification configs (push_gateway_url) ------------------------------------------


async def test_push_config_lifecycle(ctx: Ctx) -> None:
    url, c = ctx.push_url, ctx.client
    task_id = (await ctx.call(url, "message/send", message("configs")))["id"]

    async def answer(method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = (
            await c.post(url, json=rpc(f"tasks/pushNotificationConfig/{method}", params, method))
        ).json()
        return reply

    with_id = {"url": HOOK + "/a", "id": "cfg-a", "token": "t"}
    first = success(
        await answer("set", {"taskId": task_id, "pushNotificationConfig": with_id}),
        "TaskPushNotificationConfig",
        "set",
        "SetTaskPushNotificationConfigSuccessResponse",
    )
    # The token is stored for delivery and never read back (issue 11).
    shown = {k: v for k, v in with_id.items() if k != "token"}
    assert first == {"taskId": task_id, "pushNotificationConfig": shown}
    second = success(
        await answer("set", {"taskId": task_id, "pushNotificationConfig": {"url": HOOK + "/b"}}),
        "TaskPushNotificationConfig",
        "set",
    )
    assert second["pushNotificationConfig"] == {"url": HOOK + "/b", "id": task_id}

    got = success(
        await answer("get", {"id": task_id, "pushNotificationConfigId": "cfg-a"}),
        "TaskPushNotificationConfig",
        "get",
        "GetTaskPushNotificationConfigSuccessResponse",
    )
    assert got == first
    any_one = success(await answer("get", {"id": task_id}), "TaskPushNotificationConfig", "get")
    assert any_one in (first, second)

    listed = await answer("list", {"id": task_id})
    conforms("ListTaskPushNotificationConfigSuccessResponse", listed)
    assert sorted(r["pushNotificationConfig"]["id"] for r in listed["result"]) == sorted(
        ["cfg-a", task_id]
    )

    deleted = await answer("delete", {"id": task_id, "pushNotificationConfigId": "cfg-a"})
    conforms("DeleteTaskPushNotificationConfigSuccessResponse", deleted)
    assert deleted["result"] is None
    listed = await answer("list", {"id": task_id})
    assert [r["pushNotificationConfig"]["id"] for r in listed["result"]] == [task_id]
    again = await answer("delete", {"id": task_id, "pushNotificationConfigId": "cfg-a"})
    conforms("DeleteTaskPushNotificationConfigSuccessResponse", again)
    assert again["result"] is None
    failure(
        await answer("get", {"id": task_id, "pushNotificationConfigId": "cfg-a"}), -32602, "get"
    )
    unknown = {"taskId": "no-such-task", "pushNotificationConfig": {"url": HOOK}}
    failure(await answer("set", unknown), -32001, "set")
    bad_url = {"taskId": task_id, "pushNotificationConfig": {"url": "mailto:a@b.c"}}
    failure(await answer("set", bad_url), -32602, "set")


async def test_push_config_in_message_send_is_stored(ctx: Ctx) -> None:
    config = {"url": HOOK + "/send", "id": "from-send", "token": "s"}
    params = message("with push") | {"configuration": {"pushNotificationConfig": config}}
    task = success(
        (await ctx.client.post(ctx.push_url, json=rpc("message/send", params, 1))).json(),
        "Task",
        1,
    )
    listed = (
        await ctx.client.post(
            ctx.push_url, json=rpc("tasks/pushNotificationConfig/list", {"id": task["id"]}, 2)
        )
    ).json()
    conforms("ListTaskPushNotificationConfigSuccessResponse", listed)
    shown = {k: v for k, v in config.items() if k != "token"}
    assert listed["result"] == [{"taskId": task["id"], "pushNotificationConfig": shown}]


# -- parts, contextId, referenceTaskIds, historyLength --------------------------------------

FILE_BYTES = {
    "kind": "file",
    "file": {
        "bytes": base64.b64encode(b"\x89PNG\r\n\x1a\n").decode(),
        "mimeType": "image/png",
        "name": "tiny.png",
    },
}
FILE_URI = {
    "kind": "file",
    "file": {"uri": "https://example.com/report.pdf", "mimeType": "application/pdf"},
    "metadata": {"source": "test"},
}
DATA = {"kind": "data", "data": {"a": 1, "nested": {"b": [1, 2.5, None, "c"]}}}


async def test_parts_round_trip_through_echo(ctx: Ctx) -> None:
    sent = user_message(
        text("hi there"),
        FILE_BYTES,
        FILE_URI,
        DATA,
        metadata={"client": "conformance"},
        extensions=["https://example.com/ext/v1"],
    )
    answer = (await ctx.client.post(ctx.url, json=rpc("message/send", {"message": sent}, 1))).json()
    task = success(answer, "Task", 1, "SendMessageSuccessResponse")
    assert task["status"]["state"] == "completed"
    assert task["history"][0] == sent | {"taskId": task["id"], "contextId": task["contextId"]}
    assert [a["artifactId"] for a in task["artifacts"]] == ["echo"]
    assert task["artifacts"][0]["parts"] == [text("hi"), text(" there"), FILE_BYTES, FILE_URI, DATA]


async def test_parts_round_trip_through_stream(ctx: Ctx) -> None:
    sent = user_message(FILE_BYTES, FILE_URI, DATA)
    stream = await events(ctx.client, ctx.url, rpc("message/stream", {"message": sent}, 2))
    results = stream_results(stream, 2)
    chunks = [r["artifact"]["parts"] for r in results if r["kind"] == "artifact-update"]
    assert chunks == [[FILE_BYTES], [FILE_URI], [DATA]]
    assert results[0]["history"][0]["parts"] == [FILE_BYTES, FILE_URI, DATA]


async def test_context_id_generated_when_absent(ctx: Ctx) -> None:
    task = await ctx.call(ctx.url, "message/send", message("ctx"))
    assert isinstance(task["contextId"], str) and task["contextId"]
    assert task["history"][0]["contextId"] == task["contextId"]


async def test_context_id_given_is_shared_by_new_tasks(ctx: Ctx) -> None:
    context_id = f"ctx-{new_id()}"
    first = await ctx.call(
        ctx.url, "message/send", {"message": user_message(text("a"), contextId=context_id)}
    )
    second = await ctx.call(
        ctx.url,
        "message/send",
        {"message": user_message(text("b"), contextId=context_id, referenceTaskIds=[first["id"]])},
    )
    assert first["id"] != second["id"]
    assert first["contextId"] == second["contextId"] == context_id
    stored = await ctx.call(ctx.url, "tasks/get", {"id": second["id"]})
    assert stored["history"][0]["referenceTaskIds"] == [first["id"]]
    assert stored["history"][0]["contextId"] == context_id


async def test_multi_turn_follow_up_completes(ctx: Ctx) -> None:
    asked = await ctx.call(ctx.url, "message/send", message("hi"), ASK)
    assert asked["status"]["state"] == "input-required"
    conforms("Message", asked["status"]["message"])
    follow = {
        "message": user_message(text("Ada"), taskId=asked["id"], contextId=asked["contextId"])
    }
    answer = (await ctx.client.post(ctx.url + ASK, json=rpc("message/send", follow, 1))).json()
    done = success(answer, "Task", 1, "SendMessageSuccessResponse")
    assert done["status"]["state"] == "completed"
    assert done["artifacts"][0]["parts"] == [text("Hello, Ada!")]
    assert [m["messageId"] for m in done["history"] if m["role"] == "user"][-1] == (
        follow["message"]["messageId"]
    )


@pytest.mark.parametrize("history_length", [0, 1], ids=["historyLength-0", "historyLength-1"])
async def test_history_length_trims_first_streamed_task(ctx: Ctx, history_length: int) -> None:
    asked = await ctx.call(ctx.url, "message/send", message("hi"), ASK)
    full = await ctx.call(ctx.url, "tasks/get", {"id": asked["id"]}, ASK)
    assert len(full["history"]) >= 1
    params = message("Bo", asked["id"]) | {"configuration": {"historyLength": history_length}}
    stream = await events(ctx.client, ctx.url + ASK, rpc("message/stream", params, 9))
    results = stream_results(stream, 9)
    first = results[0]
    assert first["kind"] == "task"
    # the first frame already holds the answer: the last n of the history plus "Bo"
    sent = params["message"] | {"contextId": asked["contextId"], "kind": "message"}
    answered = [*full["history"], sent]
    assert first["history"] == answered[len(answered) - history_length :]
    assert results[-1]["status"]["state"] == "completed"
