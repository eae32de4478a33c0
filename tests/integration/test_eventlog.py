"""The event log against a real Valkey: idempotent appends, finality, snapshots, trimming."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from a2a_gateway.core.states import TaskState
from a2a_gateway.models import (
    Artifact,
    Message,
    Task,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TextPart,
)
from a2a_gateway.store.eventlog import EventLog, status_event
from a2a_gateway.store.keys import TaskKeys

if TYPE_CHECKING:
    from redis.asyncio import Redis


def new_task(task_id: str) -> Task:
    first = Message(
        message_id="m1", role="user", parts=[TextPart(text="hi")], task_id=task_id, context_id="c"
    )
    return Task(
        id=task_id, context_id="c", status=TaskStatus(state=TaskState.SUBMITTED), history=[first]
    )


def chunk(task_id: str, text: str, *, append: bool) -> TaskArtifactUpdateEvent:
    return TaskArtifactUpdateEvent(
        task_id=task_id,
        context_id="c",
        artifact=Artifact(artifact_id="a", parts=[TextPart(text=text)]),
        append=append,
    )


@pytest.fixture
def log(redis: Redis) -> EventLog:
    return EventLog(redis, ttl_seconds=600, maxlen=1000)


@pytest.fixture
def keys() -> TaskKeys:
    return TaskKeys.of("anonymous", f"t-{uuid.uuid4()}", buckets=16)


async def test_create_is_idempotent(log: EventLog, keys: TaskKeys, redis: Redis) -> None:
    first = await log.create(keys, new_task(keys.task_id), agent="echo")
    second = await log.create(keys, new_task(keys.task_id), agent="echo")
    assert first.appended and not second.appended
    assert second.entry_id == first.entry_id
    assert await redis.xlen(keys.events) == 1


async def test_duplicate_sequence_numbers_are_dropped(
    log: EventLog, keys: TaskKeys, redis: Redis
) -> None:
    await log.create(keys, new_task(keys.task_id), agent="echo")
    working = status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
    assert (await log.append_status(keys, 1, working)).appended
    assert not (await log.append_status(keys, 1, working)).appended
    assert (await log.append_artifact(keys, 2, chunk(keys.task_id, "x", append=False))).appended
    assert not (await log.append_artifact(keys, 2, chunk(keys.task_id, "x", append=False))).appended
    assert not (await log.append_status(keys, 1, working)).appended  # older than the last
    entries = await log.read(keys, "0-0")
    assert [e.seq for e in entries] == [0, 1, 2]
    snapshot = await log.snapshot(keys)
    assert snapshot is not None and snapshot.task.artifacts is not None
    assert len(snapshot.task.artifacts[0].parts) == 1


async def test_nothing_is_appended_after_a_final_state(log: EventLog, keys: TaskKeys) -> None:
    await log.create(keys, new_task(keys.task_id), agent="echo")
    done = status_event(keys.task_id, "c", TaskState.COMPLETED, None, final=True)
    assert (await log.append_status(keys, 1, done)).appended
    late = status_event(keys.task_id, "c", TaskState.CANCELED, None, final=True)
    result = await log.append_status(keys, -1, late)
    assert not result.appended and result.state == "completed"
    assert not (await log.append_artifact(keys, 5, chunk(keys.task_id, "z", append=False))).appended
    entries = await log.read(keys, "0-0")
    assert [e.final for e in entries] == [False, True]


async def test_append_to_missing_task_reports_it(log: EventLog, keys: TaskKeys) -> None:
    result = await log.append_status(
        keys, 1, status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
    )
    assert not result.appended and not result.exists


async def test_snapshot_folds_history_status_and_artifacts(log: EventLog, keys: TaskKeys) -> None:
    created = await log.create(keys, new_task(keys.task_id), agent="echo")
    question = Message(message_id="q", role="agent", parts=[TextPart(text="name?")])
    await log.append_status(
        keys, 1, status_event(keys.task_id, "c", TaskState.INPUT_REQUIRED, question, final=True)
    )
    answer = Message(message_id="m2", role="user", parts=[TextPart(text="Ada")])
    await log.accept(keys, answer, "c")  # seq 2: the answer joins the history
    await log.append_artifact(keys, 3, chunk(keys.task_id, "Hello", append=False))
    last = await log.append_artifact(keys, 4, chunk(keys.task_id, ", Ada", append=True))

    snapshot = await log.snapshot(keys)
    assert snapshot is not None
    assert snapshot.last_id == last.entry_id != created.entry_id
    assert snapshot.seq == 4
    task = snapshot.task
    assert task.status.state == TaskState.SUBMITTED
    assert [m.message_id for m in task.history or []] == ["m1", "q", "m2"]
    assert task.artifacts is not None
    assert [p.text for p in task.artifacts[0].parts if isinstance(p, TextPart)] == [
        "Hello",
        ", Ada",
    ]
    assert [e.seq for e in await log.read(keys, "0-0")] == [0, 1, 2, 3, 4]


async def test_keys_get_the_ttl(log: EventLog, keys: TaskKeys, redis: Redis) -> None:
    await log.create(keys, new_task(keys.task_id), agent="echo")
    await log.append_artifact(keys, 1, chunk(keys.task_id, "x", append=False))
    for key in (keys.task, keys.events, keys.history, keys.artifacts):
        ttl = await redis.ttl(key)
        assert 0 < ttl <= 600, key


async def test_read_returns_only_entries_after_the_id(log: EventLog, keys: TaskKeys) -> None:
    created = await log.create(keys, new_task(keys.task_id), agent="echo")
    assert await log.read(keys, created.entry_id) == []
    working = status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
    appended = await log.append_status(keys, 1, working)
    assert [e.id for e in await log.read(keys, created.entry_id)] == [appended.entry_id]
    assert [e.seq for e in await log.read(keys, "0-0")] == [0, 1]


async def test_trimmed_after_detects_lost_entries(redis: Redis, keys: TaskKeys) -> None:
    log = EventLog(redis, ttl_seconds=600, maxlen=1000)
    created = await log.create(keys, new_task(keys.task_id), agent="echo")
    ids = [created.entry_id]
    for seq in range(1, 6):
        result = await log.append_artifact(keys, seq, chunk(keys.task_id, str(seq), append=True))
        ids.append(result.entry_id)
    assert not await log.trimmed_after(keys, ids[0])
    await redis.xtrim(keys.events, minid=ids[3], approximate=False)  # drops ids[0..2]
    assert await log.trimmed_after(keys, ids[0])
    assert await log.trimmed_after(keys, ids[2])  # cannot prove nothing between was lost
    assert not await log.trimmed_after(keys, ids[3])
    assert not await log.trimmed_after(keys, ids[4])
    await redis.xdel(keys.events, ids[5])
    assert await log.trimmed_after(keys, ids[4])
    await redis.delete(keys.events)
    assert await log.trimmed_after(keys, ids[4])


async def test_final_state_switches_to_the_terminal_ttl(redis: Redis, keys: TaskKeys) -> None:
    log = EventLog(redis, ttl_seconds=600, maxlen=1000, terminal_ttl_seconds=60)
    await log.create(keys, new_task(keys.task_id), agent="echo")
    working = status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
    await log.append_status(keys, 1, working)
    assert 60 < await redis.ttl(keys.task) <= 600
    done = status_event(keys.task_id, "c", TaskState.COMPLETED, None, final=True)
    await log.append_status(keys, 2, done)
    for key in (keys.task, keys.events, keys.history):
        assert 0 < await redis.ttl(key) <= 60, key


async def test_create_records_the_owning_agent(log: EventLog, keys: TaskKeys) -> None:
    await log.create(keys, new_task(keys.task_id), agent="ask")
    snapshot = await log.snapshot(keys)
    assert snapshot is not None
    assert (snapshot.agent, snapshot.turns, snapshot.accepted_id) == ("ask", 0, "")


def follow_up(task_id: str, message_id: str) -> Message:
    return Message(
        message_id=message_id,
        role="user",
        parts=[TextPart(text="Ada")],
        task_id=task_id,
        context_id="c",
    )


async def test_accept_takes_a_follow_up_only_into_an_interrupted_task(
    log: EventLog, keys: TaskKeys
) -> None:
    await log.create(keys, new_task(keys.task_id), agent="ask")
    working = status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
    await log.append_status(keys, 1, working)
    refused = await log.accept(keys, follow_up(keys.task_id, "m2"), "c")
    assert not refused.appended
    assert refused.state == "working"

    asking = status_event(keys.task_id, "c", TaskState.INPUT_REQUIRED, None, final=True)
    await log.append_status(keys, 2, asking)
    accepted = await log.accept(keys, follow_up(keys.task_id, "m2"), "c")
    assert accepted.appended
    assert (accepted.seq, accepted.state) == (3, "submitted")

    snapshot = await log.snapshot(keys)
    assert snapshot is not None
    assert snapshot.state is TaskState.SUBMITTED
    assert [m.message_id for m in snapshot.task.history or []] == ["m1", "m2"]
    assert (snapshot.turns, snapshot.accepted_id, snapshot.accepted_seq) == (1, "m2", 3)
    assert snapshot.last_id == accepted.entry_id
    entries = await log.read(keys, "0-0")
    assert entries[-1].seq == 3 and not entries[-1].final
    # the worker's next turn publishes after the accepted seq; a stale seq is dropped
    assert not (await log.append_status(keys, 3, working)).appended
    assert (await log.append_status(keys, 4, working)).appended


async def test_racing_follow_ups_accept_exactly_one(log: EventLog, keys: TaskKeys) -> None:
    await log.create(keys, new_task(keys.task_id), agent="ask")
    asking = status_event(keys.task_id, "c", TaskState.INPUT_REQUIRED, None, final=True)
    await log.append_status(keys, 1, asking)
    results = [await log.accept(keys, follow_up(keys.task_id, f"m-{i}"), "c") for i in range(5)]
    assert [r.appended for r in results] == [True, False, False, False, False]


async def test_accept_refuses_a_terminal_task(log: EventLog, keys: TaskKeys) -> None:
    await log.create(keys, new_task(keys.task_id), agent="ask")
    done = status_event(keys.task_id, "c", TaskState.COMPLETED, None, final=True)
    await log.append_status(keys, 1, done)
    assert not (await log.accept(keys, follow_up(keys.task_id, "m2"), "c")).appended


async def test_missing_lookups_are_remembered_briefly(log: EventLog, keys: TaskKeys) -> None:
    assert not await log.known_missing(keys)
    await log.remember_missing(keys, 1)
    assert await log.known_missing(keys)
    assert await log.redis.ttl(keys.miss) == 1


async def test_last_entry_id_is_the_newest_event(log: EventLog, keys: TaskKeys) -> None:
    assert await log.last_entry_id(keys) is None
    created = await log.create(keys, new_task(keys.task_id), agent="echo")
    assert await log.last_entry_id(keys) == created.entry_id
