"""Push notifications delivered end to end, without AWS: a gateway and a worker of their
own (their own key prefix, so no other test's outbox is theirs) with push on, and a real
receiver, an HTTP server on a free port that verifies every notification the way the
guide tells receivers to: the JWT's key from the gateway's ``/.well-known/jwks.json``
(PyJWT's JWKS client), signature, issuer, audience (its own URL), ``iat``/``exp``, the
body's hash, and ``jti`` remembered to drop repeats.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import jwt
import pytest
from a2a.types import (
    PushNotificationConfig,
    SetTaskPushNotificationConfigRequest,
    TaskPushNotificationConfig,
)

from a2a_gateway.core.extensions import PUSH_EVERY_STATUS
from a2a_gateway.push.dead_letters import DeadLetters
from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.conftest import sdk_client
from tests.e2e.sse import message, rpc
from tests.e2e.test_worker_restart import routes_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from redis.asyncio import Redis

    from a2a_gateway_dev.devstack import Stack

TOKEN = "client-token-" + uuid.uuid4().hex
CREDENTIALS = "receiver-credentials-" + uuid.uuid4().hex


@dataclass
class Received:
    """One notification as the receiver saw it, after verification."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    claims: dict[str, Any]


@dataclass
class Receiver:
    """A webhook on 127.0.0.1: answers ``failures`` 503s first, then 200s; verifies and
    keeps each notification (``received``) and counts every request (``requests``)."""

    jwks_url: str
    failures: int = 0
    requests: int = 0
    received: list[Received] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seen_jti: set[str] = field(default_factory=set)
    repeats: int = 0
    url: str = ""
    hold_first: float = 0.0  # seconds the first verified request waits for its answer
    arrived: threading.Event = field(default_factory=threading.Event)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        status = self._check(path, headers, raw)
        self.arrived.set()
        if status == 200 and self.hold_first:
            hold, self.hold_first = self.hold_first, 0.0
            time.sleep(hold)
        return status

    def _check(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        self.requests += 1
        if self.failures > 0:
            self.failures -= 1
            return 503
        try:
            token = headers["x-a2a-notification-jwt"]
            key = jwt.PyJWKClient(self.jwks_url).get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                audience=self.url + path.removeprefix("/"),
                issuer=jwt.decode(token, options={"verify_signature": False})["iss"],
                options={"require": ["iat", "exp", "jti", "bodySha256"]},
            )
            digest = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=")
            assert claims["bodySha256"] == digest.decode(), "body hash"
        except Exception as err:  # recorded, and the test fails on it
            self.problems.append(f"{type(err).__name__}: {err}")
            return 401
        if claims["jti"] in self.seen_jti:
            self.repeats += 1
            return 200
        self.seen_jti.add(claims["jti"])
        self.received.append(Received(path, headers, json.loads(raw), claims))
        return 200


@pytest.fixture
def receiver_server() -> Iterator[tuple[Receiver, str]]:
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = holder["receiver"].handle(self.path, headers, raw)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    holder["receiver"] = Receiver(jwks_url="")
    try:
        yield holder["receiver"], f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Deployment:
    url: str
    prefix: str


def push_env(tmp_path: Path) -> dict[str, str]:
    """A deployment of its own: routes on a queue of its own, a key prefix of its own,
    push on, retries fast (0.05 s base, 4 attempts), entries reclaimed after 1 s."""
    return {
        **GATEWAY_ENV,
        "A2A_ROUTES_FILE": str(routes_file(tmp_path, f"push-{uuid.uuid4()}")),
        "A2A_KEY_PREFIX": f"pd{uuid.uuid4().hex[:8]}",
        "A2A_PUSH_NOTIFICATIONS": "true",
        "A2A_PUSH_ALLOW_PRIVATE": "true",
        "A2A_PUSH_RETRY_SECONDS": "0.05",
        "A2A_PUSH_ATTEMPTS": "4",
        "A2A_PUSH_TIMEOUT_SECONDS": "10",
        "A2A_PUSH_RECLAIM_SECONDS": "1",
    }


@pytest.fixture
def deployment(stack: Stack, tmp_path: Path) -> Iterator[Deployment]:
    env = push_env(tmp_path)
    prefix = env["A2A_KEY_PREFIX"]
    worker = stack.worker(env, name="worker-push")
    gateway = stack.gateway(free_port(), env=env)
    gateway.name = "gateway-push-delivery"
    try:
        worker.start(tmp_path)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        yield Deployment(f"http://127.0.0.1:{gateway.port}", prefix)
    finally:
        gateway.stop()
        worker.stop()


