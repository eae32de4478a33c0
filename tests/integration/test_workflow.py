"""The task workflow on a real Temporal dev server, with a Worker per test on a fresh queue
and agents registered by name (real plug-ins, plus test agents that fail or grow on
purpose). The task is created in Redis first, with its first message as history[0], and
follow-ups are accepted into the log before the workflow is signalled, as the gateway
does."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from temporalio.client import Client, WorkflowFailureError

from a2a_gateway.agents.ask import AskAgent
from a2a_gateway.agents.base import ArtifactChunk, Status
from a2a_gateway.agents.progress import ProgressAgent
from a2a_gateway.config import Settings
from a2a_gateway.core.contract import (
    MAX_VIEW_STATUS_BYTES,
    SIGNAL_MESSAGE,
    WORKFLOW_NAME,
    MessageRef,
    TaskInput,
    TaskView,
    TurnPolicy,
    workflow_id,
)
from a2a_gateway.core.states import TaskState
from a2a_gateway.models import Message, Task, TaskStatus, TextPart
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.store.keys import ANONYMOUS, TaskKeys
from a2a_gateway.worker.activities import RedisTaskActivities
from a2a_gateway.worker.main import task_worker
from a2a_gateway.worker.workflow import AGENT_FAILED_TEXT, TaskWorkflow

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis
    from temporalio.client import WorkflowHandle

    from a2a_gateway.agents.base import Agent, AgentContext, AgentOutput
    from a2a_gateway_dev.devstack import Stack

BIG_ARTIFACT_BYTES = 3 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
MAX_HISTORY_BYTES = 64 * 1024


class BoomAgent:
    """Fails on purpose, after one artifact chunk, every time; counts its attempts."""

    def __init__(self) -> None:
        self.runs = 0

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        self.runs += 1
        yield ArtifactChunk(artifact_id="a", parts=[TextPart(text="partial")])
        raise RuntimeError("agent bug")


class BigAgent:
    """Turn 0: a 3 MB artifact in chunks, then a question far over the view's bound.
    Turn 1: completes."""

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        if context.turn > 0:
            return
        chunks = BIG_ARTIFACT_BYTES // CHUNK_BYTES
        for index in range(chunks):
            yield ArtifactChunk(
                artifact_id="big",
                parts=[TextPart(text=str(index % 10) * CHUNK_BYTES)],
                append=index > 0,
                last_chunk=index == chunks - 1,
            )
        yield Status(TaskState.INPUT_REQUIRED, text="?" * (4 * MAX_VIEW_STATUS_BYTES))


@pytest.fixture
async def harness(stack: Stack, redis: Redis) -> AsyncIterator[dict[str, Any]]:
    settings = Settings.from_env({})
    client = await Client.connect(stack.temporal_address)
    log = EventLog(redis, ttl_seconds=600, maxlen=1000, buckets=settings.buckets)
    boom = BoomAgent()
    agents: dict[str, Agent] = {
        "ask": AskAgent(),
        "boom": boom,
        "big": BigAgent(),
        "progress": ProgressAgent(),
    }
    queue = f"test-{uuid.uuid4()}"
    async with task_worker(client, queue, RedisTaskActivities(log, agents), 10):
        yield {"client": client, "log": log, "queue": queue, "boom": boom}


def user(text: str, message_id: str) -> Message:
    return Message(message_id=message_id, role="user", parts=[TextPart(text=text)])


async def start(
    harness: dict[str, Any],
    agent: str,
    text: str = "hi",
    policy: TurnPolicy | None = None,
    *,
    create: bool = True,
) -> tuple[TaskKeys, WorkflowHandle[Any, Any]]:
    """Create the task in Redis (history[0] = the first message), then start its workflow
    with a reference to that message, as the gateway does."""
    task_id = f"wf-{uuid.uuid4()}"
    keys = harness["log"].keys(ANONYMOUS, task_id)
    first = user(text, "m1")
    task = Task(
        id=task_id, context_id="c", status=TaskStatus(state=TaskState.SUBMITTED), history=[first]
    )
    if create:
        await harness["log"].create(keys, task, agent=agent)
    handle = await harness["client"].start_workflow(
        WORKFLOW_NAME,
        TaskInput(
            ANONYMOUS,
            task_id,
            "c",
            agent,
            "m1",
            len(first.model_dump_json()),
            policy or TurnPolicy(),
        ),
        id=workflow_id(ANONYMOUS, task_id),
        task_queue=harness["queue"],
    )
    return keys, handle


async def answer(
    harness: dict[str, Any], keys: TaskKeys, handle: WorkflowHandle[Any, Any], message: Message
) -> MessageRef:
    """Accept a follow-up into the log, then signal a reference to it (the gateway's way)."""
    accepted = await harness["log"].accept(keys, message, "c")
    assert accepted.appended, accepted
    ref = MessageRef(message.message_id, accepted.seq, len(message.model_dump_json()))
    await handle.signal(SIGNAL_MESSAGE, ref)
    return ref


async def wait_state(log: EventLog, keys: TaskKeys, state: TaskState, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.05)):
        snapshot = await log.snapshot(keys)
        if snapshot is not None and snapshot.state == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"task never reached {state}")


async def statuses(log: EventLog, keys: TaskKeys) -> list[dict[str, Any]]:
    """The status of every status-update event, in order."""
    events = [json.loads(e.event) for e in await log.read(keys, "0-0")]
    return [e["status"] for e in events if e["kind"] == "status-update"]


def text_of(status: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in status.get("message", {}).get("parts", []))


