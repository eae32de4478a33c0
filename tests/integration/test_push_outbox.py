"""The push outbox against a real Valkey: the append script owes one notification per
final or interrupted event of a task with push configs (once, however often the event is
appended), and consumers claim, acknowledge and reclaim entries."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from redis.exceptions import ResponseError

from a2a_gateway.core.states import TaskState
from a2a_gateway.gateway.protocol import v1_render
from a2a_gateway.models import PushNotificationConfig
from a2a_gateway.push import keystore
from a2a_gateway.push.delivery import Dispatcher
from a2a_gateway.push.outbox import GROUP, Outbox, OwedEvent
from a2a_gateway.store.eventlog import EventLog, status_event
from a2a_gateway.store.keys import TaskKeys
from tests.integration.test_eventlog import new_task

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from a2a_gateway.push.signing import KeySet

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
    killed = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="killed", reclaim_after=1)
    (taken,) = await killed.claim(10)
    other = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="other", reclaim_after=1)
    assert await other.claim(10) == []  # not idle long enough yet
    again = await until_claimed(other)
    assert again.entry_id == taken.entry_id and again.idempotency_key == taken.idempotency_key
    await other.ack(again)
    assert (await redis.xpending(other.key(keys.bucket), GROUP))["pending"] == 0


async def until_claimed(outbox: Outbox, within: float = 10.0) -> OwedEvent:
    async with asyncio.timeout(within):
        while not (owed := await outbox.claim(10)):
            await asyncio.sleep(0.05)
    (one,) = owed
    return one


async def test_an_entry_naming_no_task_is_dropped(redis: Redis, prefix: str) -> None:
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="w", reclaim_after=0.1)
    await outbox.ensure_groups()
    await redis.xadd(outbox.key(0), {"k": "elsewhere:task:x:y", "s": "1"})
    assert await outbox.claim(10) == []
    assert (await redis.xpending(outbox.key(0), GROUP))["pending"] == 0  # acknowledged


async def test_every_status_is_owed_only_while_a_config_asks_for_it(
    redis: Redis, prefix: str
) -> None:
    """``push_all`` follows the configs: set by one that wants every update, cleared when
    it is deleted (not left to owe every status of the task for nothing)."""
    log = log_for(redis, prefix)
    keys = await task_with_configs(log, prefix, 1)
    every = PushNotificationConfig(url="https://hook.example/every", id="every")
    await log.push.set(keys, every, every_status=True)
    assert await redis.hget(keys.task, "push_all") == b"1"
    working = status_event(keys.task_id, "c", TaskState.WORKING, None, final=False)
    await log.append_status(keys, 1, working)
    assert await redis.xlen(keys.outbox) == 1
    assert await log.push.delete(keys, "every")
    assert await redis.hget(keys.task, "push_all") is None
    await log.append_status(keys, 2, working)
    assert await redis.xlen(keys.outbox) == 1  # nothing more owed for a working status
    await log.push.set(keys, every, every_status=True)
    await log.push.set(keys, every, every_status=False)  # replaced without asking
    assert await redis.hget(keys.task, "push_all") is None


class Recorded:
    """A delivery that records what it is handed, taking ``seconds`` each time."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.events: list[dict[str, Any]] = []

    async def __call__(self, event: dict[str, Any]) -> None:
        await asyncio.sleep(self.seconds)
        self.events.append(event)


def dispatcher(
    redis: Redis, log: EventLog, prefix: str, deliver: Recorded, consumer: str, reclaim: float
) -> Dispatcher:
    async def load_keys() -> KeySet:
        return await keystore.load_or_create(redis, prefix)

    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer=consumer, reclaim_after=reclaim)
    return Dispatcher(
        events=log,
        outbox=outbox,
        load_keys=load_keys,
        deliver=deliver,
        render_v1=v1_render.task,
        poll_seconds=0.05,
    )


async def finish(log: EventLog, keys: TaskKeys, seq: int = 1) -> None:
    done = status_event(keys.task_id, "c", TaskState.COMPLETED, None, final=True)
    await log.append_status(keys, seq, done)


async def pending(redis: Redis, outbox: str) -> int:
    """Entries taken and not acknowledged (0 before the group exists)."""
    try:
        return int((await redis.xpending(outbox, GROUP))["pending"])
    except ResponseError:  # NOGROUP: no consumer has read yet
        return 0


async def test_a_slow_delivery_is_not_taken_over_by_another_consumer(
    redis: Redis, prefix: str
) -> None:
    """A delivery that takes longer than the reclaim time (a local one retrying) keeps
    its entry: the other consumer does not deliver it a second time."""
    log = log_for(redis, prefix)
    keys = await task_with_configs(log, prefix, 1)
    slow, other = Recorded(seconds=1.5), Recorded()
    first = dispatcher(redis, log, prefix, slow, "slow", 0.3)
    second = dispatcher(redis, log, prefix, other, "other", 0.3)
    running = [asyncio.create_task(first.run())]
    await finish(log, keys)
    async with asyncio.timeout(10):
        while await pending(redis, keys.outbox) == 0:
            await asyncio.sleep(0.02)  # the slow consumer has it
    running.append(asyncio.create_task(second.run()))
    try:
        # Until it is acknowledged and neither dispatcher has a delivery in flight (a
        # second taker of the entry, this one or the other, would still be delivering).
        async with asyncio.timeout(15):
            while (
                not slow.events
                or await pending(redis, keys.outbox)
                or any(d._running for d in (first, second))
            ):
                await asyncio.sleep(0.05)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    assert len(slow.events) == 1 and other.events == []


async def test_the_dispatcher_outlives_an_outbox_that_lost_its_groups(
    redis: Redis, prefix: str
) -> None:
    """Redis losing the outboxes (a flush, a failover without persistence) makes reads
    fail with NOGROUP: the dispatcher logs it, makes the groups again and goes on."""
    log = log_for(redis, prefix)
    recorded = Recorded()
    running = asyncio.create_task(dispatcher(redis, log, prefix, recorded, "w", 60).run())
    first = await task_with_configs(log, prefix, 1)
    await finish(log, first)
    async with asyncio.timeout(10):
        while not recorded.events:
            await asyncio.sleep(0.05)
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="check")
    await redis.delete(*(outbox.key(b) for b in range(BUCKETS)))
    second = await task_with_configs(log, prefix, 1)
    await finish(log, second)
    try:
        async with asyncio.timeout(15):
            while len(recorded.events) < 2:
                assert not running.done(), running
                await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert [e["taskId"] for e in recorded.events] == [first.task_id, second.task_id]
