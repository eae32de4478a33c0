"""Per-principal limits (issue 11) against the real stack: each limit of the routing file's
``limits`` section is enforced in Redis, answered with HTTP 429, ``Retry-After`` and an
error naming the limit, in every protocol version, and one principal's flood never
disturbs another principal's stream.

Each test starts its own gateway with an API-key file and a routing file whose classes
name principals unique to the test (the Redis counts are per principal and outlive a
gateway process)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from a2a_gateway.routing import BUILTIN_ROUTES
from tests.e2e.sse import events, frames, message, rpc

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

PROGRESS = "/agents/progress/"
ASK = "/agents/ask/"
V1 = {"A2A-Version": "1.0"}
HIGH = {"requestsPerSecond": 10_000, "burst": 100_000}


@dataclass(frozen=True)
class Limited:
    """A gateway whose principals ``slow`` (few requests), ``small`` (few streams,
    waits, running tasks and push configs) and ``free`` (the defaults) are unique to the
    test; ``as_(who)`` is the header that makes a request theirs."""

    url: str
    keys: dict[str, str]
    log: Path

    def as_(self, who: str, **extra: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], **extra}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0), limits=limits) as client:
        yield client


@pytest.fixture
def limited(start_gateway: Callable[..., str], tmp_path: Path) -> Limited:
    run = uuid.uuid4().hex[:12]
    principals = {who: f"{who}-{run}" for who in ("slow", "small", "free")}
    keys = {who: f"key-{who}-{run}-" + "k" * 24 for who in principals}
    entries = [
        {"sha256": hashlib.sha256(keys[who].encode()).hexdigest(), "principal": p, "name": who}
        for who, p in principals.items()
    ]
    (tmp_path / "keys.json").write_text(json.dumps({"keys": entries}))
    limits = {
        "default": HIGH,
        "classes": [
            {
                "name": "slow",
                "principals": [principals["slow"]],
                "requestsPerSecond": 1,
                "burst": 5,
            },
            {
                "name": "small",
                "principals": [principals["small"]],
                "streams": 2,
                "waits": 1,
                "runningTasks": 2,
                "pushConfigsPerTask": 2,
            },
        ],
    }
    (tmp_path / "routes.json").write_text(json.dumps({**BUILTIN_ROUTES, "limits": limits}))
    url = start_gateway(
        A2A_AUTH="apikey",
        A2A_API_KEYS_FILE=str(tmp_path / "keys.json"),
        A2A_ROUTES_FILE=str(tmp_path / "routes.json"),
        A2A_PUSH_NOTIFICATIONS="true",
    )
    return Limited(url, keys, tmp_path / "gateway.log")


def assert_limited(response: httpx.Response, limit: str) -> dict[str, Any]:
    """A 429 with ``Retry-After`` whose JSON-RPC error names ``limit``; the error."""
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == -32000
    if isinstance(error["data"], dict):  # 0.2.5/0.3
        assert error["data"]["limit"] == limit
    else:  # 1.0: a google.rpc.ErrorInfo
        assert error["data"][0]["reason"] == "RESOURCE_EXHAUSTED"
        assert error["data"][0]["metadata"]["limit"] == limit
    return error


async def test_a_flood_gets_429_while_another_principals_stream_runs_undisturbed(
    http: httpx.AsyncClient, limited: Limited
) -> None:
    """``slow`` may make 5 requests at once and 1 a second; it sends 60 at once in every
    binding. ``free``'s stream, opened before and running through the flood, delivers
    every event in order and ends completed; ``free``'s own requests all succeed."""
    url = limited.url
    steps = 15

    async def free_stream() -> list[Any]:
        body = rpc("message/stream", message(f"steps={steps} interval=0.1"))
        return await events(http, url + PROGRESS, body, limited.as_("free"))

    streaming = asyncio.create_task(free_stream())
    legacy = [
        http.post(url, json=rpc("tasks/get", {"id": "nope"}), headers=limited.as_("slow"))
        for _ in range(20)
    ]
    v1 = [
        http.post(url, json=rpc("GetTask", {"id": "nope"}), headers=limited.as_("slow", **V1))
        for _ in range(20)
    ]
    rest = [http.get(url + "/tasks/nope", headers=limited.as_("slow")) for _ in range(20)]
    free = [
        http.post(url, json=rpc("tasks/get", {"id": "nope"}), headers=limited.as_("free"))
        for _ in range(20)
    ]
    answers = await asyncio.gather(*legacy, *v1, *rest, *free)
    flood, free_answers = answers[:60], answers[60:]
    admitted = [r for r in flood if r.status_code != 429]
    refused = [r for r in flood if r.status_code == 429]
    # The burst, and what refilled at 1/s while the flood was answered.
    assert 5 <= len(admitted) <= 8, [r.status_code for r in flood]
    for response in refused:
        if "jsonrpc" in response.json():
            assert_limited(response, "requestsPerSecond")
        else:  # HTTP+JSON: a google.rpc.Status
            assert response.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
            assert int(response.headers["retry-after"]) >= 1
    assert all(r.status_code == 200 for r in free_answers)
    assert all(r.json()["error"]["code"] == -32001 for r in free_answers)
    stream = await streaming
    states = [f.result.get("status", {}).get("state") for f in stream if f.data is not None]
    artifacts = [f for f in stream if f.data is not None and f.result["kind"] == "artifact-update"]
    assert states[-1] == "completed"
    assert len(artifacts) >= 1
    working = [f for f in stream if f.data is not None and f.result.get("final") is False]
    assert len(working) >= steps  # every step's update arrived
    ids = [f.id for f in stream if f.id]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    assert "Traceback" not in limited.log.read_text()