def config(url: str, path: str) -> dict[str, Any]:
    return {
        "url": url + path,
        "token": TOKEN,
        "authentication": {"schemes": ["Bearer"], "credentials": CREDENTIALS},
    }


async def until(check: Any, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await _sleep()


async def _sleep() -> None:
    import asyncio

    await asyncio.sleep(0.05)


async def test_echo_and_ask_notify_each_final_and_interrupted_state(
    deployment: Deployment, receiver_server: tuple[Receiver, str]
) -> None:
    receiver, hook = receiver_server
    receiver.jwks_url, receiver.url = deployment.url + "/.well-known/jwks.json", hook
    async with httpx.AsyncClient(timeout=60) as http:
        sent = message("hello push")
        body = rpc("message/send", sent)
        body["params"]["configuration"] = {"pushNotificationConfig": config(hook, "echo")}
        done = (await http.post(deployment.url + "/", json=body)).json()["result"]
        assert done["status"]["state"] == "completed"
        asked = rpc("message/send", message("hi"))
        asked["params"]["configuration"] = {"pushNotificationConfig": config(hook, "ask")}
        task = (await http.post(deployment.url + "/agents/ask/", json=asked)).json()["result"]
        assert task["status"]["state"] == "input-required"
        await until(lambda: len(receiver.received) == 2)
        answer = rpc("message/send", message("Ada", task["id"]))
        final = (await http.post(deployment.url + "/agents/ask/", json=answer)).json()["result"]
        assert final["status"]["state"] == "completed"
        await until(lambda: len(receiver.received) == 3)
    assert receiver.problems == []
    by_path = {}
    for got in receiver.received:
        by_path.setdefault(got.path, []).append(got)
    (echoed,) = by_path["/echo"]
    assert echoed.body["kind"] == "task" and echoed.body["id"] == done["id"]
    assert echoed.body["status"]["state"] == "completed"
    assert echoed.claims["taskId"] == done["id"] and echoed.claims["iss"] == deployment.url + "/"
    assert echoed.headers["x-a2a-notification-token"] == TOKEN
    assert echoed.headers["authorization"] == f"Bearer {CREDENTIALS}"
    assert echoed.headers["content-type"].startswith("application/json")
    assert [g.body["status"]["state"] for g in by_path["/ask"]] == ["input-required", "completed"]
    assert len({g.claims["jti"] for g in receiver.received}) == 3
    assert receiver.repeats == 0


async def test_a_1_0_config_gets_a_1_0_payload(
    deployment: Deployment, receiver_server: tuple[Receiver, str]
) -> None:
    receiver, hook = receiver_server
    receiver.jwks_url, receiver.url = deployment.url + "/.well-known/jwks.json", hook
    request = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {
            "message": {
                "messageId": str(uuid.uuid4()),
                "role": "ROLE_USER",
                "parts": [{"text": "hello 1.0"}],
            },
            "configuration": {
                "taskPushNotificationConfig": {"url": hook + "v1", "token": TOKEN},
            },
        },
    }
    async with httpx.AsyncClient(timeout=60) as http:
        answer = await http.post(deployment.url + "/", json=request, headers={"A2A-Version": "1.0"})
        task = answer.json()["result"]["task"]
        assert task["status"]["state"] == "TASK_STATE_COMPLETED"
        await until(lambda: len(receiver.received) == 1)
    (got,) = receiver.received
    assert receiver.problems == []
    assert got.headers["content-type"].startswith("application/a2a+json")
    assert got.body["task"]["id"] == task["id"]
    assert got.body["task"]["status"]["state"] == "TASK_STATE_COMPLETED"


