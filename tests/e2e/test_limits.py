"""Stream limits over real HTTP: the Lambda deadline, per-process capacity, and many
disconnects leaving nothing behind."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from a2a_gateway.gateway.quota import RELEASES_AT_ONCE
from tests.e2e.sse import Frame, events, frames, kinds, message, rpc, step_texts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from redis.asyncio import Redis


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        yield http


async def raw_lines(client: httpx.AsyncClient, url: str, body: dict, headers: dict) -> list[str]:
    async with client.stream("POST", url, json=body, headers=headers) as response:
        return [line async for line in response.aiter_lines()]


async def test_stream_ends_before_lambda_deadline_and_resumes_exactly(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/progress"
    # The adapter's context says the invocation ends in 11.5 s; the margin is 10 s.
    context = {"deadline": int((time.time() + 11.5) * 1000), "request_id": "r-1"}
    headers = {"x-amzn-lambda-context": json.dumps(context)}
    started = time.monotonic()
    lines = await raw_lines(
        client, url, rpc("message/stream", message("steps=8 interval=0.4")), headers
    )
    took = time.monotonic() - started
    assert took < 5, "the stream ended near its deadline, not at the task's end"
    first = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    ids = [line[3:].strip() for line in lines if line.startswith("id:")]
    assert "retry: 1000" in lines
    assert first[-1]["result"].get("final") is not True, "ended early, before the task"
    last_id = ids[-1]  # the resume frame repeats the last delivered id
    assert last_id == ids[-2]
    task_id = first[0]["result"]["id"]

    rest = await events(
        client, url, rpc("tasks/resubscribe", {"id": task_id}), headers={"Last-Event-ID": last_id}
    )
    everything = [d["result"] for d in first] + [f.result for f in rest]
    steps = step_texts(everything)
    assert steps == [f"step {i}/8" for i in range(1, 9)]
    assert everything[-1]["status"]["state"] == "completed"
    assert len({f.id for f in rest} | set(ids)) == len(rest) + len(set(ids))


async def test_max_stream_seconds_applies_without_lambda(
    client: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    url = start_gateway(A2A_MAX_STREAM_SECONDS="1") + "/agents/progress"
    lines = await raw_lines(client, url, rpc("message/stream", message("steps=3 interval=1")), {})
    assert "retry: 1000" in lines
    assert any(line.startswith(": stream deadline reached") for line in lines)


async def test_capacity_refuses_new_streams_with_503_and_keeps_old_ones(
    client: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    base = start_gateway(A2A_MAX_STREAMS="2")
    url = base + "/agents/progress"
    long_task = rpc("message/stream", message("steps=4 interval=0.5"))
    received: list[list[Frame]] = [[], []]
    opened = asyncio.Event()

    async def hold(index: int) -> None:
        async for frame in frames(client, url, long_task):
            if frame.comment is None:
                received[index].append(frame)
                if len(received[0]) and len(received[1]):
                    opened.set()

    holders = [asyncio.create_task(hold(i)) for i in range(2)]
    await asyncio.wait_for(opened.wait(), 10)
    refused = await client.post(url, json=rpc("message/stream", message("steps=1"), 7))
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    body = refused.json()
    assert body["id"] == 7 and body["error"]["code"] == -32603
    assert "maximum of 2 streams" in body["error"]["message"]
    plain = await client.post(url, json=rpc("tasks/get", {"id": "nope"}))
    assert plain.json()["error"]["code"] == -32001, "non-streaming calls are not limited"

    await asyncio.gather(*holders)
    for stream in received:
        assert kinds(stream)[-1] == "status:completed"
    again = await events(client, base, rpc("message/stream", message("room again")))
    assert kinds(again)[-1] == "status:completed"
    assert (await client.get(base + "/healthz")).json()["streams"] == 0


async def test_a_thousand_disconnects_leave_nothing_behind(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    url = gateway_url + "/agents/progress"
    task = await client.post(
        url,
        json=rpc(
            "message/send", message("steps=1 interval=60") | {"configuration": {"blocking": False}}
        ),
    )
    task_id = task.json()["result"]["id"]
    clients_before = len(await redis.client_list())

    async def open_and_drop() -> None:
        async for frame in frames(client, url, rpc("tasks/resubscribe", {"id": task_id})):
            assert frame.comment is not None or frame.result["kind"] == "task"
            break

    for _ in range(20):
        await asyncio.gather(*(open_and_drop() for _ in range(50)))
    for _ in range(50):
        health = (await client.get(gateway_url + "/healthz")).json()
        if health["streams"] == 0:
            break
        await asyncio.sleep(0.1)
    assert health["streams"] == 0
    clients_after = len(await redis.client_list())
    # At most one pooled connection per concurrent request of a batch of 50, the releases of
    # the streams' places (at most RELEASES_AT_ONCE in flight), the hub's reader and its wake
    # connection: nothing that grows with the 1000 streams.
    bound = clients_before + 50 + RELEASES_AT_ONCE + 2
    assert clients_after <= bound, (clients_before, clients_after)
    for _ in range(50):  # the hub's reader is cancelled as its last subscriber leaves
        blocked = [c for c in await redis.client_list() if "b" in c.get("flags", "")]
        if not blocked:
            break
        await asyncio.sleep(0.1)
    assert blocked == []
    await client.post(url, json=rpc("tasks/cancel", {"id": task_id}))