async def test_streams_beyond_the_limit_get_429_and_a_closed_stream_frees_its_place(
    http: httpx.AsyncClient, limited: Limited
) -> None:
    agent = limited.url + PROGRESS
    opened: list[asyncio.Task[None]] = []
    first_frames: list[asyncio.Event] = []
    release = asyncio.Event()

    async def hold(headers: dict[str, str], body: dict[str, Any], seen: asyncio.Event) -> None:
        async with contextlib.aclosing(frames(http, agent, body, headers)) as stream:
            async for _ in stream:  # closed on leaving: the connection goes at once
                seen.set()
                await release.wait()
                return

    long_task = rpc("message/stream", message("steps=100 interval=0.5"))
    for _ in range(2):
        first_frames.append(asyncio.Event())
        held = hold(limited.as_("small"), long_task, first_frames[-1])
        opened.append(asyncio.create_task(held))
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in first_frames)), 30)
    third = await http.post(agent, json=long_task, headers=limited.as_("small"))
    assert_limited(third, "streams")
    v1 = await http.post(
        agent,
        json=rpc("SendStreamingMessage", {"message": v1_message("steps=1")}),
        headers=limited.as_("small", **V1),
    )
    assert_limited(v1, "streams")
    rest = await http.post(
        agent + "message:stream",
        json={"message": v1_message("steps=1")},
        headers=limited.as_("small"),
    )
    assert rest.status_code == 429 and rest.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    # another principal is not affected
    other = await events(
        http, agent, rpc("message/stream", message("steps=1")), limited.as_("free")
    )
    assert other[-1].result["status"]["state"] == "completed"
    release.set()
    await asyncio.gather(*opened)
    for _ in range(100):  # the closed streams' places come back (a lease would take 120 s)
        again = await http.post(
            agent, json=rpc("tasks/resubscribe", {"id": "x"}), headers=limited.as_("small")
        )
        if again.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert again.status_code == 200
    await cancel_running(http, limited)


async def test_running_tasks_beyond_the_limit_get_429_until_one_ends(
    http: httpx.AsyncClient, limited: Limited
) -> None:
    """``small`` may run 2 tasks; a task waiting for input does not count; a cancelled
    one frees its place."""
    agent = limited.url + PROGRESS
    nonblocking = {"configuration": {"blocking": False}}
    ids = []
    for _ in range(2):
        made = await http.post(
            agent,
            json=rpc("message/send", message("steps=100 interval=0.5") | nonblocking),
            headers=limited.as_("small"),
        )
        ids.append(made.json()["result"]["id"])
    third = await http.post(
        agent,
        json=rpc("message/send", message("steps=1") | nonblocking),
        headers=limited.as_("small"),
    )
    error = assert_limited(third, "runningTasks")
    assert error["data"]["allowed"] == 2
    # the refused task does not exist
    streamed = await http.post(
        agent, json=rpc("message/stream", message("steps=1")), headers=limited.as_("small")
    )
    assert_limited(streamed, "runningTasks")
    canceled = await http.post(
        agent, json=rpc("tasks/cancel", {"id": ids[0]}), headers=limited.as_("small")
    )
    assert canceled.json()["result"]["status"]["state"] == "canceled"
    fourth = await http.post(
        agent,
        json=rpc("message/send", message("steps=1 interval=0.1")),
        headers=limited.as_("small"),
    )
    assert fourth.status_code == 200
    assert fourth.json()["result"]["status"]["state"] == "completed"
    # an ask task waiting for input holds no place: two of them, then one more task
    asked = []
    for _ in range(2):
        reply = await http.post(
            limited.url + ASK, json=rpc("message/send", message("hi")), headers=limited.as_("small")
        )
        assert reply.json()["result"]["status"]["state"] == "input-required"
        asked.append(reply.json()["result"]["id"])
    fifth = await http.post(
        agent,
        json=rpc("message/send", message("steps=1 interval=0.1")),
        headers=limited.as_("small"),
    )
    assert fifth.json()["result"]["status"]["state"] == "completed"
    await cancel_running(http, limited)


