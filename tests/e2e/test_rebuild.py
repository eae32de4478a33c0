"""Temporal is the source of truth: when Redis loses a task (eviction, failover, TTL), the
gateway and the worker rebuild it from the workflow and the client carries on.

What is rebuilt is the workflow's bounded view (id, context, agent, status with a small
message): history and artifacts live only in the event log, because nothing unbounded
crosses Temporal (claim check, docs/reliability.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.sse import Frame, events, frames, kinds, message, rpc, step_texts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        yield http


async def lose(redis: Redis, task_id: str) -> int:
    """Delete every key of the task, as an eviction or a failover would."""
    keys = await redis.keys(f"a2a:*:anonymous:{task_id}")
    assert keys
    return int(await redis.delete(*keys))


async def test_tasks_get_rebuilds_a_lost_completed_task(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    sent = await client.post(gateway_url, json=rpc("message/send", message("kept in temporal")))
    original = sent.json()["result"]
    await lose(redis, original["id"])

    rebuilt = (await client.post(gateway_url, json=rpc("tasks/get", {"id": original["id"]}))).json()
    task = rebuilt["result"]
    assert task["status"]["state"] == "completed"
    assert task["contextId"] == original["contextId"]
    assert "history" not in task and "artifacts" not in task, "only the bounded view"
    assert await redis.keys(f"a2a:*:task:anonymous:{original['id']}"), "written back to Redis"


async def test_stream_survives_losing_the_task_mid_turn(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    url = gateway_url + "/agents/progress"
    received: list[Frame] = []
    lost_at = -1
    async for frame in frames(client, url, rpc("message/stream", message("steps=5 interval=0.4"))):
        if frame.comment is not None:
            continue
        received.append(frame)
        status = frame.result.get("status", {})
        if status.get("message", {}).get("parts", [{}])[0].get("text") == "step 2/5":
            lost_at = len(received)
            await lose(redis, received[0].result["id"])
    after = received[lost_at:]
    assert after[0].result["kind"] == "task", "the restored task comes first"
    assert after[0].result["status"]["state"] == "working"
    steps = step_texts([f.result for f in received])
    assert steps == [f"step {i}/5" for i in range(1, 6)]
    assert kinds(received)[-1] == "status:completed"


async def test_lost_input_required_task_is_rebuilt_and_can_be_answered(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    url = gateway_url + "/agents/ask"
    asked = (await client.post(url, json=rpc("message/send", message("hi")))).json()["result"]
    assert asked["status"]["state"] == "input-required"
    await lose(redis, asked["id"])

    resumed = await events(client, url, rpc("tasks/resubscribe", {"id": asked["id"]}))
    assert resumed[0].result["kind"] == "task"
    assert resumed[0].result["status"]["state"] == "input-required"
    question = resumed[0].result["status"]["message"]["parts"][0]["text"]
    assert question.endswith("?"), "the status and its (small) message survive"

    answered = await client.post(url, json=rpc("message/send", message("Barbara", asked["id"])))
    task = answered.json()["result"]
    assert task["status"]["state"] == "completed"
    assert task["artifacts"][0]["parts"][0]["text"] == "Hello, Barbara!"


async def test_unknown_task_is_still_not_found(client: httpx.AsyncClient, gateway_url: str) -> None:
    answer = (await client.post(gateway_url, json=rpc("tasks/get", {"id": "never-existed"}))).json()
    assert answer["error"]["code"] == -32001
