"""The webhook URL rules at set time, against the whole stack: every way a client stores a
push notification config (0.3 ``tasks/pushNotificationConfig/set``, ``message/send`` and
``message/stream`` with ``configuration.pushNotificationConfig``, 1.0 JSON-RPC
``CreateTaskPushNotificationConfig`` and ``SendMessage``, the 1.0 HTTP+JSON
``POST …/pushNotificationConfigs`` and ``message:send``) refuses an unsafe URL with -32602
(HTTP 400 ``INVALID_ARGUMENT`` in HTTP+JSON) naming the rule, stores nothing, creates no
task, and never answers 500 or logs a traceback."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import events, message, rpc

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    from a2a_gateway_dev.devstack import Stack

V1 = {"A2A-Version": "1.0"}
AGENT = "/agents/progress"
FIELD = "pushNotificationConfig.url"
PUBLIC = "https://hooks.example.com/a2a?tenant=7"

# (url, the rule it breaks): the forms of issue 14's SSRF table, refused with push
# notifications on and A2A_PUSH_ALLOW_PRIVATE unset.
REFUSED: list[tuple[str, str]] = [
    ("http://127.0.0.1:9/hook", "scheme"),
    ("http://hooks.example.com/a2a", "scheme"),
    ("https://169.254.169.254/latest/meta-data/", "address"),
    ("https://[fd00:ec2::254]/latest/meta-data/", "address"),
    ("https://metadata.google.internal/computeMetadata/v1/", "name"),
    ("https://instance-data/latest/", "name"),
    ("https://localhost:6379/", "name"),
    ("https://127.0.0.1:6379/", "address"),
    ("https://2130706433/", "address"),
    ("https://0x7f000001/", "address"),
    ("https://0x7f.0.0.1/", "address"),
    ("https://0177.0.0.1/", "address"),
    ("https://127.1/", "address"),
    ("https://10.1/", "address"),
    ("https://192.168.0.1/", "address"),
    ("https://100.64.0.1/", "address"),
    ("https://0.0.0.0/", "address"),
    ("https://[::1]/", "address"),
    ("https://[::ffff:127.0.0.1]/", "address"),
    ("https://[::ffff:7f00:1]/", "address"),
    ("https://[::127.0.0.1]/", "address"),
    ("https://[64:ff9b::a9fe:a9fe]/", "address"),
    ("https://[64:ff9b:1::a9fe:a9fe]/", "address"),
    ("https://[2002:7f00:1::]/", "address"),
    ("https://[2001::a9fe:a9fe]/", "address"),
    ("https://[fe80::1%25eth0]/", "address"),
    ("https://[fc00::1]/", "address"),
    ("https://user:secret@hooks.example.com/", "credentials"),
    ("https://hooks.example.com/a2a#frag", "fragment"),
    ("https://hooks.example.com:0/", "port"),
    ("https://hooks.example.com/a\r\nX-Injected: 1", "characters"),
    ("https://hooks.example.com/\u00e9", "characters"),
    ("https://127.0.0.1\\@hooks.example.com/", "characters"),
    ("https://%31%32%37.0.0.1/", "host"),
    ("https://999.0.0.1/", "host"),
]


@dataclass
class Gateway:
    url: str
    log: Path

    @property
    def agent(self) -> str:
        return self.url + AGENT

    def assert_no_traceback(self) -> None:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        assert "Traceback" not in text, text[-4000:]


@pytest.fixture(scope="module")
def strict(
    stack: Stack, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """A gateway with push configs on and ``A2A_PUSH_ALLOW_PRIVATE`` unset (as deployed)."""
    proc = stack.gateway(free_port(), env={**GATEWAY_ENV, "A2A_PUSH_NOTIFICATIONS": "true"})
    proc.name = "gateway-push-strict"
    log_dir = tmp_path_factory.mktemp("push-strict")
    try:
        proc.start(log_dir)
        proc.wait_ready(30)
        yield Gateway(f"http://127.0.0.1:{proc.port}", log_dir / "gateway-push-strict.log")
    finally:
        proc.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as http:
        yield http


async def new_task(client: httpx.AsyncClient, gateway: Gateway) -> str:
    sent = await client.post(gateway.agent, json=rpc("message/send", message("steps=1")))
    task_id: str = sent.json()["result"]["id"]
    return task_id


def v1_message(context_id: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "role": "ROLE_USER",
        "parts": [{"text": "steps=1"}],
        "contextId": context_id,
    }


def assert_refused_v03(answer: dict[str, Any], rule: str, url: str) -> None:
    error = answer["error"]
    assert error["code"] == -32602, (url, error)
    assert error["data"] == {"field": FIELD, "rule": rule}, (url, error)
    assert url not in error["message"], error


def assert_refused_v1(error: dict[str, Any], rule: str, url: str) -> None:
    """``error`` is a JSON-RPC error object or a ``google.rpc.Status``: its ErrorInfo
    carries the field and the rule."""
    info = error["data" if "data" in error else "details"][0]
    assert info["reason"] == "INVALID_ARGUMENT", (url, error)
    assert info["metadata"] == {"field": FIELD, "rule": rule}, (url, error)
    assert url not in error["message"], error


async def config_ids(client: httpx.AsyncClient, gateway: Gateway, task_id: str) -> list[str]:
    listed = await client.post(
        gateway.agent, json=rpc("tasks/pushNotificationConfig/list", {"id": task_id})
    )
    return [c["pushNotificationConfig"]["id"] for c in listed.json()["result"]]


async def task_exists(client: httpx.AsyncClient, gateway: Gateway, task_id: str) -> bool:
    got = (await client.post(gateway.agent, json=rpc("tasks/get", {"id": task_id}))).json()
    if "error" in got:
        assert got["error"]["code"] == -32001, got
    return "result" in got


async def tasks_in_context(client: httpx.AsyncClient, gateway: Gateway, context_id: str) -> int:
    listed = await client.get(gateway.agent + "/tasks", params={"contextId": context_id})
    assert listed.status_code == 200, listed.text
    return len(listed.json()["tasks"])


# -- 0.3 --------------------------------------------------------------------------------


async def test_v03_set_refuses_each_unsafe_url(client: httpx.AsyncClient, strict: Gateway) -> None:
    task_id = await new_task(client, strict)
    for n, (url, rule) in enumerate(REFUSED):
        config = {"taskId": task_id, "pushNotificationConfig": {"url": url, "id": f"c{n}"}}
        response = await client.post(
            strict.agent, json=rpc("tasks/pushNotificationConfig/set", config)
        )
        assert response.status_code == 200, (url, response.text)
        assert_refused_v03(response.json(), rule, url)
    assert await config_ids(client, strict, task_id) == []
    strict.assert_no_traceback()


async def test_v03_message_send_with_an_unsafe_url_creates_no_task(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    for url, rule in REFUSED:
        task_id = f"ssrf-{uuid.uuid4()}"
        body = message("steps=1", task_id) | {
            "configuration": {"pushNotificationConfig": {"url": url}}
        }
        response = await client.post(strict.agent, json=rpc("message/send", body))
        assert response.status_code == 200, (url, response.text)
        assert_refused_v03(response.json(), rule, url)
        assert not await task_exists(client, strict, task_id), url
    strict.assert_no_traceback()


async def test_v03_message_stream_with_an_unsafe_url_creates_no_task(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    for url, rule in REFUSED[:8]:
        task_id = f"ssrf-{uuid.uuid4()}"
        body = message("steps=1", task_id) | {
            "configuration": {"pushNotificationConfig": {"url": url}}
        }
        stream = await events(client, strict.agent, rpc("message/stream", body))
        assert len(stream) == 1 and stream[0].data is not None, stream
        assert_refused_v03(stream[0].data, rule, url)
        assert not await task_exists(client, strict, task_id), url
    strict.assert_no_traceback()


# -- 1.0 JSON-RPC -----------------------------------------------------------------------


async def test_v1_create_refuses_each_unsafe_url(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    task_id = await new_task(client, strict)
    for n, (url, rule) in enumerate(REFUSED):
        params = {"taskId": task_id, "id": f"c{n}", "url": url}
        response = await client.post(
            strict.agent, json=rpc("CreateTaskPushNotificationConfig", params), headers=V1
        )
        assert response.status_code == 200, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == -32602, (url, error)
        assert_refused_v1(error, rule, url)
    assert await config_ids(client, strict, task_id) == []
    strict.assert_no_traceback()


async def test_v1_send_message_with_an_unsafe_url_creates_no_task(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    for url, rule in REFUSED:
        context_id = f"ssrf-{uuid.uuid4()}"
        params = {
            "message": v1_message(context_id),
            "configuration": {"taskPushNotificationConfig": {"url": url}},
        }
        response = await client.post(strict.agent, json=rpc("SendMessage", params), headers=V1)
        assert response.status_code == 200, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == -32602, (url, error)
        assert_refused_v1(error, rule, url)
        assert await tasks_in_context(client, strict, context_id) == 0, url
    strict.assert_no_traceback()


# -- 1.0 HTTP+JSON ----------------------------------------------------------------------


async def test_v1_rest_create_refuses_each_unsafe_url(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    task_id = await new_task(client, strict)
    configs = f"{strict.agent}/tasks/{task_id}/pushNotificationConfigs"
    for n, (url, rule) in enumerate(REFUSED):
        response = await client.post(configs, json={"url": url, "id": f"c{n}"})
        assert response.status_code == 400, (url, response.status_code, response.text)
        error = response.json()["error"]
        assert error["status"] == "INVALID_ARGUMENT", (url, error)
        assert_refused_v1(error, rule, url)
    assert (await client.get(configs)).json()["configs"] == []
    strict.assert_no_traceback()


async def test_v1_rest_send_with_an_unsafe_url_creates_no_task(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    for url, rule in REFUSED:
        context_id = f"ssrf-{uuid.uuid4()}"
        body = {
            "message": v1_message(context_id),
            "configuration": {"taskPushNotificationConfig": {"url": url}},
        }
        response = await client.post(strict.agent + "/message:send", json=body)
        assert response.status_code == 400, (url, response.status_code, response.text)
        assert_refused_v1(response.json()["error"], rule, url)
        assert await tasks_in_context(client, strict, context_id) == 0, url
    strict.assert_no_traceback()


# -- what passes ------------------------------------------------------------------------


async def test_a_public_https_url_is_stored_and_read_back_in_every_binding(
    client: httpx.AsyncClient, strict: Gateway
) -> None:
    task_id = await new_task(client, strict)
    legacy = {"taskId": task_id, "pushNotificationConfig": {"url": PUBLIC, "id": "v03"}}
    stored = await client.post(strict.agent, json=rpc("tasks/pushNotificationConfig/set", legacy))
    assert stored.json()["result"]["pushNotificationConfig"] == {"url": PUBLIC, "id": "v03"}
    created = await client.post(
        strict.agent,
        json=rpc(
            "CreateTaskPushNotificationConfig", {"taskId": task_id, "id": "v1", "url": PUBLIC}
        ),
        headers=V1,
    )
    assert created.json()["result"]["url"] == PUBLIC, created.text
    configs = f"{strict.agent}/tasks/{task_id}/pushNotificationConfigs"
    rest = await client.post(configs, json={"url": PUBLIC + "&rest", "id": "rest"})
    assert rest.status_code == 200, rest.text
    got = await client.post(
        strict.agent,
        json=rpc(
            "tasks/pushNotificationConfig/get", {"id": task_id, "pushNotificationConfigId": "v1"}
        ),
    )
    assert got.json()["result"]["pushNotificationConfig"]["url"] == PUBLIC
    assert (await client.get(configs + "/rest")).json()["url"] == PUBLIC + "&rest"
    assert sorted(await config_ids(client, strict, task_id)) == ["rest", "v03", "v1"]

    task_id = f"ssrf-ok-{uuid.uuid4()}"
    body = message("steps=1", task_id) | {
        "configuration": {"pushNotificationConfig": {"url": PUBLIC, "id": "send"}}
    }
    sent = await client.post(strict.agent, json=rpc("message/send", body))
    assert sent.json()["result"]["id"] == task_id, sent.text
    assert await config_ids(client, strict, task_id) == ["send"]
    context_id = f"ssrf-ok-{uuid.uuid4()}"
    v1_body = {
        "message": v1_message(context_id),
        "configuration": {"taskPushNotificationConfig": {"url": PUBLIC}},
    }
    assert (await client.post(strict.agent + "/message:send", json=v1_body)).status_code == 200
    assert await tasks_in_context(client, strict, context_id) == 1
    strict.assert_no_traceback()


async def test_allow_private_lets_loopback_through_but_not_metadata(
    client: httpx.AsyncClient, push_gateway_url: str
) -> None:
    """The session's push gateway sets ``A2A_PUSH_ALLOW_PRIVATE=true`` (local development):
    http and https to loopback and https to private addresses pass; instance metadata,
    http to a private address and the embedded forms still do not."""
    agent = push_gateway_url + AGENT
    sent = await client.post(agent, json=rpc("message/send", message("steps=1")))
    task_id = sent.json()["result"]["id"]
    allowed = [
        "http://127.0.0.1:9/hook",
        "http://localhost:8080/",
        "https://10.0.0.7/",
        "https://[::1]/",
    ]
    for n, url in enumerate(allowed):
        config = {"taskId": task_id, "pushNotificationConfig": {"url": url, "id": f"ok{n}"}}
        answer = (
            await client.post(agent, json=rpc("tasks/pushNotificationConfig/set", config))
        ).json()
        assert answer["result"]["pushNotificationConfig"]["url"] == url, answer
    refused = [
        ("https://169.254.169.254/", "address"),
        ("https://[fd00:ec2::254]/", "address"),
        ("https://[::ffff:127.0.0.1]/", "address"),
        ("http://10.0.0.7/", "scheme"),
        ("https://metadata.google.internal/", "name"),
    ]
    for url, rule in refused:
        config = {"taskId": task_id, "pushNotificationConfig": {"url": url}}
        answer = (
            await client.post(agent, json=rpc("tasks/pushNotificationConfig/set", config))
        ).json()
        assert_refused_v03(answer, rule, url)