async def test_waits_and_push_configs_beyond_the_limit_get_429(
    http: httpx.AsyncClient, limited: Limited
) -> None:
    agent = limited.url + PROGRESS
    waiting = asyncio.create_task(
        http.post(
            agent,
            json=rpc("message/send", message("steps=6 interval=0.5")),
            headers=limited.as_("small"),
        )
    )
    for _ in range(100):  # until the first send waits
        if (await http.get(limited.url + "/healthz")).json()["waits"] == 1:
            break
        await asyncio.sleep(0.05)
    second = await http.post(
        agent, json=rpc("message/send", message("steps=1")), headers=limited.as_("small")
    )
    assert_limited(second, "waits")
    cancel = await http.post(
        agent, json=rpc("tasks/cancel", {"id": "unknown"}), headers=limited.as_("small")
    )
    assert_limited(cancel, "waits")  # a cancel waits for the task too
    not_waiting = await http.post(
        agent,
        json=rpc("message/send", message("steps=1") | {"configuration": {"blocking": False}}),
        headers=limited.as_("small"),
    )
    assert not_waiting.json()["result"]["status"]["state"] == "submitted"
    assert (await waiting).json()["result"]["status"]["state"] == "completed"

    made = await http.post(
        agent,
        json=rpc("message/send", message("steps=1") | {"configuration": {"blocking": False}}),
        headers=limited.as_("small"),
    )
    task_id = made.json()["result"]["id"]
    for n in range(2):
        config = {"url": f"https://example.com/hook/{n}", "id": f"c{n}"}
        stored = await http.post(
            agent,
            json=rpc(
                "tasks/pushNotificationConfig/set",
                {"taskId": task_id, "pushNotificationConfig": config},
            ),
            headers=limited.as_("small"),
        )
        assert "result" in stored.json(), stored.text
    third = await http.post(
        agent,
        json=rpc(
            "tasks/pushNotificationConfig/set",
            {
                "taskId": task_id,
                "pushNotificationConfig": {"url": "https://example.com/h", "id": "c9"},
            },
        ),
        headers=limited.as_("small"),
    )
    assert_limited(third, "pushConfigsPerTask")
    rest = await http.post(
        agent + f"tasks/{task_id}/pushNotificationConfigs",
        json={"url": "https://example.com/h", "id": "c8"},
        headers=limited.as_("small"),
    )
    assert rest.status_code == 429 and rest.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "Traceback" not in limited.log.read_text()


def v1_message(text: str) -> dict[str, Any]:
    return {"messageId": str(uuid.uuid4()), "role": "ROLE_USER", "parts": [{"text": text}]}


async def cancel_running(http: httpx.AsyncClient, limited: Limited) -> None:
    """Cancel what ``small`` left running, so the shared worker is not kept busy."""
    listed = await http.post(
        limited.url + PROGRESS,
        json=rpc("ListTasks", {"status": "TASK_STATE_WORKING"}),
        headers=limited.as_("small", **V1),
    )
    for task in listed.json()["result"]["tasks"]:
        await http.post(
            limited.url + PROGRESS,
            json=rpc("tasks/cancel", {"id": task["id"]}),
            headers=limited.as_("small"),
        )


async def test_an_idle_stream_whose_client_leaves_gives_its_place_back_at_once(
    http: httpx.AsyncClient, limited: Limited
) -> None:
    """A stream waiting for events ends by cancellation when its client leaves; its lease
    is released all the same (shielded), not left taken until it expires. Three rounds of
    two idle streams, with a limit of two: a leaked place refuses the next round (429)."""
    agent = limited.url + PROGRESS
    made = await http.post(
        agent,
        json=rpc(
            "message/send", message("steps=2 interval=30") | {"configuration": {"blocking": False}}
        ),
        headers=limited.as_("small"),
    )
    task_id = made.json()["result"]["id"]
    body = rpc("tasks/resubscribe", {"id": task_id})
    for _ in range(3):
        async with asyncio.timeout(10):
            for _ in range(2):
                stream = frames(http, agent, body, limited.as_("small"))
                async with contextlib.aclosing(stream):
                    async for frame in stream:
                        if frame.comment is not None:  # idle: only keep-alives now
                            break
        for _ in range(50):  # the gateway notices the clients left
            streams = (await http.get(limited.url + "/healthz")).json()["streams"]
            if streams == 0:
                break
            await asyncio.sleep(0.1)
        assert streams == 0  # the last round has no next round to be refused
    await http.post(agent, json=rpc("tasks/cancel", {"id": task_id}), headers=limited.as_("small"))
