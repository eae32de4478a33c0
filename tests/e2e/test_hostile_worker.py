"""Requests that used to wedge or starve the worker, over real HTTP against the whole
stack: a message at the body limit, a 100-turn conversation, megabytes of output from one
turn, a flood of long tasks on one agent, and the log a cancelled turn leaves."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from temporalio.client import Client

from a2a_gateway.config import Settings
from a2a_gateway.core.contract import workflow_id
from a2a_gateway.store.keys import ANONYMOUS
from tests.e2e.agents import artifact_text, report_text
from tests.e2e.sse import message, rpc

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import httpx

    from a2a_gateway_dev.devstack import Stack

FLOOD = 100
MAX_BODY_BYTES = Settings().max_body_bytes
MAX_HISTORY_BYTES = 64 * 1024


async def call(http: httpx.AsyncClient, url: str, body: Any) -> Any:
    """POST a JSON-RPC request (or batch) and return the decoded answer."""
    response = await http.post(url, json=body, timeout=60.0)
    assert response.status_code == 200, response.text[:500]
    return response.json()


async def send(http: httpx.AsyncClient, url: str, params: dict[str, Any]) -> dict[str, Any]:
    """``message/send`` (blocking); the task it returns."""
    answer = await call(http, url, rpc("message/send", params))
    assert "result" in answer, answer
    result: dict[str, Any] = answer["result"]
    return result


def artifact_texts(task: dict[str, Any]) -> dict[str, str]:
    """Each artifact's text, by artifact id."""
    return {
        a["artifactId"]: "".join(p.get("text", "") for p in a["parts"])
        for a in task.get("artifacts", [])
    }


def status_text(task: dict[str, Any]) -> str:
    parts = task["status"].get("message", {}).get("parts", [])
    return "".join(p.get("text", "") for p in parts)


