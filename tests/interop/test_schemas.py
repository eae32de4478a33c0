"""Schema checks of what the gateway sends, per protocol version.

* 0.2.5 and 0.3: JSON-RPC responses, stream events and cards captured with httpx (as the
  0.2/0.3 clients send them: no ``A2A-Version``; and with ``A2A-Version: 0.3``, as the
  1.x SDKs' 0.3 transports do) and validated with ``jsonschema`` against the A2A JSON
  schema of that version (response envelopes such as ``SendStreamingMessageSuccessResponse``,
  ``AgentCard``).
* 1.0: JSON-RPC results (``A2A-Version: 1.0``, 1.0 method names) and HTTP+JSON bodies,
  parsed by the generated types that a2a-sdk 1.x ships
  (``ParseDict(obj, a2a_pb2.X(), ignore_unknown_fields=False)`` plus the REQUIRED fields),
  in the interop 1.x environment (``clients/check_v1.py``).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from jsonschema import Draft7Validator

from tests.interop import envs
from tests.interop.conftest import SETUP_TIMEOUT

pytestmark = pytest.mark.timeout(SETUP_TIMEOUT)

DATA = Path(__file__).resolve().parents[1] / "data"
REFERENCE = envs.ROOT.parent / "shared" / "reference"
# The schemas as the A2A project publishes them; tests/data holds byte-identical copies
# (with their licence), the shared reference is where they come from.
SCHEMA_FILES = {
    "0.2.5": (DATA / "a2a.schema.json", REFERENCE / "a2a-v0.2.5" / "a2a.schema.json"),
    "0.3.0": (DATA / "a2a-v0.3.schema.json", REFERENCE / "a2a-v0.3.0" / "a2a.schema.json"),
}

V1 = {"A2A-Version": "1.0"}
PUSH_URL = "http://127.0.0.1:9/a2a-interop-push"
SHORT = "steps=3 interval=0.15"
LONG = "steps=60 interval=0.25"

# Fields a card carries for 0.3 clients next to 1.0's (the official a2a-sdk 1.x server
# merges the same ones into its cards): removed before the strict 1.0 parse, and checked
# by the 0.3 schema instead.
LEGACY_CARD_FIELDS = {
    "protocolVersion",
    "url",
    "preferredTransport",
    "additionalInterfaces",
    "supportsAuthenticatedExtendedCard",
    "security",
}
LEGACY_CAPABILITIES = {"stateTransitionHistory"}


def slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "./-_:{}" else "-" for c in label)


def load_schema(version: str) -> dict[str, Any]:
    for path in SCHEMA_FILES[version]:
        if path.is_file():
            schema: dict[str, Any] = json.loads(path.read_text())
            return schema
    raise FileNotFoundError(f"no A2A {version} JSON schema at any of {SCHEMA_FILES[version]}")


def validator(schema: dict[str, Any], definition: str) -> Draft7Validator:
    assert definition in schema["definitions"], f"the schema has no {definition}"
    return Draft7Validator({"$ref": f"#/definitions/{definition}", **schema})


# --- capture ---------------------------------------------------------------------------


class Capture:
    """Requests with fixed headers; every response kept under a label with the definition
    (0.x: a JSON-schema definition; 1.0: an a2a_pb2 message) it must satisfy."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers
        self.items: dict[str, tuple[str, list[Any]]] = {}

    def keep(self, label: str, definition: str, *values: Any) -> None:
        self.items.setdefault(label, (definition, []))[1].extend(values)

    async def rpc(self, url: str, method: str, params: dict[str, Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}
        response = await self.http.post(url, json=body, headers=self.headers)
        assert response.status_code == 200, (method, response.status_code, response.text)
        return response.json()

    async def sse(self, method: str, url: str, **kwargs: Any) -> list[Any]:
        events = []
        async with aconnect_sse(self.http, method, url, headers=self.headers, **kwargs) as source:
            assert source.response.status_code == 200, (url, source.response.status_code)
            async for event in source.aiter_sse():
                events.append(json.loads(event.data))
        return events

    async def rpc_stream(self, url: str, method: str, params: dict[str, Any]) -> list[Any]:
        body = {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}
        return await self.sse("POST", url, json=body)

    async def get(self, url: str, **params: Any) -> Any:
        response = await self.http.get(url, headers=self.headers, params=params)
        assert response.status_code == 200, (url, response.status_code, response.text)
        return response.json()


def legacy_message(text: str, task_id: str | None = None) -> dict[str, Any]:
    message = {
        "kind": "message",
        "role": "user",
        "messageId": str(uuid.uuid4()),
        "parts": [{"kind": "text", "text": text}],
    }
    if task_id:
        message["taskId"] = task_id
    return message


def v1_message(text: str, **fields: str) -> dict[str, Any]:
    return {
        "role": "ROLE_USER",
        "messageId": str(uuid.uuid4()),
        "parts": [{"text": text}],
        **fields,
    }


async def capture_legacy(
    http: httpx.AsyncClient, base: str, push_base: str, headers: dict[str, str]
) -> dict[str, tuple[str, list[Any]]]:
    """0.2.5/0.3 responses of every method, as the 0.x clients ask for them."""
    c = Capture(http, headers)
    echo, progress, ask = f"{base}/", f"{base}/agents/progress/", f"{base}/agents/ask/"

    c.keep("card agent-card.json", "AgentCard", await c.get(f"{base}/.well-known/agent-card.json"))
    c.keep(
        "card agent.json (progress)",
        "AgentCard",
        await c.get(f"{base}/agents/progress/.well-known/agent.json"),
    )
    sent = await c.rpc(echo, "message/send", {"message": legacy_message("schema check")})
    c.keep("message/send", "SendMessageSuccessResponse", sent)
    task_id = sent["result"]["id"]
    c.keep(
        "tasks/get",
        "GetTaskSuccessResponse",
        await c.rpc(echo, "tasks/get", {"id": task_id}),
    )
    asked = await c.rpc(ask, "message/send", {"message": legacy_message("rounds=1")})
    c.keep("message/send input-required", "SendMessageSuccessResponse", asked)
    streamed = await c.rpc_stream(progress, "message/stream", {"message": legacy_message(SHORT)})
    assert streamed[-1]["result"]["status"]["state"] == "completed", streamed[-1]
    c.keep("message/stream", "SendStreamingMessageSuccessResponse", *streamed)

    params = {"message": legacy_message(SHORT), "configuration": {"blocking": False}}
    running = await c.rpc(progress, "message/send", params)
    resubscribed = await c.rpc_stream(
        progress, "tasks/resubscribe", {"id": running["result"]["id"]}
    )
    assert resubscribed[-1]["result"].get("final") is True, resubscribed[-1]
    c.keep("tasks/resubscribe", "SendStreamingMessageSuccessResponse", *resubscribed)

    params = {"message": legacy_message(LONG), "configuration": {"blocking": False}}
    long_task = (await c.rpc(progress, "message/send", params))["result"]["id"]
    c.keep(
        "tasks/cancel",
        "CancelTaskSuccessResponse",
        await c.rpc(progress, "tasks/cancel", {"id": long_task}),
    )
    c.keep(
        "tasks/get unknown task (error)",
        "JSONRPCErrorResponse",
        await c.rpc(echo, "tasks/get", {"id": f"ghost-{uuid.uuid4()}"}),
    )

    push_ask = f"{push_base}/agents/ask/"
    waiting = await c.rpc(push_ask, "message/send", {"message": legacy_message("hi")})
    push_task = waiting["result"]["id"]
    config = {"id": "schema-1", "url": PUSH_URL, "token": "tok"}
    c.keep(
        "tasks/pushNotificationConfig/set",
        "SetTaskPushNotificationConfigSuccessResponse",
        await c.rpc(
            push_ask,
            "tasks/pushNotificationConfig/set",
            {"taskId": push_task, "pushNotificationConfig": config},
        ),
    )
    ids = {"id": push_task, "pushNotificationConfigId": "schema-1"}
    c.keep(
        "tasks/pushNotificationConfig/get",
        "GetTaskPushNotificationConfigSuccessResponse",
        await c.rpc(push_ask, "tasks/pushNotificationConfig/get", ids),
    )
    c.keep(
        "tasks/pushNotificationConfig/list",
        "ListTaskPushNotificationConfigSuccessResponse",
        await c.rpc(push_ask, "tasks/pushNotificationConfig/list", {"id": push_task}),
    )
    c.keep(
        "tasks/pushNotificationConfig/delete",
        "DeleteTaskPushNotificationConfigSuccessResponse",
        await c.rpc(push_ask, "tasks/pushNotificationConfig/delete", ids),
    )
    return c.items


LEGACY_LABELS = [
    "card agent-card.json",
    "card agent.json (progress)",
    "message/send",
    "tasks/get",
    "message/send input-required",
    "message/stream",
    "tasks/resubscribe",
    "tasks/cancel",
    "tasks/get unknown task (error)",
    "tasks/pushNotificationConfig/set",
    "tasks/pushNotificationConfig/get",
    "tasks/pushNotificationConfig/list",
    "tasks/pushNotificationConfig/delete",
]

# (schema version, A2A-Version header sent): a request without the header is what both
# 0.2.5 and 0.3 clients send, so its responses must satisfy both schemas.
LEGACY_VARIANTS = [("0.2.5", ""), ("0.3.0", ""), ("0.3.0", "0.3")]


@pytest.fixture(scope="module")
async def legacy_captures(
    gateway_url: str, push_gateway_url: str
) -> dict[str, dict[str, tuple[str, list[Any]]]]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        headers = sorted({header for _, header in LEGACY_VARIANTS})
        captured = await asyncio.gather(
            *(
                capture_legacy(http, gateway_url, push_gateway_url, {"A2A-Version": h} if h else {})
                for h in headers
            )
        )
    return dict(zip(headers, captured, strict=True))


@pytest.mark.parametrize(
    ("version", "header", "label"),
    [(v, h, label) for v, h in LEGACY_VARIANTS for label in LEGACY_LABELS],
    ids=[
        slug(f"{v}-{h or 'no-header'}-{label}")
        for v, h in LEGACY_VARIANTS
        for label in LEGACY_LABELS
    ],
)
def test_legacy_response_matches_schema(
    legacy_captures: dict[str, dict[str, tuple[str, list[Any]]]],
    version: str,
    header: str,
    label: str,
) -> None:
    definition, values = legacy_captures[header][label]
    check = validator(load_schema(version), definition)
    assert values, f"nothing captured for {label}"
    for value in values:
        errors = sorted(check.iter_errors(value), key=lambda e: list(e.absolute_path))
        shown = "\n".join(f"  at {list(e.absolute_path)}: {e.message}" for e in errors[:10])
        assert not errors, (
            f"A2A {version} {definition} (A2A-Version: {header or 'none'}), {label}:\n"
            f"{shown}\nvalue: {json.dumps(value)[:3000]}"
        )


# --- 1.0 -------------------------------------------------------------------------------


async def capture_v1(
    http: httpx.AsyncClient, base: str, push_base: str
) -> dict[str, tuple[str, list[Any]]]:
    """1.0 results over JSON-RPC (``A2A-Version: 1.0``) and HTTP+JSON."""
    c = Capture(http, V1)
    echo, progress, ask = f"{base}/", f"{base}/agents/progress/", f"{base}/agents/ask/"

    for label, url in (
        ("card (default agent)", f"{base}/.well-known/agent-card.json"),
        ("card (progress)", f"{base}/agents/progress/.well-known/agent-card.json"),
    ):
        c.keep(label, "AgentCard", strip_legacy(await c.get(url)))

    context = f"schema-{uuid.uuid4()}"
    sent = await c.rpc(
        echo, "SendMessage", {"message": v1_message("schema check", contextId=context)}
    )
    c.keep("SendMessage", "SendMessageResponse", result(sent))
    task_id = result(sent)["task"]["id"]
    c.keep("GetTask", "Task", result(await c.rpc(echo, "GetTask", {"id": task_id})))
    asked = await c.rpc(ask, "SendMessage", {"message": v1_message("rounds=1")})
    c.keep("SendMessage input-required", "SendMessageResponse", result(asked))
    streamed = await c.rpc_stream(progress, "SendStreamingMessage", {"message": v1_message(SHORT)})
    c.keep("SendStreamingMessage", "StreamResponse", *map(result, streamed))

    params = {"message": v1_message(SHORT), "configuration": {"returnImmediately": True}}
    running = result(await c.rpc(progress, "SendMessage", params))["task"]["id"]
    subscribed = await c.rpc_stream(progress, "SubscribeToTask", {"id": running})
    c.keep("SubscribeToTask", "StreamResponse", *map(result, subscribed))

    params = {"message": v1_message(LONG), "configuration": {"returnImmediately": True}}
    long_task = result(await c.rpc(progress, "SendMessage", params))["task"]["id"]
    c.keep("CancelTask", "Task", result(await c.rpc(progress, "CancelTask", {"id": long_task})))

    listed = result(await c.rpc(echo, "ListTasks", {"contextId": context}))
    c.keep("ListTasks", "ListTasksResponse", listed)
    c.keep(
        "ListTasks includeArtifacts",
        "ListTasksResponse",
        result(await c.rpc(echo, "ListTasks", {"contextId": context, "includeArtifacts": True})),
    )

    error = await c.rpc(echo, "GetTask", {"id": f"ghost-{uuid.uuid4()}"})
    assert "error" in error, error
    c.keep(
        "GetTask unknown task: error.data[]", "google.protobuf.Any", *error["error"].get("data", [])
    )

    push_ask = f"{push_base}/agents/ask/"
    push_task = result(await c.rpc(push_ask, "SendMessage", {"message": v1_message("hi")}))
    push_task_id = push_task["task"]["id"]
    config = {"taskId": push_task_id, "id": "schema-1", "url": PUSH_URL, "token": "tok"}
    c.keep(
        "CreateTaskPushNotificationConfig",
        "TaskPushNotificationConfig",
        result(await c.rpc(push_ask, "CreateTaskPushNotificationConfig", config)),
    )
    ids = {"taskId": push_task_id, "id": "schema-1"}
    c.keep(
        "GetTaskPushNotificationConfig",
        "TaskPushNotificationConfig",
        result(await c.rpc(push_ask, "GetTaskPushNotificationConfig", ids)),
    )
    c.keep(
        "ListTaskPushNotificationConfigs",
        "ListTaskPushNotificationConfigsResponse",
        result(await c.rpc(push_ask, "ListTaskPushNotificationConfigs", {"taskId": push_task_id})),
    )

    # The HTTP+JSON binding under the agent's base path (§11).
    rest = f"{base}/agents/progress"
    response = await http.post(
        f"{base}/message:send",
        json={"message": v1_message("rest check", contextId=context)},
        headers=V1,
    )
    assert response.status_code == 200, response.text
    c.keep("HTTP+JSON POST /message:send", "SendMessageResponse", response.json())
    rest_task = response.json()["task"]["id"]
    c.keep("HTTP+JSON GET /tasks/{id}", "Task", await c.get(f"{base}/tasks/{rest_task}"))
    c.keep(
        "HTTP+JSON GET /tasks", "ListTasksResponse", await c.get(f"{base}/tasks", contextId=context)
    )
    rest_stream = await c.sse("POST", f"{rest}/message:stream", json={"message": v1_message(SHORT)})
    c.keep("HTTP+JSON POST /message:stream", "StreamResponse", *rest_stream)
    missing = await http.get(f"{base}/tasks/ghost-{uuid.uuid4()}", headers=V1)
    assert missing.status_code == 404, (missing.status_code, missing.text)
    details = missing.json().get("error", {}).get("details", [])
    c.keep("HTTP+JSON unknown task: error.details[]", "google.protobuf.Any", *details)
    return c.items


def result(response: dict[str, Any]) -> Any:
    assert "result" in response, f"JSON-RPC error: {response}"
    return response["result"]


def strip_legacy(card: dict[str, Any]) -> dict[str, Any]:
    card = {k: v for k, v in card.items() if k not in LEGACY_CARD_FIELDS}
    capabilities = card.get("capabilities")
    if isinstance(capabilities, dict):
        card["capabilities"] = {
            k: v for k, v in capabilities.items() if k not in LEGACY_CAPABILITIES
        }
    return card


V1_LABELS = [
    "card (default agent)",
    "card (progress)",
    "SendMessage",
    "GetTask",
    "SendMessage input-required",
    "SendStreamingMessage",
    "SubscribeToTask",
    "CancelTask",
    "ListTasks",
    "ListTasks includeArtifacts",
    "GetTask unknown task: error.data[]",
    "CreateTaskPushNotificationConfig",
    "GetTaskPushNotificationConfig",
    "ListTaskPushNotificationConfigs",
    "HTTP+JSON POST /message:send",
    "HTTP+JSON GET /tasks/{id}",
    "HTTP+JSON GET /tasks",
    "HTTP+JSON POST /message:stream",
    "HTTP+JSON unknown task: error.details[]",
]


@pytest.fixture(scope="module")
async def v1_captures(gateway_url: str, push_gateway_url: str) -> dict[str, tuple[str, list[Any]]]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        return await capture_v1(http, gateway_url, push_gateway_url)


@pytest.fixture(scope="module")
def v1_verdicts(
    interop_envs: dict[str, float], v1_captures: dict[str, tuple[str, list[Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Every captured 1.0 value through ``clients/check_v1.py`` in the 1.x environment."""
    lines = []
    for label, (type_name, values) in v1_captures.items():
        for index, value in enumerate(values):
            lines.append(
                json.dumps({"label": f"{label}#{index}", "type": type_name, "value": value})
            )
    done = subprocess.run(
        [str(envs.SDK1_ENV.python), str(envs.CLIENTS_DIR / "check_v1.py")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    verdicts: dict[str, list[dict[str, Any]]] = {}
    for raw in done.stdout.splitlines():
        verdict = json.loads(raw)
        verdicts.setdefault(verdict["label"].rsplit("#", 1)[0], []).append(verdict)
    return verdicts


@pytest.mark.parametrize("label", V1_LABELS, ids=[slug(label) for label in V1_LABELS])
def test_v1_response_parses_as_generated_type(
    v1_captures: dict[str, tuple[str, list[Any]]],
    v1_verdicts: dict[str, list[dict[str, Any]]],
    label: str,
) -> None:
    type_name, values = v1_captures[label]
    verdicts = v1_verdicts.get(label, [])
    assert values, f"nothing captured for {label}"
    assert len(verdicts) == len(values), verdicts
    for value, verdict in zip(values, verdicts, strict=True):
        assert verdict["ok"], (
            f"{label} as {type_name}: {verdict['error']}\nvalue: {json.dumps(value)[:3000]}"
        )


def test_v1_list_tasks_omits_artifacts_unless_asked(
    v1_captures: dict[str, tuple[str, list[Any]]],
) -> None:
    """§3.1.4: without ``includeArtifacts`` the ``artifacts`` field MUST be omitted."""
    (listed,) = v1_captures["ListTasks"][1]
    (with_artifacts,) = v1_captures["ListTasks includeArtifacts"][1]
    assert listed["tasks"], listed
    assert all("artifacts" not in task for task in listed["tasks"]), listed
    assert any(task.get("artifacts") for task in with_artifacts["tasks"]), with_artifacts
