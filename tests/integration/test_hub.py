"""The stream hub against a real Valkey: one reader per bucket, exact fan-out, catch-up,
wake-ups, backpressure and clean shutdown."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest

from a2a_gateway.core.states import TaskState
from a2a_gateway.models import Message, Task, TaskStatus, TextPart
from a2a_gateway.store.eventlog import EventLog, status_event
from a2a_gateway.store.hub import Overflow, StreamHub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from a2a_gateway.store.hub import Subscription
    from a2a_gateway.store.keys import TaskKeys


@pytest.fixture
def log(redis: Redis) -> EventLog:
    # Two buckets only, so many tasks share a bucket (and a reader).
    return EventLog(
        redis, ttl_seconds=600, maxlen=10_000, buckets=2, key_prefix=f"hub{uuid.uuid4().hex[:6]}"
    )


@pytest.fixture
async def hub(redis: Redis) -> AsyncIterator[StreamHub]:
    stream_hub = StreamHub(redis, block_ms=5000, queue_size=100)
    yield stream_hub
    await stream_hub.close()


async def new_task(log: EventLog) -> tuple[TaskKeys, str]:
    keys = log.keys("anonymous", f"t-{uuid.uuid4()}")
    first = Message(message_id="m", role="user", parts=[TextPart(text="x")])
    task = Task(
        id=keys.task_id,
        context_id="c",
        status=TaskStatus(state=TaskState.SUBMITTED),
        history=[first],
    )
    created = await log.create(keys, task)
    return keys, created.entry_id


async def publish(log: EventLog, keys: TaskKeys, seq: int, *, final: bool = False) -> str:
    state = TaskState.COMPLETED if final else TaskState.WORKING
    result = await log.append_status(keys, seq, status_event(keys.task_id, "c", state, None, final))
    assert result.appended
    return result.entry_id


async def readers_stopped(hub: StreamHub) -> bool:
    """Whether the hub's readers return (they are woken, not cancelled) within 2 s."""
    for _ in range(40):
        if hub.readers == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def drain(sub: Subscription, count: int) -> list[str]:
    ids = []
    while len(ids) < count:
        entry = await sub.next(5)
        assert entry is not None, f"only {len(ids)} of {count} entries arrived"
        ids.append(entry.id)
    return ids


async def test_many_streams_share_one_reader_per_bucket(log: EventLog, hub: StreamHub) -> None:
    tasks = [await new_task(log) for _ in range(40)]
    subs = [await hub.subscribe(keys, after) for keys, after in tasks]
    assert hub.readers <= 2
    expected = {}
    for keys, _ in tasks:
        expected[keys.task_id] = [await publish(log, keys, seq) for seq in range(1, 6)]
    for (keys, _), sub in zip(tasks, subs, strict=True):
        assert await drain(sub, 5) == expected[keys.task_id]
    assert hub.subscriptions == 40
    for sub in subs:
        await sub.close()
    assert hub.subscriptions == 0
    assert await readers_stopped(hub)


async def test_two_subscribers_of_one_stream_get_the_same_entries(
    log: EventLog, hub: StreamHub
) -> None:
    keys, after = await new_task(log)
    first = await hub.subscribe(keys, after)
    second = await hub.subscribe(keys, after)
    ids = [await publish(log, keys, seq) for seq in range(1, 4)]
    assert await drain(first, 3) == ids
    assert await drain(second, 3) == ids
    await first.close()
    await second.close()


async def test_late_subscriber_catches_up_from_its_own_position(
    log: EventLog, hub: StreamHub
) -> None:
    keys, created = await new_task(log)
    early = await hub.subscribe(keys, created)
    ids = [await publish(log, keys, seq) for seq in range(1, 5)]
    assert await drain(early, 4) == ids  # the hub now follows the stream at ids[-1]
    late = await hub.subscribe(keys, ids[0])  # behind the hub: reads the gap itself
    more = [await publish(log, keys, seq) for seq in range(5, 7)]
    assert await drain(late, 5) == ids[1:] + more
    assert await drain(early, 2) == more
    ahead = await hub.subscribe(keys, more[-1])  # nothing old is replayed to it
    last = await publish(log, keys, 7, final=True)
    assert await drain(ahead, 1) == [last]
    for sub in (early, late, ahead):
        await sub.close()


async def test_new_stream_in_a_busy_bucket_does_not_wait_for_the_block(
    log: EventLog, redis: Redis
) -> None:
    hub = StreamHub(redis, block_ms=5000, queue_size=10)
    try:
        busy_keys, busy_after = await new_task(log)
        busy = await hub.subscribe(busy_keys, busy_after)
        await asyncio.sleep(0.2)  # the bucket's reader is now blocked for up to 5 s
        keys, after = await new_task(log)
        while keys.wake != busy_keys.wake:  # same bucket as the blocked read
            keys, after = await new_task(log)
        sub = await hub.subscribe(keys, after)
        entry_id = await publish(log, keys, 1)
        entry = await asyncio.wait_for(sub.next(5), 2.5)  # well under the 5 s block
        assert entry is not None and entry.id == entry_id
        await sub.close()
        await busy.close()
    finally:
        await hub.close()


async def test_slow_subscriber_is_paged_with_bounded_memory_and_loses_nothing(
    log: EventLog, redis: Redis
) -> None:
    hub = StreamHub(redis, block_ms=1000, queue_size=3)
    try:
        keys, after = await new_task(log)
        slow = await hub.subscribe(keys, after)
        backlog = [await publish(log, keys, seq) for seq in range(1, 11)]
        await asyncio.sleep(0.3)
        assert slow.queue.qsize() <= 3, "memory stays bounded while the reader is away"
        assert await drain(slow, 10) == backlog
        assert not slow.paging, "caught up: live from the queue now"
        # A burst beyond the queue while the reader is away overflows it; the reader
        # falls back to paging from its position and still gets every entry once.
        live = [await publish(log, keys, seq) for seq in range(11, 31)]
        await asyncio.sleep(0.3)
        assert slow.overflowed
        assert slow.queue.qsize() <= 3
        assert await drain(slow, 20) == live
        await slow.close()
    finally:
        await hub.close()


async def test_subscriber_whose_position_was_trimmed_is_cut_with_it(
    log: EventLog, redis: Redis
) -> None:
    hub = StreamHub(redis, block_ms=1000, queue_size=3)
    try:
        keys, _ = await new_task(log)
        ids = [await publish(log, keys, seq) for seq in range(1, 21)]
        slow = await hub.subscribe(keys, ids[1])
        await redis.xtrim(keys.events, minid=ids[10], approximate=False)
        with pytest.raises(Overflow):
            await slow.next(1)
        assert slow.last == ids[1], "the client resumes from here and gets the snapshot"
        await slow.close()
    finally:
        await hub.close()


async def test_closing_the_last_subscriber_releases_the_redis_connection(
    log: EventLog, hub: StreamHub, redis: Redis
) -> None:
    async def blocked() -> int:
        return sum(1 for c in await redis.client_list() if "b" in c.get("flags", ""))

    before = await blocked()
    keys, after = await new_task(log)
    sub = await hub.subscribe(keys, after)
    await asyncio.sleep(0.2)
    assert await blocked() == before + 1
    await sub.close()
    for _ in range(20):
        if await blocked() == before:
            break
        await asyncio.sleep(0.05)
    assert await blocked() == before
    assert await readers_stopped(hub)