async def test_message_just_under_the_body_limit_of_emoji_completes(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    def body(count: int) -> bytes:
        """A message/send of ``count`` parrots (4 bytes each in UTF-8, 12 as JSON escapes),
        in words of 20 000 so that echo answers in a few chunks."""
        text = " ".join("🦜" * min(20_000, count - i) for i in range(0, count, 20_000))
        return json.dumps(rpc("message/send", message(text), "1"), ensure_ascii=False).encode()

    count = MAX_BODY_BYTES // 4
    while len(body(count)) > MAX_BODY_BYTES - 16:
        count -= 1
    payload = body(count)
    assert MAX_BODY_BYTES - 64 < len(payload) <= MAX_BODY_BYTES
    text = json.loads(payload)["params"]["message"]["parts"][0]["text"]
    response = await http.post(
        gateway_url + "/agents/echo",
        content=payload,
        headers={"content-type": "application/json"},
        timeout=60.0,
    )
    assert response.status_code == 200, response.text[:500]
    task = response.json()["result"]
    assert task["status"]["state"] == "completed", task["status"]
    assert artifact_texts(task)["echo"] == text


async def test_a_hundred_turn_conversation_completes(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    url = gateway_url + "/agents/ask"
    task = await send(http, url, message("rounds=100"))
    task_id = task["id"]
    for number in range(1, 101):
        assert task["status"]["state"] == "input-required", task["status"]
        assert f"question {number} of 100" in status_text(task)
        task = await send(http, url, message(f"Ada {number}", task_id=task_id))
    assert task["status"]["state"] == "completed", task["status"]
    assert artifact_texts(task) == {"answer": "Hello, Ada 100!"}


async def test_megabytes_of_output_from_one_turn_arrive_intact(
    http: httpx.AsyncClient,
    stack: Stack,
    start_gateway: Callable[..., str],
    tmp_path: Path,
) -> None:
    chunks, chunk_size, reports, report_size = 16, 256 * 1024, 3, 512 * 1024
    routes = tmp_path / "routes.json"
    agent = {
        "name": "big",
        "entrypoint": "tests.e2e.agents:BigOutputAgent",
        "taskQueue": f"hostile-big-{uuid.uuid4()}",
        "options": {
            "chunks": chunks,
            "chunk_size": chunk_size,
            "reports": reports,
            "report_size": report_size,
        },
        "maxConcurrentTurns": 2,
        "turnAttempts": 2,
    }
    routes.write_text(json.dumps({"agents": [agent]}))
    worker = stack.worker(env={"A2A_ROUTES_FILE": str(routes)}, name="worker-big")
    worker.start(tmp_path)
    try:
        url = start_gateway(A2A_ROUTES_FILE=str(routes)) + "/agents/big"
        task = await send(http, url, message("go"))
        assert task["status"]["state"] == "completed", task["status"]
        big = artifact_texts(task)["big"]
        expected = artifact_text(chunks, chunk_size)
        assert len(big) == chunks * chunk_size
        assert hashlib.sha256(big.encode()).digest() == hashlib.sha256(expected.encode()).digest()
        reported = [
            "".join(p.get("text", "") for p in m["parts"])
            for m in task["history"]
            if m["role"] == "agent"
        ]
        assert reported == [report_text(i, report_size) for i in range(reports)]

        # The workflow has ended too, and none of those megabytes went through Temporal.
        temporal = await Client.connect(stack.temporal_address)
        handle = temporal.get_workflow_handle(workflow_id(ANONYMOUS, task["id"]))
        assert await asyncio.wait_for(handle.result(), 30) == "completed"
        history = await handle.fetch_history()
        size = sum(event.ByteSize() for event in history.events)
        assert size < MAX_HISTORY_BYTES, f"workflow history is {size} bytes"
    finally:
        worker.stop()


async def test_a_flood_of_long_tasks_on_one_agent_does_not_delay_another(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    flood_url = gateway_url + "/agents/progress"
    batch = [
        rpc(
            "message/send",
            {**message("steps=10000 interval=3600"), "configuration": {"blocking": False}},
        )
        for _ in range(FLOOD)
    ]
    answers = await call(http, flood_url, batch)
    task_ids = [a["result"]["id"] for a in answers]
    assert len(task_ids) == FLOOD, answers[:3]
    try:
        await asyncio.sleep(1.0)  # let the flood take its worker slots
        started = time.monotonic()
        task = await send(http, gateway_url + "/agents/echo", message("still served"))
        took = time.monotonic() - started
        assert task["status"]["state"] == "completed", task["status"]
        assert artifact_texts(task)["echo"] == "still served"
        assert took < 20, f"echo took {took:.1f}s behind the flood"
    finally:
        cancels = [rpc("tasks/cancel", {"id": task_id}) for task_id in task_ids]
        answers = await call(http, flood_url, cancels)
    states = [a.get("result", {}).get("status", {}).get("state") for a in answers]
    assert states == ["canceled"] * FLOOD, answers[:3]


async def test_a_cancelled_turn_leaves_no_traceback_in_the_worker_log(
    http: httpx.AsyncClient, gateway_url: str, stack: Stack
) -> None:
    log_path = stack.log_dir / "worker.log"
    offset = log_path.stat().st_size
    url = gateway_url + "/agents/progress"
    params = {**message("steps=100 interval=0.2"), "configuration": {"blocking": False}}
    task_id = (await send(http, url, params))["id"]
    for _ in range(100):
        task = (await call(http, url, rpc("tasks/get", {"id": task_id})))["result"]
        if "step 2/100" in status_text(task):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"the task never reached step 2: {task['status']}")
    answer = await call(http, url, rpc("tasks/cancel", {"id": task_id}))
    assert answer["result"]["status"]["state"] == "canceled", answer
    # Stopped by Temporal's cancellation, or at its next event, which the log refuses once
    # the task is canceled (whichever comes first): one INFO line either way.
    line = f"task {task_id}: turn 0 stopped: "
    appended = ""
    for _ in range(50):  # the worker logs the end of the turn within a moment
        with log_path.open("rb") as log:
            log.seek(offset)
            appended = log.read().decode(errors="replace")
        if line in appended or "Traceback" in appended:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # and anything the SDK logs after it
    with log_path.open("rb") as log:
        log.seek(offset)
        appended = log.read().decode(errors="replace")
    assert "Traceback" not in appended, appended[-4000:]
    assert "CancelledError" not in appended, appended[-4000:]
    assert line in appended, appended[-2000:]  # one INFO line for the expected event


async def test_a_cancel_right_after_the_start_is_never_lost(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    """A cancel requested as the turn starts can miss the activity (Temporal delivers it on
    heartbeats); the task must end canceled all the same, at once, and stay canceled. Before
    the fix about 1 cancel in 5 of these was answered ``working`` after 10 s and the task
    then completed."""
    url = gateway_url + "/agents/progress"

    async def start_and_cancel(delay: float) -> tuple[str, str, float]:
        params = {**message("steps=40 interval=0.25"), "configuration": {"blocking": False}}
        task_id = (await send(http, url, params))["id"]
        await asyncio.sleep(delay)
        started = time.monotonic()
        answer = await call(http, url, rpc("tasks/cancel", {"id": task_id}))
        return task_id, answer["result"]["status"]["state"], time.monotonic() - started

    outcomes = []
    for _ in range(6):
        outcomes += await asyncio.gather(*(start_and_cancel(d) for d in (0.0, 0.05, 0.2, 0.6)))
    assert [state for _, state, _ in outcomes] == ["canceled"] * len(outcomes), outcomes
    await asyncio.sleep(1.5)  # a turn that missed the cancel would publish meanwhile
    for task_id, _, _ in outcomes:
        task = (await call(http, url, rpc("tasks/get", {"id": task_id})))["result"]
        assert task["status"]["state"] == "canceled", task["status"]