async def test_a_receiver_down_then_back_gets_it_once_and_one_always_down_is_dead_lettered(
    deployment: Deployment, receiver_server: tuple[Receiver, str], redis: Redis
) -> None:
    receiver, hook = receiver_server
    receiver.jwks_url, receiver.url = deployment.url + "/.well-known/jwks.json", hook
    receiver.failures = 2  # two 503s, then it is back: the third attempt delivers
    async with httpx.AsyncClient(timeout=60) as http:
        body = rpc("message/send", message("retry me"))
        body["params"]["configuration"] = {"pushNotificationConfig": config(hook, "back")}
        await http.post(deployment.url + "/", json=body)
        await until(lambda: len(receiver.received) == 1)
        assert receiver.requests == 3 and receiver.problems == []
        receiver.failures = 10**6  # down for good: four attempts, then the dead letters
        body = rpc("message/send", message("never"))
        secret_path = "down?key=" + uuid.uuid4().hex
        body["params"]["configuration"] = {"pushNotificationConfig": config(hook, secret_path)}
        failed = (await http.post(deployment.url + "/", json=body)).json()["result"]
        dead = DeadLetters(redis, deployment.prefix)
        records: list[dict[str, str]] = []
        deadline = time.monotonic() + 30
        while not records:
            records.extend(r for r in await dead.all() if r["taskId"] == failed["id"])
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    assert receiver.requests == 3 + 4
    (record,) = records
    assert record["webhookHost"] == "127.0.0.1" and record["error"] == "PushDeliveryFailed"
    flat = json.dumps(record)
    for secret in (TOKEN, CREDENTIALS, secret_path, "key="):
        assert secret not in flat


async def test_a_worker_killed_mid_delivery_loses_nothing_and_keeps_the_jti(
    stack: Stack, tmp_path: Path, receiver_server: tuple[Receiver, str]
) -> None:
    """The receiver holds the first notification's answer; the worker delivering it is
    killed (SIGKILL) meanwhile. Another worker reclaims the entry and delivers it again,
    with the same ``jti``, which the receiver drops as a repeat: one notification, none
    lost, no second ``jti`` for the event."""
    receiver, hook = receiver_server
    env = push_env(tmp_path)
    first = stack.worker(env, name="worker-push-killed")
    second = stack.worker(env, name="worker-push-second")
    gateway = stack.gateway(free_port(), env=env)
    gateway.name = "gateway-push-killed"
    try:
        first.start(tmp_path)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        url = f"http://127.0.0.1:{gateway.port}"
        receiver.jwks_url, receiver.url = url + "/.well-known/jwks.json", hook
        receiver.hold_first = 3.0
        async with httpx.AsyncClient(timeout=60) as http:
            body = rpc("message/send", message("kill me mid-delivery"))
            body["params"]["configuration"] = {"pushNotificationConfig": config(hook, "k")}
            task = (await http.post(url + "/", json=body)).json()["result"]
        assert await asyncio.to_thread(receiver.arrived.wait, 30)
        assert first.process is not None
        first.process.kill()  # SIGKILL: no shutdown, the entry stays unacknowledged
        first.process.wait()
        second.start(tmp_path)
        await until(lambda: receiver.repeats >= 1, within=60)
    finally:
        gateway.stop()
        second.stop()
        first.stop()
    assert receiver.problems == []
    (got,) = receiver.received
    assert got.claims["taskId"] == task["id"] and got.body["status"]["state"] == "completed"
    assert receiver.repeats == 1 and receiver.requests == 2


async def test_progress_and_cancel_and_a_config_set_by_the_official_client(
    deployment: Deployment, receiver_server: tuple[Receiver, str]
) -> None:
    """progress notifies its end only (no step is final); a canceled task notifies
    ``canceled``; a config set on a running task with the official a2a-sdk client
    (``set_task_callback``) gets the task's end."""
    receiver, hook = receiver_server
    receiver.jwks_url, receiver.url = deployment.url + "/.well-known/jwks.json", hook
    progress = deployment.url + "/agents/progress/"
    async with httpx.AsyncClient(timeout=60) as http:
        body = rpc("message/send", message("steps=3 interval=0.1"))
        body["params"]["configuration"] = {"pushNotificationConfig": config(hook, "steps")}
        stepped = (await http.post(progress, json=body)).json()["result"]
        long = rpc("message/send", message("steps=100 interval=0.2"))
        long["params"]["configuration"] = {
            "blocking": False,
            "pushNotificationConfig": config(hook, "cancel"),
        }
        running = (await http.post(progress, json=long)).json()["result"]
        canceled = await http.post(progress, json=rpc("tasks/cancel", {"id": running["id"]}))
        assert canceled.json()["result"]["status"]["state"] == "canceled"
        watched = rpc("message/send", message("steps=5 interval=0.2"))
        watched["params"]["configuration"] = {"blocking": False}
        task = (await http.post(progress, json=watched)).json()["result"]
        client = await sdk_client(http, progress)
        answer = await client.set_task_callback(
            SetTaskPushNotificationConfigRequest(
                id=str(uuid.uuid4()),
                params=TaskPushNotificationConfig(
                    task_id=task["id"],
                    push_notification_config=PushNotificationConfig(url=hook + "sdk", token=TOKEN),
                ),
            )
        )
        assert answer.root.result.push_notification_config.token is None  # never read back
        await until(lambda: len(receiver.received) == 3)
    assert receiver.problems == []
    states = {
        got.path: (got.claims["taskId"], got.body["status"]["state"]) for got in receiver.received
    }
    assert states == {
        "/steps": (stepped["id"], "completed"),
        "/cancel": (running["id"], "canceled"),
        "/sdk": (task["id"], "completed"),
    }


