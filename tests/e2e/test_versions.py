"""Three protocol versions on one deployment and one set of tasks (issue 10).

Raw HTTP against the real stack: version negotiation (1.0 §3.6), the 1.0 JSON-RPC binding
(§9) method by method, the 1.0 HTTP+JSON binding (§11) under each agent's base path,
``ListTasks``, cross-version use of one task, resume by ``Last-Event-ID`` in every
streaming method, and the 0.2.5 conformance-kit fixes. The official clients of every line
are driven in ``tests/interop``.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.config import Settings
from a2a_gateway.store.keys import ANONYMOUS, TaskKeys
from tests.e2e.sse import Frame, events, frames, message, rpc

if TYPE_CHECKING:
    import httpx
    from redis.asyncio import Redis

V1 = {"A2A-Version": "1.0"}
PROGRESS = "/agents/progress/"
ASK = "/agents/ask/"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


def v1_message(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "message": {
            "messageId": str(uuid.uuid4()),
            "role": "ROLE_USER",
            "parts": [{"text": text}],
            **extra,
        }
    }


def no_kind(value: Any) -> bool:
    """Whether no object in ``value`` carries a 0.2.5 ``kind`` discriminator."""
    if isinstance(value, dict):
        return "kind" not in value and all(no_kind(v) for v in value.values())
    if isinstance(value, list):
        return all(no_kind(v) for v in value)
    return True


async def call(
    http: httpx.AsyncClient,
    url: str,
    method: str,
    params: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    response = await http.post(url, json=rpc(method, params), headers=headers or {})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def v1_call(
    http: httpx.AsyncClient, url: str, method: str, params: dict[str, Any]
) -> dict[str, Any]:
    return await call(http, url, method, params, V1)


def error_info(error: dict[str, Any]) -> dict[str, Any]:
    details = [d for d in error["data"] if d["@type"] == ERROR_INFO]
    assert len(details) == 1, error
    assert details[0]["domain"] == "a2a-protocol.org"
    info: dict[str, Any] = details[0]
    return info


def payload(frame: Frame) -> tuple[str, dict[str, Any]]:
    """The case and body of a 1.0 ``StreamResponse`` frame (JSON-RPC or REST)."""
    assert frame.data is not None
    body = frame.data.get("result", frame.data)
    assert len(body) == 1, body
    ((case, value),) = body.items()
    return case, value


def states(stream: list[Frame]) -> list[str]:
    out = []
    for frame in stream:
        case, value = payload(frame)
        out.append(value["status"]["state"] if case != "artifactUpdate" else "artifact")
    return out


async def progress_task(http: httpx.AsyncClient, base: str, text: str) -> str:
    """A progress task started without waiting (0.2.5), and its id."""
    params = message(text) | {"configuration": {"blocking": False}}
    answer = await call(http, base + PROGRESS, "message/send", params)
    task_id: str = answer["result"]["id"]
    return task_id


# -- negotiation -------------------------------------------------------------------------


@pytest.mark.parametrize("version", [None, "", "0.2", "0.3", "0.3.0", "0.2.5"])
async def test_no_version_or_a_legacy_one_is_served_as_0_2_5_and_0_3(
    http: httpx.AsyncClient, gateway_url: str, version: str | None
) -> None:
    headers = {} if version is None else {"A2A-Version": version}
    answer = await call(http, gateway_url, "message/send", message("hi"), headers)
    assert answer["result"]["kind"] == "task"
    assert answer["result"]["status"]["state"] == "completed"
    refused = await call(http, gateway_url, "SendMessage", v1_message("hi"), headers)
    assert refused["error"]["code"] == -32009  # a 1.0 method without 1.0 declared


@pytest.mark.parametrize("where", ["header", "query", "patch"])
async def test_1_0_is_selected_by_header_or_query_parameter(
    http: httpx.AsyncClient, gateway_url: str, where: str
) -> None:
    url, headers = gateway_url + "/", {"A2A-Version": "1.0.1" if where == "patch" else "1.0"}
    if where == "query":
        url, headers = gateway_url + "/?A2A-Version=1.0", {}
    answer = await call(http, url, "SendMessage", v1_message("hi"), headers)
    task = answer["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert no_kind(answer)
    legacy = await call(http, url, "message/send", message("hi"), headers)
    assert legacy["error"]["code"] == -32601


@pytest.mark.parametrize("version", ["2.0", "0.1", "1.1", "banana"])
async def test_an_unsupported_version_is_refused(
    http: httpx.AsyncClient, gateway_url: str, version: str
) -> None:
    response = await http.post(
        gateway_url, json=rpc("GetTask", {"id": "x"}), headers={"A2A-Version": version}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32009
    assert error_info(error)["reason"] == "VERSION_NOT_SUPPORTED"
    rest = await http.get(gateway_url + "/tasks/x", headers={"A2A-Version": version})
    assert rest.status_code == 400
    assert rest.json()["error"]["details"][0]["reason"] == "VERSION_NOT_SUPPORTED"


# -- 1.0 JSON-RPC ------------------------------------------------------------------------


async def test_send_message_blocks_and_answers_in_1_0_shapes(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    answer = await v1_call(http, gateway_url, "SendMessage", v1_message("hello there"))
    task = answer["result"]["task"]
    assert no_kind(answer)
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    assert TIMESTAMP.fullmatch(task["status"]["timestamp"]), task["status"]
    assert task["history"][0]["role"] == "ROLE_USER"
    assert task["history"][0]["parts"] == [{"text": "hello there"}]
    text = "".join(p["text"] for a in task["artifacts"] for p in a["parts"])
    assert "hello there" in text


async def test_return_immediately_does_not_wait(http: httpx.AsyncClient, gateway_url: str) -> None:
    params = v1_message("steps=3 interval=0.5") | {"configuration": {"returnImmediately": True}}
    answer = await v1_call(http, gateway_url + PROGRESS, "SendMessage", params)
    state = answer["result"]["task"]["status"]["state"]
    assert state in ("TASK_STATE_SUBMITTED", "TASK_STATE_WORKING")


async def test_send_streaming_message_streams_stream_responses(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    body = rpc("SendStreamingMessage", v1_message("steps=3 interval=0.1"))
    stream = await events(http, gateway_url + PROGRESS, body, V1)
    assert payload(stream[0])[0] == "task"
    assert states(stream)[-1] == "TASK_STATE_COMPLETED"
    assert states(stream).count("TASK_STATE_WORKING") >= 3
    assert "artifact" in states(stream)
    for frame in stream:
        assert frame.data is not None and no_kind(frame.data)
        assert "final" not in payload(frame)[1]
    ids = [tuple(int(p) for p in f.id.split("-")) for f in stream if f.id]
    assert len(ids) == len(stream) and ids == sorted(ids) and len(set(ids)) == len(ids)


async def test_subscribe_resumes_after_last_event_id(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    body = rpc("SendStreamingMessage", v1_message("steps=4 interval=0.2"))
    whole = await events(http, gateway_url + PROGRESS, body, V1)
    task_id = payload(whole[0])[1]["id"]
    for cut in (0, 2, len(whole) - 2):
        resumed = await events(
            http,
            gateway_url + PROGRESS,
            rpc("SubscribeToTask", {"id": task_id}),
            {**V1, "Last-Event-ID": whole[cut].id or ""},
        )
        assert [f.id for f in resumed] == [f.id for f in whole[cut + 1 :]]
        assert [f.data["result"] for f in resumed if f.data] == [
            f.data["result"] for f in whole[cut + 1 :] if f.data
        ]


async def test_subscribe_to_a_running_task_starts_with_the_task(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    task_id = await progress_task(http, gateway_url, "steps=3 interval=0.3")
    stream = await events(http, gateway_url + PROGRESS, rpc("SubscribeToTask", {"id": task_id}), V1)
    assert payload(stream[0]) == ("task", payload(stream[0])[1])
    assert payload(stream[0])[1]["id"] == task_id
    assert states(stream)[-1] == "TASK_STATE_COMPLETED"


async def test_subscribe_to_a_terminal_task_is_unsupported(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    done = await v1_call(http, gateway_url, "SendMessage", v1_message("done"))
    task_id = done["result"]["task"]["id"]
    stream = await events(http, gateway_url, rpc("SubscribeToTask", {"id": task_id}), V1)
    assert len(stream) == 1 and stream[0].data is not None
    error = stream[0].data["error"]
    assert error["code"] == -32004
    assert error_info(error)["reason"] == "UNSUPPORTED_OPERATION"


async def test_errors_carry_1_0_codes_and_details(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    missing = await v1_call(http, gateway_url, "GetTask", {"id": "no-such-task"})
    assert missing["error"]["code"] == -32001
    info = error_info(missing["error"])
    assert info["reason"] == "TASK_NOT_FOUND" and info["metadata"]["taskId"] == "no-such-task"
    bad = await v1_call(http, gateway_url, "SendMessage", {"message": {"messageId": "m"}})
    assert bad["error"]["code"] == -32602
    (violations,) = [d for d in bad["error"]["data"] if d["@type"] == BAD_REQUEST]
    fields = {v["field"] for v in violations["fieldViolations"]}
    assert any(f.startswith("message") for f in fields), fields
    card = await v1_call(http, gateway_url, "GetExtendedAgentCard", {})
    assert card["error"]["code"] == -32004
    push = await v1_call(http, gateway_url, "ListTaskPushNotificationConfigs", {"taskId": "x"})
    assert push["error"]["code"] == -32003


async def test_1_0_refuses_what_1_0_forbids(http: httpx.AsyncClient, gateway_url: str) -> None:
    """1.0 §3.4.2: a taskId must name an existing task (0.2.5 creates one); §3.1.1: a
    message to a terminal task is unsupported (0.2.5: invalid params)."""
    unknown = str(uuid.uuid4())
    created = await v1_call(http, gateway_url, "SendMessage", v1_message("x", taskId=unknown))
    assert created["error"]["code"] == -32001
    legacy = await call(http, gateway_url, "message/send", message("x", task_id=unknown))
    assert legacy["result"]["id"] == unknown
    again = await v1_call(http, gateway_url, "SendMessage", v1_message("y", taskId=unknown))
    assert again["error"]["code"] == -32004
    legacy_again = await call(http, gateway_url, "message/send", message("y", task_id=unknown))
    assert legacy_again["error"]["code"] == -32602


async def test_cancel_task(http: httpx.AsyncClient, gateway_url: str) -> None:
    task_id = await progress_task(http, gateway_url, "steps=50 interval=0.2")
    answer = await v1_call(http, gateway_url + PROGRESS, "CancelTask", {"id": task_id})
    assert answer["result"]["status"]["state"] == "TASK_STATE_CANCELED"
    again = await v1_call(http, gateway_url + PROGRESS, "CancelTask", {"id": task_id})
    assert again["error"]["code"] == -32002


async def test_push_config_methods(
    http: httpx.AsyncClient, push_gateway_url: str, redis: Redis
) -> None:
    done = await v1_call(http, push_gateway_url, "SendMessage", v1_message("push"))
    task_id = done["result"]["task"]["id"]
    config = {
        "taskId": task_id,
        "id": "hook-1",
        "url": "https://example.com/hook",
        "token": "tok",
        "authentication": {"scheme": "Bearer", "credentials": "secret"},
    }
    created = await v1_call(http, push_gateway_url, "CreateTaskPushNotificationConfig", config)
    # Stored for delivery, never read back: the token and the credentials (issue 11).
    shown = {k: v for k, v in config.items() if k != "token"}
    shown["authentication"] = {"scheme": "Bearer"}
    assert created["result"] == shown
    keys = TaskKeys.of(ANONYMOUS, task_id, Settings().buckets)
    record = json.loads(await redis.hget(keys.push, "hook-1"))  # what delivery will use
    stored = record["config"]
    assert stored["token"] == "tok"
    assert stored["authentication"] == {"schemes": ["Bearer"], "credentials": "secret"}
    # Notifications for it take 1.0's shape, issued by the gateway it was set through.
    assert (record["version"], record["issuer"]) == ("1.0", push_gateway_url + "/")
    got = await v1_call(
        http, push_gateway_url, "GetTaskPushNotificationConfig", {"taskId": task_id, "id": "hook-1"}
    )
    assert got["result"] == shown
    listed = await v1_call(
        http, push_gateway_url, "ListTaskPushNotificationConfigs", {"taskId": task_id}
    )
    assert listed["result"] == {"configs": [shown], "nextPageToken": ""}
    for _ in range(2):  # idempotent
        deleted = await v1_call(
            http,
            push_gateway_url,
            "DeleteTaskPushNotificationConfig",
            {"taskId": task_id, "id": "hook-1"},
        )
        assert deleted["result"] == {}
    # Set through 1.0, read through 0.2.5: one store.
    legacy = await call(
        http, push_gateway_url, "tasks/pushNotificationConfig/list", {"id": task_id}
    )
    assert legacy["result"] == []


# -- ListTasks ---------------------------------------------------------------------------


async def test_list_tasks_filters_and_pages_newest_first(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    context = str(uuid.uuid4())
    made = []
    for n in range(3):
        answer = await v1_call(
            http, gateway_url, "SendMessage", v1_message(f"task {n}", contextId=context)
        )
        made.append(answer["result"]["task"]["id"])
        await asyncio.sleep(0.01)
    query = {"contextId": context, "pageSize": 2}
    first = (await v1_call(http, gateway_url, "ListTasks", query))["result"]
    assert [t["id"] for t in first["tasks"]] == made[::-1][:2]
    assert first["totalSize"] == 3 and first["pageSize"] == 2 and first["nextPageToken"]
    assert all("artifacts" not in t for t in first["tasks"])
    second = (
        await v1_call(http, gateway_url, "ListTasks", query | {"pageToken": first["nextPageToken"]})
    )["result"]
    assert [t["id"] for t in second["tasks"]] == made[:1]
    assert second["nextPageToken"] == ""
    full = await v1_call(
        http,
        gateway_url,
        "ListTasks",
        {"contextId": context, "includeArtifacts": True, "historyLength": 0},
    )
    assert all(t["artifacts"] and not t.get("history") for t in full["result"]["tasks"])
    working = await v1_call(
        http, gateway_url, "ListTasks", {"contextId": context, "status": "TASK_STATE_WORKING"}
    )
    assert working["result"]["tasks"] == [] and working["result"]["totalSize"] == 0
    elsewhere = await v1_call(http, gateway_url + PROGRESS, "ListTasks", {"contextId": context})
    assert elsewhere["result"]["tasks"] == []  # tasks belong to the agent they were sent to
    bad = await v1_call(http, gateway_url, "ListTasks", {"pageToken": "not-a-token"})
    assert bad["error"]["code"] == -32602


async def test_a_status_change_moves_a_task_to_the_front(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    context = str(uuid.uuid4())
    first = await v1_call(
        http, gateway_url + ASK, "SendMessage", v1_message("rounds=1", contextId=context)
    )
    first_id = first["result"]["task"]["id"]
    second = await v1_call(
        http, gateway_url + ASK, "SendMessage", v1_message("rounds=1", contextId=context)
    )
    second_id = second["result"]["task"]["id"]
    listed = await v1_call(http, gateway_url + ASK, "ListTasks", {"contextId": context})
    assert [t["id"] for t in listed["result"]["tasks"]] == [second_id, first_id]
    answer = v1_message("Ada", taskId=first_id, contextId=context)
    done = await v1_call(http, gateway_url + ASK, "SendMessage", answer)
    assert done["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    relisted = await v1_call(http, gateway_url + ASK, "ListTasks", {"contextId": context})
    assert [t["id"] for t in relisted["result"]["tasks"]] == [first_id, second_id]


# -- HTTP+JSON ---------------------------------------------------------------------------


async def test_rest_binding_round_trip(http: httpx.AsyncClient, gateway_url: str) -> None:
    base = gateway_url + "/agents/progress"
    sent = await http.post(
        base + "/message:send",
        json=v1_message("steps=2 interval=0.05"),
        headers={"content-type": "application/a2a+json"},
    )
    assert sent.status_code == 200, sent.text
    task = sent.json()["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED" and no_kind(task)
    got = await http.get(f"{base}/tasks/{task['id']}?historyLength=0")
    assert got.status_code == 200 and got.json()["id"] == task["id"]
    assert not got.json().get("history")
    listed = await http.get(base + "/tasks", params={"contextId": task["contextId"]})
    assert [t["id"] for t in listed.json()["tasks"]] == [task["id"]]
    missing = await http.get(base + "/tasks/no-such-task")
    assert missing.status_code == 404
    assert missing.json()["error"]["details"][0]["reason"] == "TASK_NOT_FOUND"
    terminal = await http.post(f"{base}/tasks/{task['id']}:cancel")
    assert terminal.status_code == 400
    assert terminal.json()["error"]["details"][0]["reason"] == "TASK_NOT_CANCELABLE"
    card = await http.get(base + "/extendedAgentCard")
    assert card.status_code == 400
    invalid = await http.post(base + "/message:send", json={"message": {"role": "ROLE_USER"}})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["status"] == "INVALID_ARGUMENT"
    nobody = await http.get(gateway_url + "/agents/nobody/tasks")
    assert nobody.status_code == 404
    legacy = await http.get(base + "/tasks", headers={"A2A-Version": "0.3"})
    assert legacy.status_code == 400  # 0.3's HTTP+JSON binding is not served
    assert legacy.json()["error"]["details"][0]["reason"] == "VERSION_NOT_SUPPORTED"


async def test_rest_stream_cancel_and_resume(http: httpx.AsyncClient, gateway_url: str) -> None:
    base = gateway_url + "/agents/progress"
    received: list[Frame] = []
    async for frame in frames(http, base + "/message:stream", v1_message("steps=40 interval=0.1")):
        if frame.comment is None:
            received.append(frame)
        if len(received) == 4:
            break
    task_id = payload(received[0])[1]["id"]
    resumed: list[Frame] = []
    headers = {"Last-Event-ID": received[-1].id or ""}
    async for frame in frames(http, f"{base}/tasks/{task_id}:subscribe", {}, headers):
        if frame.comment is None:
            resumed.append(frame)
        if len(resumed) == 2:
            break
    ids = [f.id for f in received + resumed]
    assert len(set(ids)) == len(ids)
    assert all(payload(f)[0] == "statusUpdate" for f in resumed)
    canceled = await http.post(f"{base}/tasks/{task_id}:cancel", json={})
    assert canceled.status_code == 200
    assert canceled.json()["status"]["state"] == "TASK_STATE_CANCELED"
    rest_of_it = await events(
        http, f"{base}/tasks/{task_id}:subscribe", {}, {"Last-Event-ID": resumed[-1].id or ""}
    )
    assert states(rest_of_it)[-1] == "TASK_STATE_CANCELED"


async def test_rest_push_configs(http: httpx.AsyncClient, push_gateway_url: str) -> None:
    sent = await http.post(push_gateway_url + "/message:send", json=v1_message("push"))
    task_id = sent.json()["task"]["id"]
    base = f"{push_gateway_url}/tasks/{task_id}/pushNotificationConfigs"
    created = await http.post(base, json={"url": "https://example.com/h", "id": "c1"})
    assert created.status_code == 200, created.text
    assert created.json() == {"taskId": task_id, "id": "c1", "url": "https://example.com/h"}
    assert (await http.get(base + "/c1")).json()["url"] == "https://example.com/h"
    assert [c["id"] for c in (await http.get(base)).json()["configs"]] == ["c1"]
    assert (await http.delete(base + "/c1")).status_code == 204
    assert (await http.get(base)).json()["configs"] == []


# -- one task, every version -------------------------------------------------------------


async def test_a_0_2_5_task_followed_and_cancelled_in_1_0(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + PROGRESS
    legacy: list[Frame] = []
    async for frame in frames(http, url, rpc("message/stream", message("steps=40 interval=0.1"))):
        if frame.comment is None:
            legacy.append(frame)
        if len(legacy) == 3:
            break
    task_id = legacy[0].result["id"]
    got = await v1_call(http, url, "GetTask", {"id": task_id})
    assert got["result"]["id"] == task_id
    resumed: list[Frame] = []
    subscribe = rpc("SubscribeToTask", {"id": task_id})
    async for frame in frames(http, url, subscribe, {**V1, "Last-Event-ID": legacy[-1].id or ""}):
        if frame.comment is None:
            resumed.append(frame)
        if len(resumed) == 2:
            break
    assert [payload(f)[0] for f in resumed] == ["statusUpdate", "statusUpdate"]
    assert len({f.id for f in legacy + resumed}) == 5
    canceled = await http.post(f"{gateway_url}/agents/progress/tasks/{task_id}:cancel")
    assert canceled.json()["status"]["state"] == "TASK_STATE_CANCELED"
    seen = await call(http, url, "tasks/get", {"id": task_id})
    assert seen["result"]["status"]["state"] == "canceled"


async def test_a_1_0_conversation_answered_in_0_2_5(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + ASK
    asked = await v1_call(http, url, "SendMessage", v1_message("rounds=2"))
    task = asked["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_INPUT_REQUIRED"
    first = await call(http, url, "message/send", message("Ada", task_id=task["id"]))
    assert first["result"]["status"]["state"] == "input-required"
    last = await v1_call(http, url, "SendMessage", v1_message("Grace", taskId=task["id"]))
    done = last["result"]["task"]
    assert done["status"]["state"] == "TASK_STATE_COMPLETED"
    assert done["artifacts"][0]["parts"] == [{"text": "Hello, Grace!"}]
    assert [m["role"] for m in done["history"]].count("ROLE_USER") == 3
    stream = await events(http, url, rpc("tasks/resubscribe", {"id": task["id"]}))
    assert stream[0].result["kind"] == "task" and stream[0].result["status"]["state"] == "completed"


# -- the agent URL, with and without its trailing slash ----------------------------------


@pytest.mark.parametrize("path", ["/agents/progress", "/agents/progress/"])
async def test_agent_url_with_and_without_slash(
    http: httpx.AsyncClient, gateway_url: str, path: str
) -> None:
    legacy = await call(http, gateway_url + path, "message/send", message("steps=1 interval=0"))
    assert legacy["result"]["status"]["state"] == "completed"
    v1 = await v1_call(http, gateway_url + path, "SendMessage", v1_message("steps=1 interval=0"))
    assert v1["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


# -- 0.2.5 conformance-kit fixes ---------------------------------------------------------


@pytest.mark.parametrize("modes", [["text"], ["TEXT", "image"], ["file"]])
async def test_accepted_output_mode_shorthands(
    http: httpx.AsyncClient, gateway_url: str, modes: list[str]
) -> None:
    """The conformance kit sends ``["text"]``; ``progress`` produces only text/plain."""
    params = message("steps=1 interval=0") | {"configuration": {"acceptedOutputModes": modes}}
    answer = await call(http, gateway_url + PROGRESS, "message/send", params)
    assert answer["result"]["status"]["state"] == "completed"
    refused = message("x") | {"configuration": {"acceptedOutputModes": ["image"]}}
    assert (await call(http, gateway_url + PROGRESS, "message/send", refused))["error"][
        "code"
    ] == -32005


async def test_a_stream_that_fails_before_it_starts_answers_json_when_sse_is_not_accepted(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    body = rpc("tasks/resubscribe", {"id": "no-such-task"})
    plain = await http.post(gateway_url, json=body, headers={"Accept": "application/json"})
    assert plain.headers["content-type"].startswith("application/json")
    assert plain.json()["error"]["code"] == -32001
    stream = await events(http, gateway_url, body, {"Accept": "text/event-stream"})
    assert stream[0].data is not None and stream[0].data["error"]["code"] == -32001


async def test_rest_refusals_have_their_http_status(
    http: httpx.AsyncClient, start_gateway: Any
) -> None:
    url = start_gateway(A2A_MAX_STREAMS="1", A2A_MAX_BODY_BYTES="4096")
    base = url + "/agents/progress"
    plain = await http.post(
        base + "/message:send", content=b"{}", headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 415
    big = await http.post(base + "/message:send", json=v1_message("x" * 8000))
    assert big.status_code == 413
    async with http.stream(
        "POST", base + "/message:stream", json=v1_message("steps=30 interval=0.2")
    ) as first:
        assert first.status_code == 200
        full = await http.post(base + "/message:stream", json=v1_message("steps=1"))
        assert full.status_code == 503
        assert full.headers["retry-after"] == "1"
        assert full.json()["error"]["status"] == "UNAVAILABLE"


async def test_1_0_notifications_and_batches(http: httpx.AsyncClient, gateway_url: str) -> None:
    context = str(uuid.uuid4())
    notification = {
        "jsonrpc": "2.0",
        "method": "SendMessage",
        "params": v1_message("quietly", contextId=context),
    }
    response = await http.post(gateway_url, json=notification, headers=V1)
    assert response.status_code == 204 and response.content == b""
    for _ in range(50):  # submitted, not awaited: it appears in the index
        listed = await v1_call(http, gateway_url, "ListTasks", {"contextId": context})
        if listed["result"]["tasks"]:
            break
        await asyncio.sleep(0.1)
    assert len(listed["result"]["tasks"]) == 1
    task_id = listed["result"]["tasks"][0]["id"]
    batch = [rpc("GetTask", {"id": task_id}, 1), rpc("GetTask", {"id": "nope"}, 2)]
    answers = (await http.post(gateway_url, json=batch, headers=V1)).json()
    assert [a["id"] for a in answers] == [1, 2]
    assert answers[0]["result"]["id"] == task_id
    assert error_info(answers[1]["error"])["reason"] == "TASK_NOT_FOUND"
