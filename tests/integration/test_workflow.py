"""The task workflow on a real Temporal dev server, with a Worker per test on a fresh queue
and agents registered by name (real plug-ins, plus one that fails on purpose)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from a2a_gateway.agents.ask import AskAgent
from a2a_gateway.config import Settings
from a2a_gateway.core.contract import SIGNAL_MESSAGE, WORKFLOW_NAME, TaskInput, workflow_id
from a2a_gateway.core.states import TaskState
from a2a_gateway.models import Message, Task, TaskStatus, TextPart
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.store.keys import ANONYMOUS, TaskKeys
from a2a_gateway.worker.activities import TaskActivities
from a2a_gateway.worker.workflow import TaskWorkflow

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from a2a_gateway.agents.base import AgentContext, AgentOutput
    from a2a_gateway.devstack import Stack


class BoomAgent:
    """Fails on purpose, after one artifact chunk."""

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        from a2a_gateway.agents.base import ArtifactChunk

        yield ArtifactChunk(artifact_id="a", parts=[TextPart(text="partial")])
        raise RuntimeError("agent bug")


@pytest.fixture
async def harness(stack: Stack, redis: Redis) -> AsyncIterator[dict[str, Any]]:
    settings = Settings.from_env({})
    client = await Client.connect(stack.temporal_address)
    log = EventLog(redis, ttl_seconds=600, maxlen=1000, buckets=settings.buckets)
    activities = TaskActivities(log, {"ask": AskAgent(), "boom": BoomAgent()})
    queue = f"test-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[TaskWorkflow],
        activities=[activities.run_turn, activities.publish_final],
    ):
        yield {"client": client, "log": log, "queue": queue, "settings": settings}


def user(text: str, message_id: str) -> Message:
    return Message(message_id=message_id, role="user", parts=[TextPart(text=text)])


async def start(harness: dict[str, Any], agent: str) -> tuple[TaskKeys, Any]:
    task_id = f"wf-{uuid.uuid4()}"
    keys = harness["log"].keys(ANONYMOUS, task_id)
    first = user("hi", "m1")
    task = Task(
        id=task_id, context_id="c", status=TaskStatus(state=TaskState.SUBMITTED), history=[first]
    )
    await harness["log"].create(keys, task)
    handle = await harness["client"].start_workflow(
        WORKFLOW_NAME,
        TaskInput(ANONYMOUS, task_id, "c", agent, first.dump()),
        id=workflow_id(ANONYMOUS, task_id),
        task_queue=harness["queue"],
    )
    return keys, handle


async def wait_state(log: EventLog, keys: TaskKeys, state: TaskState) -> None:
    for _ in range(200):
        snapshot = await log.snapshot(keys)
        if snapshot is not None and snapshot.state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"task never reached {state}")


async def test_duplicate_follow_up_signals_run_one_turn(harness: dict[str, Any]) -> None:
    keys, handle = await start(harness, "ask")
    await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)
    answer = user("Ada", "m2").dump()
    await handle.signal(SIGNAL_MESSAGE, answer)
    await handle.signal(SIGNAL_MESSAGE, answer)
    await handle.signal(SIGNAL_MESSAGE, user("hi", "m1").dump())  # the first message again
    assert await handle.result() == "completed"

    snapshot = await harness["log"].snapshot(keys)
    assert [m.role for m in snapshot.task.history] == ["user", "agent", "user"]
    entries = await harness["log"].read(keys, "0-0")
    states = [json.loads(e.event).get("status", {}).get("state") for e in entries]
    assert states.count("completed") == 1
    assert states.count("working") == 2


async def test_cancel_while_waiting_for_input_publishes_canceled(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "ask")
    await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    entries = await harness["log"].read(keys, "0-0")
    last = json.loads(entries[-1].event)
    assert last["status"]["state"] == "canceled" and entries[-1].final


async def test_failing_agent_ends_task_as_failed_without_retrying(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "boom")
    assert await handle.result() == "failed"
    entries = await harness["log"].read(keys, "0-0")
    kinds = [json.loads(e.event)["kind"] for e in entries]
    assert kinds == ["task", "status-update", "artifact-update", "status-update"]
    last = json.loads(entries[-1].event)
    assert last["status"]["state"] == "failed"
    assert "agent bug" not in entries[-1].event  # no internals leak to the client