async def test_duplicate_follow_up_signals_run_one_turn(harness: dict[str, Any]) -> None:
    keys, handle = await start(harness, "ask")
    await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)
    ref = await answer(harness, keys, handle, user("Ada", "m2"))
    await handle.signal(SIGNAL_MESSAGE, ref)
    await handle.signal(SIGNAL_MESSAGE, MessageRef("m1", 0))  # the first message again
    assert await handle.result() == "completed"

    snapshot = await harness["log"].snapshot(keys)
    assert [m.role for m in snapshot.task.history] == ["user", "agent", "user"]
    assert snapshot.task.artifacts[0].parts[0].text == "Hello, Ada!"
    states = [s["state"] for s in await statuses(harness["log"], keys)]
    # The follow-up's own event (seq N, from the accept) is followed by the next turn's
    # "working" at N+1: the turn starts after the accepted sequence number.
    assert states == ["working", "input-required", "submitted", "working", "completed"]


async def test_long_conversation_keeps_sequence_numbers_after_each_follow_up(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "ask", "rounds=3")
    for number in (1, 2, 3):
        await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)
        last = (await statuses(harness["log"], keys))[-1]
        assert f"question {number} of 3" in text_of(last)
        await answer(harness, keys, handle, user(f"Ada {number}", f"a{number}"))
    assert await handle.result() == "completed"
    snapshot = await harness["log"].snapshot(keys)
    assert snapshot.task.artifacts[0].parts[0].text == "Hello, Ada 3!"
    entries = await harness["log"].read(keys, "0-0")
    assert [e.seq for e in entries] == list(range(len(entries)))


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


async def test_cancel_during_a_turn_waits_for_the_turn_then_publishes_canceled(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "progress", "steps=100 interval=0.1")
    await wait_state(harness["log"], keys, TaskState.WORKING)
    await asyncio.sleep(0.5)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    entries = await harness["log"].read(keys, "0-0")
    assert json.loads(entries[-1].event)["status"]["state"] == "canceled"
    # The turn had stopped when the workflow closed: nothing was attempted after it.
    await asyncio.sleep(0.5)
    assert len(await harness["log"].read(keys, "0-0")) == len(entries)


async def test_agent_that_always_raises_fails_after_exactly_turn_attempts(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "boom", policy=TurnPolicy(turn_attempts=3))
    assert await handle.result() == "failed"
    assert harness["boom"].runs == 3
    entries = await harness["log"].read(keys, "0-0")
    kinds = [json.loads(e.event)["kind"] for e in entries]
    # Retries re-publish the same sequence numbers, which the log drops.
    assert kinds == ["task", "status-update", "artifact-update", "status-update"]
    last = json.loads(entries[-1].event)
    assert last["status"]["state"] == "failed"
    assert text_of(last["status"]) == AGENT_FAILED_TEXT
    assert "agent bug" not in entries[-1].event  # no internals leak to the client


async def test_no_answer_within_the_task_timeout_fails_the_task(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "ask", policy=TurnPolicy(task_timeout_seconds=2))
    await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)
    assert await handle.result() == "failed"
    last = (await statuses(harness["log"], keys))[-1]
    assert last["state"] == "failed"
    assert text_of(last).startswith("No answer within 2 seconds")


async def test_a_turn_running_past_the_task_timeout_fails_the_task(
    harness: dict[str, Any],
) -> None:
    policy = TurnPolicy(task_timeout_seconds=2, heartbeat_seconds=1)
    keys, handle = await start(harness, "progress", "steps=100 interval=0.1", policy)
    assert await handle.result() == "failed"
    last = (await statuses(harness["log"], keys))[-1]
    assert last["state"] == "failed"
    assert text_of(last) == "The task did not finish within 2 seconds."


async def test_max_turns_ends_a_longer_conversation_as_failed(harness: dict[str, Any]) -> None:
    keys, handle = await start(harness, "ask", "rounds=5", TurnPolicy(max_turns=2))
    await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)
    await answer(harness, keys, handle, user("one", "a1"))
    assert await handle.result() == "failed"
    last = (await statuses(harness["log"], keys))[-1]
    assert "limit of 2 turns" in text_of(last)


async def test_a_message_redis_has_lost_fails_the_task_and_restores_it(
    harness: dict[str, Any],
) -> None:
    keys, handle = await start(harness, "ask", create=False)  # as if Redis lost the task
    assert await handle.result() == "failed"
    snapshot = await harness["log"].snapshot(keys)
    assert snapshot is not None
    assert snapshot.agent == "ask"
    assert snapshot.state == TaskState.FAILED
    assert "no longer available" in text_of(snapshot.task.status.dump())


async def test_workflow_history_stays_small_and_the_view_bounded(
    harness: dict[str, Any],
) -> None:
    big_message = "é" * (200 * 1024)
    keys, handle = await start(harness, "big", big_message)
    await wait_state(harness["log"], keys, TaskState.INPUT_REQUIRED)

    view = await handle.query(TaskWorkflow.task)
    assert isinstance(view, TaskView)
    assert view.agent == "big"
    assert view.status["state"] == "input-required"
    assert "message" not in view.status  # the question is over MAX_VIEW_STATUS_BYTES
    assert len(json.dumps(view.wire())) < 1024

    await answer(harness, keys, handle, user("x" * (500 * 1024), "m2"))
    assert await handle.result() == "completed"
    snapshot = await harness["log"].snapshot(keys)
    (artifact,) = snapshot.task.artifacts
    assert sum(len(p.text) for p in artifact.parts) == BIG_ARTIFACT_BYTES

    history = await handle.fetch_history()
    size = sum(event.ByteSize() for event in history.events)
    assert size < MAX_HISTORY_BYTES, f"workflow history is {size} bytes"
