"""Identity (issue 11): with ``A2A_AUTH`` set (apikey, jwt or iam) every caller is a
principal, and no principal reaches another's task through any method of any protocol
version.

Two principals, alice and bob, in each mode, against the real stack (gateway, worker,
Valkey, Temporal): bob gets -32001 (or 404) for every method on alice's task, never a different
error; ``ListTasks`` never shows it; bob cannot squat an id that alice then uses. Keys are
added and revoked while the gateway runs."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from tests.e2e.sse import events, frames, message, rpc
from tests.unit.auth_issuer import AUDIENCE, Issuer, issuer_with_one_key, rsa_key
from tests.unit.test_auth_iam import function_url_context, iam_caller, with_context

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import httpx

V1 = {"A2A-Version": "1.0"}
PROGRESS = "/agents/progress/"
KEYS = {"alice": "alice-key-" + "a" * 30, "bob": "bob-key-" + "b" * 30}


def write_keys(path: Path, keys: dict[str, str]) -> None:
    entries = [
        {"sha256": hashlib.sha256(key.encode()).hexdigest(), "principal": who, "name": who}
        for who, key in keys.items()
    ]
    path.write_text(json.dumps({"keys": entries}))


def as_(who: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[who]}", **extra}


@pytest.fixture
def keyed(start_gateway: Callable[..., str], tmp_path: Path) -> tuple[str, Path]:
    keys = tmp_path / "keys.json"
    write_keys(keys, KEYS)
    url = start_gateway(
        A2A_AUTH="apikey", A2A_API_KEYS_FILE=str(keys), A2A_PUSH_NOTIFICATIONS="true"
    )
    return url, keys


async def call(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await http.post(url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def test_without_a_valid_key_every_endpoint_is_401(
    http: httpx.AsyncClient, keyed: tuple[str, Path]
) -> None:
    url, _ = keyed
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
        legacy = await http.post(url, json=rpc("tasks/get", {"id": "x"}), headers=headers)
        assert legacy.status_code == 401
        assert "Bearer" in legacy.headers["www-authenticate"]
        assert legacy.json()["error"]["code"] == -32000
        v1 = await http.post(url, json=rpc("GetTask", {"id": "x"}), headers={**headers, **V1})
        assert v1.status_code == 401
        assert v1.json()["error"]["data"][0]["reason"] == "UNAUTHENTICATED"
        rest = await http.get(url + "/tasks/x", headers=headers)
        assert rest.status_code == 401
        assert rest.json()["error"]["status"] == "UNAUTHENTICATED"
        assert "www-authenticate" in rest.headers
    assert (await http.get(url + "/.well-known/agent-card.json")).status_code == 200
    assert (await http.get(url + "/healthz")).status_code == 200
    ok = await http.post(
        url, json=rpc("tasks/get", {"id": "x"}), headers={"X-API-Key": KEYS["bob"]}
    )
    assert ok.json()["error"]["code"] == -32001  # authenticated: an unknown task


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with issuer_with_one_key() as server:
        yield server


@dataclass(frozen=True)
class Tenants:
    """A gateway in one authentication mode, and the headers that make alice or bob."""

    url: str
    credentials: Callable[[str], dict[str, str]]

    def as_(self, who: str, **extra: str) -> dict[str, str]:
        return {**self.credentials(who), **extra}


@pytest.fixture(params=["apikey", "jwt", "iam"])
def tenants(
    request: pytest.FixtureRequest,
    start_gateway: Callable[..., str],
    tmp_path: Path,
) -> Iterator[Tenants]:
    """Each mode's two principals: API keys from a keys file; JWTs from a real local
    issuer (discovery and JWKS over HTTP); IAM callers as the Lambda Web Adapter passes
    them (the function URL's request context in ``x-amzn-request-context``)."""
    push = {"A2A_PUSH_NOTIFICATIONS": "true"}
    if request.param == "apikey":
        keys = tmp_path / "keys.json"
        write_keys(keys, KEYS)
        url = start_gateway(A2A_AUTH="apikey", A2A_API_KEYS_FILE=str(keys), **push)
        yield Tenants(url, as_)
    elif request.param == "jwt":
        with issuer_with_one_key() as server:
            url = start_gateway(
                A2A_AUTH="jwt", A2A_JWT_ISSUER=server.url, A2A_JWT_AUDIENCE=AUDIENCE, **push
            )
            subjects = {"alice": "alice|1", "bob": "bob@example.com"}
            tokens = {who: server.token("k1", sub=sub) for who, sub in subjects.items()}
            yield Tenants(url, lambda who: {"Authorization": f"Bearer {tokens[who]}"})
    else:
        url = start_gateway(A2A_AUTH="iam", **push)
        arns = {who: f"arn:aws:iam::111122223333:role/{who}" for who in KEYS}

        def signed(who: str) -> dict[str, str]:
            return with_context(function_url_context(iam_caller(arns[who])))

        yield Tenants(url, signed)


async def test_another_principals_task_is_not_found_by_any_method(
    http: httpx.AsyncClient, tenants: Tenants
) -> None:
    url, as_ = tenants.url, tenants.as_
    agent = url + PROGRESS
    started: list[Any] = []
    async for frame in frames(
        http, agent, rpc("message/stream", message("steps=40 interval=0.2")), as_("alice")
    ):
        if frame.comment is None:
            started.append(frame)
        if len(started) == 2:
            break
    task_id, last = started[0].result["id"], started[-1].id or ""
    config = {"url": "https://example.com/hook", "id": "c1"}
    alice_set = await call(
        http,
        agent,
        rpc(
            "tasks/pushNotificationConfig/set",
            {"taskId": task_id, "pushNotificationConfig": config},
        ),
        as_("alice"),
    )
    assert "result" in alice_set, alice_set

    legacy = {
        "tasks/get": {"id": task_id},
        "tasks/cancel": {"id": task_id},
        "tasks/pushNotificationConfig/set": {"taskId": task_id, "pushNotificationConfig": config},
        "tasks/pushNotificationConfig/get": {"id": task_id, "pushNotificationConfigId": "c1"},
        "tasks/pushNotificationConfig/list": {"id": task_id},
        "tasks/pushNotificationConfig/delete": {"id": task_id, "pushNotificationConfigId": "c1"},
    }
    for method, params in legacy.items():
        answer = await call(http, agent, rpc(method, params), as_("bob"))
        assert answer["error"]["code"] == -32001, (method, answer)
    for headers in (as_("bob"), as_("bob", **{"Last-Event-ID": last})):
        stream = await events(http, agent, rpc("tasks/resubscribe", {"id": task_id}), headers)
        assert stream[0].data is not None and stream[0].data["error"]["code"] == -32001
    v1 = {
        "GetTask": {"id": task_id},
        "CancelTask": {"id": task_id},
        "SendMessage": {
            "message": {
                "messageId": str(uuid.uuid4()),
                "role": "ROLE_USER",
                "parts": [{"text": "mine now"}],
                "taskId": task_id,
            }
        },
        "CreateTaskPushNotificationConfig": {"taskId": task_id, "url": "https://example.com/h"},
        "GetTaskPushNotificationConfig": {"taskId": task_id, "id": "c1"},
        "ListTaskPushNotificationConfigs": {"taskId": task_id},
        "DeleteTaskPushNotificationConfig": {"taskId": task_id, "id": "c1"},
    }
    for method, params in v1.items():
        answer = await call(http, agent, rpc(method, params), as_("bob", **V1))
        assert answer["error"]["code"] == -32001, (method, answer)
    subscribe = await events(http, agent, rpc("SubscribeToTask", {"id": task_id}), as_("bob", **V1))
    assert subscribe[0].data is not None and subscribe[0].data["error"]["code"] == -32001
    rest = await http.get(f"{url}/agents/progress/tasks/{task_id}", headers=as_("bob"))
    assert rest.status_code == 404
    listed = await call(http, agent, rpc("ListTasks", {}), as_("bob", **V1))
    assert task_id not in [t["id"] for t in listed["result"]["tasks"]]

    # bob's 0.2.5 message naming alice's task id makes bob's own task: alice's is untouched
    squat = await call(
        http, agent, rpc("message/send", message("steps=1", task_id=task_id)), as_("bob")
    )
    assert squat["result"]["id"] == task_id
    mine = await call(http, agent, rpc("tasks/get", {"id": task_id}), as_("alice"))
    assert mine["result"]["status"]["state"] == "working"
    assert [m["parts"][0]["text"] for m in mine["result"]["history"] if m["role"] == "user"] == [
        "steps=40 interval=0.2"
    ]
    configs = await call(
        http, agent, rpc("tasks/pushNotificationConfig/list", {"id": task_id}), as_("alice")
    )
    assert [c["pushNotificationConfig"]["id"] for c in configs["result"]] == ["c1"]
    canceled = await call(http, agent, rpc("tasks/cancel", {"id": task_id}), as_("alice"))
    assert canceled["result"]["status"]["state"] == "canceled"


async def test_a_squatted_id_does_not_capture_the_victims_message(
    http: httpx.AsyncClient, keyed: tuple[str, Path]
) -> None:
    """bob creates a task under an id he expects alice to use; alice's message with that
    id creates alice's own task, and bob never sees her message."""
    url, _ = keyed
    task_id = f"predictable-{uuid.uuid4()}"
    bob = await call(http, url, rpc("message/send", message("bait", task_id=task_id)), as_("bob"))
    assert bob["result"]["id"] == task_id
    alice = await call(
        http, url, rpc("message/send", message("secret", task_id=task_id)), as_("alice")
    )
    assert alice["result"]["status"]["state"] == "completed"
    texts = [m["parts"][0]["text"] for m in alice["result"]["history"] if m["role"] == "user"]
    assert texts == ["secret"]
    seen = await call(http, url, rpc("tasks/get", {"id": task_id}), as_("bob"))
    bob_texts = [m["parts"][0]["text"] for m in seen["result"]["history"] if m["role"] == "user"]
    assert bob_texts == ["bait"]


async def test_keys_are_added_and_revoked_without_a_restart(
    http: httpx.AsyncClient, keyed: tuple[str, Path]
) -> None:
    url, keys = keyed
    carol = "carol-key-" + "c" * 30
    write_keys(keys, {"alice": KEYS["alice"], "carol": carol})
    body = rpc("tasks/get", {"id": "x"})
    for _ in range(50):
        accepted = await http.post(url, json=body, headers={"X-API-Key": carol})
        revoked = await http.post(url, json=body, headers=as_("bob"))
        if accepted.status_code == 200 and revoked.status_code == 401:
            break
        await asyncio.sleep(0.1)
    assert accepted.status_code == 200 and accepted.json()["error"]["code"] == -32001
    assert revoked.status_code == 401


async def test_jwt_principals_are_isolated_and_bad_tokens_refused(
    http: httpx.AsyncClient, start_gateway: Callable[..., str], issuer: Issuer
) -> None:
    """A gateway process verifying tokens against a real local issuer (discovery + JWKS
    over HTTP): each ``sub`` is its own tenant; expired, foreign-audience, unsigned and
    unknown-key tokens get 401 with an RFC 6750 challenge."""
    url = start_gateway(A2A_AUTH="jwt", A2A_JWT_ISSUER=issuer.url, A2A_JWT_AUDIENCE=AUDIENCE)

    def bearer(token: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", **extra}

    alice, bob = issuer.token("k1", sub="alice|1"), issuer.token("k1", sub="bob@example.com")
    made = await call(
        http,
        url,
        rpc(
            "SendMessage",
            {
                "message": {
                    "messageId": str(uuid.uuid4()),
                    "role": "ROLE_USER",
                    "parts": [{"text": "hi"}],
                }
            },
        ),
        bearer(alice, **V1),
    )
    task_id = made["result"]["task"]["id"]
    theirs = await call(http, url, rpc("GetTask", {"id": task_id}), bearer(bob, **V1))
    assert theirs["error"]["code"] == -32001
    mine = await call(http, url, rpc("GetTask", {"id": task_id}), bearer(alice, **V1))
    assert mine["result"]["id"] == task_id
    listed = await call(http, url, rpc("ListTasks", {}), bearer(bob, **V1))
    assert task_id not in [t["id"] for t in listed["result"]["tasks"]]

    now = int(time.time())
    unsigned = jwt.encode(issuer.claims(), key=None, algorithm="none")  # type: ignore[arg-type]
    bad = {
        "expired": issuer.token("k1", exp=now - 600, iat=now - 900),
        "audience": issuer.token("k1", aud="someone-else"),
        "issuer": issuer.token("k1", iss="https://evil.example.com"),
        "unknown-kid": issuer.token("k2", key=rsa_key()),
        "alg-none": unsigned,
    }
    for name, token in bad.items():
        refused = await http.post(url, json=rpc("GetTask", {"id": task_id}), headers=bearer(token))
        assert refused.status_code == 401, (name, refused.text)
        assert 'error="invalid_token"' in refused.headers["www-authenticate"], name
        assert refused.json()["error"]["code"] == -32000, name