async def test_a_config_given_with_a_follow_up_message_is_kept_and_notified(
    deployment: Deployment, receiver_server: tuple[Receiver, str]
) -> None:
    """ask, answered by a message that carries a push config: the answer's turn notifies
    it (``completed``), and the config is there to read back."""
    receiver, hook = receiver_server
    receiver.jwks_url, receiver.url = deployment.url + "/.well-known/jwks.json", hook
    ask = deployment.url + "/agents/ask/"
    async with httpx.AsyncClient(timeout=60) as http:
        task = (await http.post(ask, json=rpc("message/send", message("hi")))).json()["result"]
        answer = rpc("message/send", message("Ada", task["id"]))
        answer["params"]["configuration"] = {"pushNotificationConfig": config(hook, "later")}
        done = (await http.post(ask, json=answer)).json()["result"]
        assert done["status"]["state"] == "completed"
        await until(lambda: len(receiver.received) == 1)
        stored = await http.post(
            ask, json=rpc("tasks/pushNotificationConfig/list", {"id": task["id"]})
        )
        assert [c["pushNotificationConfig"]["url"] for c in stored.json()["result"]] == [
            hook + "later"
        ]
    (got,) = receiver.received
    assert got.path == "/later" and got.body["status"]["state"] == "completed"


async def test_a_config_set_with_the_extension_gets_every_status_update(
    deployment: Deployment, receiver_server: tuple[Receiver, str]
) -> None:
    """Activating ``PUSH_EVERY_STATUS`` (``X-A2A-Extensions``) on the request that sets a
    config: that config hears every status of the task (each progress step), another
    config of the same task only its end."""
    receiver, hook = receiver_server
    receiver.jwks_url, receiver.url = deployment.url + "/.well-known/jwks.json", hook
    progress = deployment.url + "/agents/progress/"
    async with httpx.AsyncClient(timeout=60) as http:
        card = (await http.get(progress + ".well-known/agent-card.json")).json()
        offered = [e["uri"] for e in card["capabilities"]["extensions"]]
        assert offered == [PUSH_EVERY_STATUS]
        start = rpc("message/send", message("steps=3 interval=0.3"))
        start["params"]["configuration"] = {
            "blocking": False,
            "pushNotificationConfig": {**config(hook, "ends"), "id": "ends"},
        }
        task = (await http.post(progress, json=start)).json()["result"]
        every = rpc(
            "tasks/pushNotificationConfig/set",
            {
                "taskId": task["id"],
                "pushNotificationConfig": {**config(hook, "every"), "id": "every"},
            },
        )
        headers = {"X-A2A-Extensions": PUSH_EVERY_STATUS}
        assert "result" in (await http.post(progress, json=every, headers=headers)).json()
        await until(
            lambda: any(
                g.body["status"]["state"] == "completed" and g.path == "/every"
                for g in receiver.received
            )
        )
        await until(lambda: any(g.path == "/ends" for g in receiver.received))
        await asyncio.sleep(0.5)  # nothing more may come
    assert receiver.problems == []
    ends = [g.body["status"]["state"] for g in receiver.received if g.path == "/ends"]
    assert ends == ["completed"]
    every_states = [g.body["status"] for g in receiver.received if g.path == "/every"]
    assert every_states[-1]["state"] == "completed"
    steps_seen = {s.get("message", {}).get("parts", [{}])[0].get("text") for s in every_states}
    assert {"step 2/3", "step 3/3"} <= steps_seen  # the steps after the config was set
    assert len({g.claims["jti"] for g in receiver.received}) == len(receiver.received)
