"""The stream path over real HTTP: gateway process, worker process, Valkey, Temporal."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.sse import Frame, events, frames, kinds, message, rpc, step_texts

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

ENTRY_ID = r"^\d+-\d+$"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        yield http


def _ids(stream: list[Frame]) -> list[tuple[int, int]]:
    out = []
    for frame in stream:
        assert frame.id is not None
        ms, seq = frame.id.split("-")
        out.append((int(ms), int(seq)))
    return out


async def test_echo_streams_task_then_chunks_then_completed(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    request = rpc("message/stream", message("hello streaming world"), request_id=42)
    stream = await events(client, gateway_url + "/", request)

    assert kinds(stream) == [
        "task",
        "status:working",
        "artifact-update",
        "artifact-update",
        "artifact-update",
        "status:completed",
    ]
    for frame in stream:
        assert frame.data is not None
        assert frame.data["jsonrpc"] == "2.0"
        assert frame.data["id"] == 42
        assert "error" not in frame.data
    ids = _ids(stream)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    task = stream[0].result
    assert task["status"]["state"] == "submitted"
    assert task["history"][0]["parts"][0]["text"] == "hello streaming world"
    chunks = [f.result for f in stream if f.result["kind"] == "artifact-update"]
    assert "".join(c["artifact"]["parts"][0]["text"] for c in chunks) == "hello streaming world"
    assert [c["append"] for c in chunks] == [False, True, True]
    assert [c["lastChunk"] for c in chunks] == [False, False, True]
    assert all(c["taskId"] == task["id"] and c["contextId"] == task["contextId"] for c in chunks)
    assert stream[-1].result["final"] is True
    assert all(f.result.get("final") is False for f in stream[1:-1] if "final" in f.result)


async def test_tasks_get_after_stream_has_folded_artifact(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    stream = await events(client, gateway_url, rpc("message/stream", message("a b c d")))
    task_id = stream[0].result["id"]

    response = await client.post(gateway_url, json=rpc("tasks/get", {"id": task_id}))
    task = response.json()["result"]
    assert task["status"]["state"] == "completed"
    assert task["artifacts"] == [
        {
            "artifactId": "echo",
            "name": "echo",
            "parts": [{"kind": "text", "text": t} for t in ["a", " b", " c", " d"]],
        }
    ]
    assert [m["role"] for m in task["history"]] == ["user"]


async def test_progress_reports_each_step_with_heartbeats(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/progress"
    received = [
        f async for f in frames(client, url, rpc("message/stream", message("steps=3 interval=0.7")))
    ]
    data = [f for f in received if f.comment is None]
    assert kinds(data) == [
        "task",
        "status:working",
        "status:working",
        "status:working",
        "status:working",
        "artifact-update",
        "status:completed",
    ]
    texts = step_texts([f.result for f in data])
    assert texts == ["step 1/3", "step 2/3", "step 3/3"]
    # Steps are 0.7 s apart and the gateway's heartbeat is 0.5 s: idle gaps get comments.
    assert any(f.comment == "keep-alive" for f in received)


async def test_ask_goes_input_required_then_completes_with_streamed_answer(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/ask"
    first = await events(client, url, rpc("message/stream", message("hi")))
    assert kinds(first) == ["task", "status:working", "status:input-required"]
    assert first[-1].result["final"] is True
    question = first[-1].result["status"]["message"]
    assert question["role"] == "agent" and question["parts"][0]["text"].endswith("?")
    task_id = first[0].result["id"]

    second = await events(client, url, rpc("message/stream", message("Ada", task_id=task_id)))
    assert kinds(second) == ["task", "status:working", "artifact-update", "status:completed"]
    # the first frame already reflects the answer (issue 9, item 9)
    assert second[0].result["status"]["state"] == "submitted"
    assert second[0].result["history"][-1]["parts"][0]["text"] == "Ada"
    assert second[2].result["artifact"]["parts"][0]["text"] == "Hello, Ada!"
    assert _ids(first)[-1] < _ids(second)[1]

    task = (await client.post(url, json=rpc("tasks/get", {"id": task_id}))).json()["result"]
    assert [m["role"] for m in task["history"]] == ["user", "agent", "user"]
    assert task["history"][-1]["parts"][0]["text"] == "Ada"


async def test_ask_follow_up_with_message_send(client: httpx.AsyncClient, gateway_url: str) -> None:
    url = gateway_url + "/agents/ask"
    first = (await client.post(url, json=rpc("message/send", message("hi")))).json()["result"]
    assert first["status"]["state"] == "input-required"

    answer = await client.post(url, json=rpc("message/send", message("Grace", task_id=first["id"])))
    task = answer.json()["result"]
    assert task["status"]["state"] == "completed"
    assert task["artifacts"][0]["parts"][0]["text"] == "Hello, Grace!"


async def test_message_send_blocking_and_non_blocking(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    blocking = await client.post(gateway_url, json=rpc("message/send", message("one two")))
    task = blocking.json()["result"]
    assert task["kind"] == "task" and task["status"]["state"] == "completed"
    assert len(task["artifacts"][0]["parts"]) == 2

    params = message("steps=2 interval=0.3") | {"configuration": {"blocking": False}}
    quick = await client.post(gateway_url + "/agents/progress", json=rpc("message/send", params))
    task = quick.json()["result"]
    assert task["status"]["state"] == "submitted"
    stream = await events(
        client, gateway_url + "/agents/progress", rpc("tasks/resubscribe", {"id": task["id"]})
    )
    assert stream[-1].result["status"]["state"] == "completed"


async def test_history_length_trims_get_and_send(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/ask"
    first = (await client.post(url, json=rpc("message/send", message("hi")))).json()["result"]
    params = message("Alan", task_id=first["id"]) | {"configuration": {"historyLength": 1}}
    sent = (await client.post(url, json=rpc("message/send", params))).json()["result"]
    assert [m["parts"][0]["text"] for m in sent["history"]] == ["Alan"]

    full = await client.post(url, json=rpc("tasks/get", {"id": first["id"]}))
    assert len(full.json()["result"]["history"]) == 3
    none = await client.post(url, json=rpc("tasks/get", {"id": first["id"], "historyLength": 0}))
    assert none.json()["result"]["history"] == []
    two = await client.post(url, json=rpc("tasks/get", {"id": first["id"], "historyLength": 2}))
    assert [m["role"] for m in two.json()["result"]["history"]] == ["agent", "user"]


async def test_cancel_mid_stream_ends_stream_with_canceled(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/progress"
    received: list[Frame] = []
    cancel_response: dict[str, object] = {}
    stream = frames(client, url, rpc("message/stream", message("steps=50 interval=0.2")))
    async for frame in stream:
        if frame.comment is not None:
            continue
        received.append(frame)
        texts = frame.result.get("status", {}).get("message", {}).get("parts", [{}])
        if texts[0].get("text") == "step 2/50":
            task_id = received[0].result["id"]
            response = await client.post(url, json=rpc("tasks/cancel", {"id": task_id}))
            cancel_response = response.json()
    assert cancel_response["result"]["status"]["state"] == "canceled"  # type: ignore[index]
    assert received[-1].result["status"]["state"] == "canceled"
    assert received[-1].result["final"] is True
    steps = [f for f in received if "message" in f.result.get("status", {})]
    assert len(steps) < 50

    again = await client.post(url, json=rpc("tasks/cancel", {"id": received[0].result["id"]}))
    assert again.json()["error"]["code"] == -32002


async def test_resubscribe_resumes_after_every_position(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    stream = await events(client, gateway_url, rpc("message/stream", message("one two three four")))
    task_id = stream[0].result["id"]
    assert len(stream) == 7
    for index, frame in enumerate(stream):
        assert frame.id is not None
        resumed = await events(
            client,
            gateway_url,
            rpc("tasks/resubscribe", {"id": task_id}),
            headers={"Last-Event-ID": frame.id},
        )
        assert [(f.id, f.result) for f in resumed] == [
            (f.id, f.result) for f in stream[index + 1 :]
        ]


async def test_resubscribe_without_last_event_id_starts_with_snapshot(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    stream = await events(client, gateway_url, rpc("message/stream", message("x y")))
    resumed = await events(
        client, gateway_url, rpc("tasks/resubscribe", {"id": stream[0].result["id"]})
    )
    assert len(resumed) == 1
    assert resumed[0].result["kind"] == "task"
    assert resumed[0].result["status"]["state"] == "completed"
    assert resumed[0].id == stream[-1].id


async def test_second_client_joins_live_stream_midway_and_loses_nothing(
    client: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/progress"
    first: list[Frame] = []
    joined: asyncio.Task[list[Frame]] | None = None
    async for frame in frames(client, url, rpc("message/stream", message("steps=4 interval=0.3"))):
        if frame.comment is not None:
            continue
        first.append(frame)
        if len(first) == 3:
            joined = asyncio.create_task(
                events(
                    client,
                    url,
                    rpc("tasks/resubscribe", {"id": first[0].result["id"]}),
                    headers={"Last-Event-ID": str(frame.id)},
                )
            )
    assert joined is not None
    second = await joined
    assert [(f.id, f.result) for f in second] == [(f.id, f.result) for f in first[3:]]
    assert second[-1].result["status"]["state"] == "completed"


async def test_retried_message_send_with_same_task_id_runs_once(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    task_id = f"retry-{uuid.uuid4()}"
    params = message("same words again", task_id=task_id, message_id=f"m-{task_id}")
    first = (await client.post(gateway_url, json=rpc("message/send", params))).json()["result"]
    second = (await client.post(gateway_url, json=rpc("message/send", params))).json()["result"]
    assert first["id"] == second["id"] == task_id
    assert first == second
    assert len(second["history"]) == 1
    keys = await redis.keys(f"a2a:*:events:anonymous:{task_id}")
    assert len(keys) == 1
    assert await redis.xlen(keys[0]) == 1 + 1 + 3 + 1  # task, working, 3 chunks, completed

    # A new message to the completed task is refused.
    other = message("more", task_id=task_id)
    refused = (await client.post(gateway_url, json=rpc("message/send", other))).json()
    assert refused["error"]["code"] == -32602
    assert "terminal state" in refused["error"]["message"]


async def test_client_disconnect_releases_the_server_side_reader(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    async def blocked_readers() -> int:
        clients = await redis.client_list()
        return sum(1 for c in clients if c.get("cmd") == "xread" and "b" in c.get("flags", ""))

    url = gateway_url + "/agents/progress"
    baseline = await blocked_readers()
    during = -1
    async for frame in frames(client, url, rpc("message/stream", message("steps=1 interval=20"))):
        if frame.comment is None and frame.result["kind"] == "status-update":
            await asyncio.sleep(0.3)
            during = await blocked_readers()
            break  # leaving the context closes the connection
    assert during == baseline + 1
    for _ in range(10):
        await asyncio.sleep(0.1)
        if await blocked_readers() == baseline:
            break
    assert await blocked_readers() == baseline


async def test_agent_card_and_health(client: httpx.AsyncClient, gateway_url: str) -> None:
    card = (await client.get(gateway_url + "/.well-known/agent.json")).json()
    assert card["name"] == "echo" and card["url"] == gateway_url + "/"
    assert card["capabilities"]["streaming"] is True
    progress = (await client.get(gateway_url + "/agents/progress/.well-known/agent.json")).json()
    assert progress["url"] == gateway_url + "/agents/progress/"
    missing = await client.get(gateway_url + "/agents/nope/.well-known/agent.json")
    assert missing.status_code == 404
    health = await client.get(gateway_url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_resubscribe_from_a_trimmed_id_starts_with_snapshot(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    url = gateway_url + "/agents/progress"
    first: list[Frame] = []
    resumed: list[Frame] = []
    async for frame in frames(client, url, rpc("message/stream", message("steps=3 interval=0.3"))):
        if frame.comment is not None:
            continue
        first.append(frame)
        if len(first) == 3:  # task, working, step 1: now lose the oldest events
            task_id = first[0].result["id"]
            (key,) = await redis.keys(f"a2a:*:events:anonymous:{task_id}")
            await redis.xtrim(key, minid=str(frame.id), approximate=False)
            resumed = await events(
                client,
                url,
                rpc("tasks/resubscribe", {"id": task_id}),
                headers={"Last-Event-ID": str(first[1].id)},
            )
    snapshot = resumed[0]
    assert snapshot.result["kind"] == "task"
    assert snapshot.result["status"]["state"] in ("working", "completed")
    ids = [f.id for f in first]
    assert snapshot.id in ids
    after = first[ids.index(snapshot.id) + 1 :]
    assert [(f.id, f.result) for f in resumed[1:]] == [(f.id, f.result) for f in after]
    assert resumed[-1].result["status"]["state"] == "completed"
