"""Hostile clients against the task model, over real HTTP (issue 9, items 1, 4, 9, 10, 12).

Each test is an attack found against `make dev` and what must hold instead: a client's
stream position is its own, a task answers only through its agent's URL, a follow-up's
first frame is current, every frame is one line for every client, unknown ids are cheap.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.sse import Frame, events, kinds, message, rpc, step_texts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from redis.asyncio import Redis

FUTURE_ID = "99999999999999-0"
OVERSIZE_ID = "99999999999999999999-0"  # above 2^64-1: Redis itself refuses it


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as http:
        yield http


async def start_progress(client: httpx.AsyncClient, url: str, text: str) -> dict[str, Any]:
    params = message(text) | {"configuration": {"blocking": False}}
    answer = (await client.post(url, json=rpc("message/send", params))).json()
    return dict(answer["result"])


async def collect(client: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> list[Frame]:
    return await events(client, url, payload)


@pytest.mark.parametrize("bad_id", [FUTURE_ID, OVERSIZE_ID])
async def test_a_hostile_last_event_id_is_refused_and_harms_no_one(
    client: httpx.AsyncClient, gateway_url: str, bad_id: str, log_dir: Path
) -> None:
    """Item 1: the attacker holds a future or oversize id on a live task while a victim
    follows the same task and a bystander another task; both get every event."""
    url = gateway_url + "/agents/progress"
    log_before = (log_dir / "gateway.log").stat().st_size
    victim_task = await start_progress(client, url, "steps=6 interval=0.3")
    bystanders = [await start_progress(client, url, "steps=6 interval=0.3") for _ in range(4)]

    async def attack() -> list[Frame]:
        headers = {"Last-Event-ID": bad_id}
        payload = rpc("tasks/resubscribe", {"id": victim_task["id"]})
        return await events(client, url, payload, headers)

    async def follow(task_id: str) -> list[Frame]:
        return await collect(client, url, rpc("tasks/resubscribe", {"id": task_id}))

    attacks, victim, *others = await asyncio.gather(
        asyncio.gather(*(attack() for _ in range(5))),
        follow(victim_task["id"]),
        *(follow(t["id"]) for t in bystanders),
    )
    for refused in attacks:
        assert len(refused) == 1
        assert refused[0].data is not None
        assert refused[0].data["error"]["code"] == -32602, refused[0].data
    for stream in (victim, *others):
        results = [f.result for f in stream]
        assert results[-1]["status"]["state"] == "completed", kinds(stream)
        steps = step_texts(results)
        # the stream started from the snapshot; from there on every step, once, in order
        assert steps == [f"step {i}/6" for i in range(7 - len(steps), 7)]
        assert len(steps) >= 3
    logged = (log_dir / "gateway.log").read_bytes()[log_before:]
    assert b"Traceback" not in logged and b"ExceptionGroup" not in logged


async def test_an_id_beyond_the_newest_event_is_refused_even_on_a_finished_task(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    done = (await client.post(gateway_url, json=rpc("message/send", message("a b")))).json()
    headers = {"Last-Event-ID": FUTURE_ID}
    stream = await events(
        client, gateway_url, rpc("tasks/resubscribe", {"id": done["result"]["id"]}), headers
    )
    assert stream[0].data is not None
    assert stream[0].data["error"]["code"] == -32602
    assert "beyond the newest event" in stream[0].data["error"]["message"]


async def test_a_task_answers_only_through_its_own_agent(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    """Item 4: a follow-up through another agent's URL cannot reach (or complete) an `ask`
    task; every method through a foreign path says the task does not exist."""
    ask = gateway_url + "/agents/ask"
    asked = (await client.post(ask, json=rpc("message/send", message("hi")))).json()["result"]
    assert asked["status"]["state"] == "input-required"
    task_id = asked["id"]
    for foreign in (
        gateway_url + "/agents/progress",
        gateway_url + "/",
        gateway_url + "/agents/echo",
    ):
        answer = await client.post(foreign, json=rpc("message/send", message("Eve", task_id)))
        assert answer.json()["error"]["code"] == -32001, (foreign, answer.json())
        for method, params in (
            ("tasks/get", {"id": task_id}),
            ("tasks/cancel", {"id": task_id}),
        ):
            got = (await client.post(foreign, json=rpc(method, params))).json()
            assert got["error"]["code"] == -32001, (foreign, method, got)
        stream = await events(client, foreign, rpc("tasks/resubscribe", {"id": task_id}))
        assert stream[0].data is not None and stream[0].data["error"]["code"] == -32001
        streamed = await events(client, foreign, rpc("message/stream", message("Eve", task_id)))
        assert streamed[0].data is not None and streamed[0].data["error"]["code"] == -32001
    still = (await client.post(ask, json=rpc("tasks/get", {"id": task_id}))).json()["result"]
    assert still["status"]["state"] == "input-required", "nothing reached the task"
    assert [m["role"] for m in still["history"]] == ["user", "agent"]
    done = (await client.post(ask, json=rpc("message/send", message("Ada", task_id)))).json()
    assert done["result"]["artifacts"][0]["parts"][0]["text"] == "Hello, Ada!"


async def test_content_negotiation_uses_the_tasks_agent(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    """Item 4: `ask` takes text only; a data part cannot reach it through `echo`'s URL
    (which takes anything) nor through its own."""
    ask = gateway_url + "/agents/ask"
    asked = (await client.post(ask, json=rpc("message/send", message("hi")))).json()["result"]
    data = {
        "message": {
            "role": "user",
            "messageId": "m-data",
            "taskId": asked["id"],
            "parts": [{"kind": "data", "data": {"name": "Eve"}}],
        }
    }
    via_echo = (await client.post(gateway_url, json=rpc("message/send", data))).json()
    assert via_echo["error"]["code"] == -32001
    via_ask = (await client.post(ask, json=rpc("message/send", data))).json()
    assert via_ask["error"]["code"] == -32005


async def test_a_follow_up_streams_a_current_first_frame(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    """Item 9: the first frame of a follow-up `message/stream` holds the answer in its
    history and a state that is not input-required (a client would ask again)."""
    url = gateway_url + "/agents/ask"
    asked = await events(client, url, rpc("message/stream", message("hi")))
    task_id = asked[0].result["id"]
    answer = message("Grace", task_id)
    answered = await events(client, url, rpc("message/stream", answer))
    first = answered[0].result
    assert first["kind"] == "task"
    assert first["status"]["state"] == "submitted"
    assert first["history"][-1]["messageId"] == answer["message"]["messageId"]
    assert kinds(answered)[1:] == ["status:working", "artifact-update", "status:completed"]
    ids = [f.id for f in asked + answered]
    assert len(set(ids)) == len(ids), "no event repeated across the two streams"


async def test_a_retried_follow_up_changes_nothing(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/ask"
    asked = (await client.post(url, json=rpc("message/send", message("hi")))).json()["result"]
    answer = message("Lin", asked["id"])
    first, second = await asyncio.gather(
        client.post(url, json=rpc("message/send", answer)),
        client.post(url, json=rpc("message/send", answer)),
    )
    results = [first.json(), second.json()]
    assert all("result" in r for r in results), results
    task = (await client.post(url, json=rpc("tasks/get", {"id": asked["id"]}))).json()["result"]
    assert task["status"]["state"] == "completed"
    assert [m["role"] for m in task["history"]] == ["user", "agent", "user"]


LINE_BREAKERS = "a\u2028b\u2029c\x85d"


async def test_every_frame_is_one_line_for_splitlines_clients(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    """Item 10: events written by the worker carry U+2028, U+2029 and U+0085 (here, a
    data part echoed back and the message in the first Task); a client that splits the
    body with ``str.splitlines()`` still reads each frame whole."""
    params = {
        "message": {
            "role": "user",
            "messageId": "m-lines",
            "parts": [
                {"kind": "text", "text": LINE_BREAKERS},
                {"kind": "data", "data": {"note": LINE_BREAKERS}},
            ],
        }
    }
    async with client.stream("POST", gateway_url, json=rpc("message/stream", params)) as response:
        body = (await response.aread()).decode()
    lines = body.splitlines()
    data = [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: ")]
    assert all(not line or line.startswith(("id: ", "data: ", ": ")) for line in lines), lines
    assert data[-1]["result"]["status"]["state"] == "completed"
    assert data[0]["result"]["history"][0]["parts"][0]["text"] == LINE_BREAKERS
    echoed = [
        d["result"]["artifact"]["parts"][0]
        for d in data
        if d["result"]["kind"] == "artifact-update"
    ]
    assert {"kind": "data", "data": {"note": LINE_BREAKERS}} in echoed


async def test_unknown_ids_are_remembered_as_missing(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    """Item 12 over HTTP: a miss is cached in Redis (the Temporal query count is proven in
    tests/integration/test_lookups.py)."""
    answers = await asyncio.gather(
        *(client.post(gateway_url, json=rpc("tasks/get", {"id": "ghost-task"})) for _ in range(20))
    )
    assert {a.json()["error"]["code"] for a in answers} == {-32001}
    assert await redis.keys("a2a:*:miss:anonymous:ghost-task")
    assert (await client.get(gateway_url + "/healthz")).json()["status"] == "ok"
