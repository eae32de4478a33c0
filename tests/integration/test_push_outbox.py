"""The push outbox against a real Valkey: the append script owes one notification per
final or interrupted event of a task with push configs (once, however often the event is
appended), and consumers claim, acknowledge and reclaim entries."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest

from a2a_gateway.core.states import TaskState
from a2a_gateway.models import PushNotificationConfig
from a2a_gateway.push.outbox import GROUP, Outbox
from a2a_gateway.store.eventlog import EventLog, status_event
from a2a_gateway.store.keys import TaskKeys
from tests.integration.test_eventlog import new_task

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

BUCKETS = 4


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    name = f"ob-{uuid.uuid4().hex[:10]}"
    yield name
    found = [key async for key in redis.scan_iter(match=f"{name}:*")]
    if found:
        await redis.delete(*found)


def log_for(redis: Redis, prefix: str) -> EventLog:
    return EventLog(redis, ttl_seconds=600, maxlen=1000, buckets=BUCKETS, key_prefix=prefix)


async def task_with_configs(log: EventLog, prefix: str, configs: int) -> TaskKeys:
    keys = TaskKeys.of("alice", f"t-{uuid.uuid4()}", BUCKETS, prefix)
    await log.create(keys, new_task(keys.task_id), agent="echo")
    for n in range(configs):
        config = PushNotificationConfig(url=f"https://hook.example/{n}", id=f"c{n}")
        await log.push.set(keys, config)
    return keys


async def test_final_and_interrupted_events_of_tasks_with_configs_are_owed_once(
    redis: Redis, prefix: str
) -> None:
    log = log_for(redis, prefix)
    watched = await task_with_configs(log, prefix, 2)
    quiet = await task_with_configs(log, prefix, 0)
    for keys in (watched, quiet):
        working = status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
        asked = status_event(keys.task_id, "c", TaskState.INPUT_REQUIRED, None, final=True)
        done = status_event(keys.task_id, "c", TaskState.COMPLETED, None, final=True)
        await log.append_status(keys, 1, working)
        await log.append_status(keys, 2, asked)
        await log.append_status(keys, 2, asked)  # a retried turn: the same event again
        await log.append_status(keys, 3, working)
        await log.append_status(keys, 4, done)
        await log.append_status(keys, 4, done)
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="w1")
    owed = await outbox.claim(100)
    assert [(o.keys, o.seq, o.state) for o in owed] == [
        (watched, 2, "input-required"),
        (watched, 4, "completed"),
    ]
    events = {entry.seq: entry.id for entry in await log.read(watched, "0-0")}
    assert [o.event_id for o in owed] == [events[2], events[4]]
    assert len({o.idempotency_key for o in owed}) == 2
    assert await outbox.claim(100) == []  # taken, not yet acknowledged: not offered again
    for o in owed:
        await outbox.ack(o)
    assert await outbox.claim(100) == []
    pending = await redis.xpending(outbox.key(watched.bucket), GROUP)
    assert pending["pending"] == 0


async def test_an_entry_a_consumer_never_acknowledged_is_reclaimed(
    redis: Redis, prefix: str
) -> None:
    log = log_for(redis, prefix)
    keys = await task_with_configs(log, prefix, 1)
    await log.append_status(keys, 1, status_event(keys.task_id, "c", TaskState.FAILED, None, True))
    killed = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="killed", reclaim_after=0.2)
    (taken,) = await killed.claim(10)
    other = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="other", reclaim_after=0.2)
    assert await other.claim(10) == []  # not idle long enough yet
    await asyncio.sleep(0.4)
    (again,) = await other.claim(10)
    assert again.entry_id == taken.entry_id and again.idempotency_key == taken.idempotency_key
    await other.ack(again)
    await asyncio.sleep(0.4)
    assert await other.claim(10) == []


async def test_an_entry_naming_no_task_is_dropped(redis: Redis, prefix: str) -> None:
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="w", reclaim_after=0.1)
    await outbox.ensure_groups()
    await redis.xadd(outbox.key(0), {"k": "elsewhere:task:x:y", "s": "1"})
    assert await outbox.claim(10) == []
    await asyncio.sleep(0.2)
    assert await outbox.claim(10) == []  # acknowledged, not reclaimed
