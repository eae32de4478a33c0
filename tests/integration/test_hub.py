"""The stream hub against a real Valkey: one reader per bucket, exact fan-out, catch-up,
wake-ups, backpressure, isolation of bad positions and bad streams, drain and clean
shutdown."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import TYPE_CHECKING

import pytest

from a2a_gateway.core.states import TaskState
from a2a_gateway.models import Message, Task, TaskStatus, TextPart
from a2a_gateway.store.eventlog import EventLog, entry_key, status_event
from a2a_gateway.store.hub import Drained, Overflow, StreamFailed, StreamHub

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
    created = await log.create(keys, task, agent="echo")
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


async def same_bucket_task(log: EventLog, wake: str) -> tuple[TaskKeys, str]:
    """A new task whose streams share the bucket (and reader) of ``wake``."""
    keys, after = await new_task(log)
    while keys.wake != wake:
        keys, after = await new_task(log)
    return keys, after


async def live(*subs: Subscription) -> None:
    """Let each subscriber catch up (nothing to read yet), so that it waits on its queue."""
    for sub in subs:
        assert await sub.next(0.2) is None
        assert not sub.paging


async def test_a_future_position_does_not_hold_back_other_subscribers(
    log: EventLog, hub: StreamHub, redis: Redis
) -> None:
    keys, created = await new_task(log)
    future = await hub.subscribe(keys, "99999999999999-0")  # first: it used to set the pace
    normal = await hub.subscribe(keys, created)
    await live(future, normal)
    seconds, micros = await redis.time()
    soon = f"{seconds * 1000 + micros // 1000 + 500}-0"  # entries pass it in 0.5 s
    later = await hub.subscribe(keys, soon)
    await live(later)
    ids = []
    for seq in range(1, 9):
        ids.append(await publish(log, keys, seq))
        assert await drain(normal, 1) == [ids[-1]], "every new entry, live"
        await asyncio.sleep(0.1)
    passed = [i for i in ids if entry_key(i) > entry_key(soon)]
    assert passed and len(passed) < len(ids)
    assert await drain(later, len(passed)) == passed, "nothing until entries pass it"
    assert await future.next(0.2) is None
    for sub in (future, later, normal):
        await sub.close()
    assert await readers_stopped(hub)


async def test_a_position_beyond_the_largest_id_breaks_nobodys_read(
    log: EventLog, hub: StreamHub
) -> None:
    keys, _ = await new_task(log)
    other_keys, other_created = await same_bucket_task(log, keys.wake)
    other = await hub.subscribe(other_keys, other_created)
    await live(other)
    beyond = await hub.subscribe(keys, "99999999999999999999-0")  # > 2**64-1: invalid in Redis
    await asyncio.sleep(0.2)
    other_ids = [await publish(log, other_keys, seq) for seq in range(1, 4)]
    assert await drain(other, 3) == other_ids, "the bucket's read goes on"
    await publish(log, keys, 1)
    assert await beyond.next(0.3) is None, "no entry can follow its position"
    late = await hub.subscribe(other_keys, other_ids[-1])  # the bucket still takes streams
    await live(late)
    more = await publish(log, other_keys, 4)
    assert await drain(late, 1) == [more]
    assert await drain(other, 1) == [more]
    for sub in (beyond, other, late):
        await sub.close()


async def test_a_stream_of_the_wrong_type_fails_alone(
    log: EventLog, hub: StreamHub, redis: Redis
) -> None:
    keys, created = await new_task(log)
    bad_keys = log.keys("anonymous", f"t-{uuid.uuid4()}")
    while bad_keys.wake != keys.wake:
        bad_keys = log.keys("anonymous", f"t-{uuid.uuid4()}")
    await redis.set(bad_keys.events, "not a stream", ex=600)
    good = await hub.subscribe(keys, created)
    await live(good)
    bad = await hub.subscribe(bad_keys, "1-0")
    await asyncio.sleep(0.2)
    ids = [await publish(log, keys, seq) for seq in range(1, 4)]
    assert await drain(good, 3) == ids, "the bucket's read goes on"
    with pytest.raises(StreamFailed) as failed:
        await bad.next(2)
    assert failed.value.args[0] == "1-0" == failed.value.last
    await bad.close()
    await good.close()
    assert await readers_stopped(hub)


async def test_a_followed_stream_turned_wrong_type_is_dropped_and_the_bucket_read_on(
    log: EventLog, hub: StreamHub, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    keys, created = await new_task(log)
    bad_keys, bad_created = await same_bucket_task(log, keys.wake)
    good = await hub.subscribe(keys, created)
    bad = await hub.subscribe(bad_keys, bad_created)
    bad_last = await publish(log, bad_keys, 1)
    assert await drain(bad, 1) == [bad_last]  # both followed and live now
    good_first = await publish(log, keys, 1)
    assert await drain(good, 1) == [good_first]
    await redis.delete(bad_keys.events)
    await redis.set(bad_keys.events, "not a stream", ex=600)
    first = [await publish(log, keys, seq) for seq in range(2, 4)]
    assert await drain(good, 2) == first
    await asyncio.sleep(0.3)  # the bucket's next read meets the broken key
    then = [await publish(log, keys, seq) for seq in range(4, 7)]
    assert await drain(good, 3) == then, "the other streams of the bucket are read on"
    with pytest.raises(StreamFailed) as failed:
        await bad.next(2)
    assert failed.value.last == bad_last
    warnings = [
        r for r in caplog.records if r.levelname == "WARNING" and bad_keys.events in r.message
    ]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    await bad.close()
    await good.close()
    assert await readers_stopped(hub)


async def test_drain_ends_every_subscription_promptly(log: EventLog, redis: Redis) -> None:
    hub = StreamHub(redis, block_ms=5000, queue_size=3)
    try:
        keys, created = await new_task(log)
        other_keys, _ = await new_task(log)
        idle = await hub.subscribe(keys, created)
        waiting = await hub.subscribe(other_keys, "99999999999999-0")
        full = await hub.subscribe(keys, created)
        first = await publish(log, keys, 1)
        assert await drain(idle, 1) == [first]
        assert await drain(full, 1) == [first]
        for seq in range(2, 8):
            await publish(log, keys, seq)
        assert await drain(idle, 6)
        assert await waiting.next(0.1) is None
        assert full.queue.full(), "full, and its reader away"
        blocked = [asyncio.create_task(sub.next(10)) for sub in (idle, waiting)]
        await asyncio.sleep(0.1)
        started = asyncio.get_running_loop().time()
        hub.drain()
        for task, last in zip(blocked, (idle.last, "99999999999999-0"), strict=True):
            with pytest.raises(Drained) as drained:
                await task
            assert drained.value.args[0] == last
        assert asyncio.get_running_loop().time() - started < 0.5
        with pytest.raises(Drained) as drained:
            await full.next(10)
        assert drained.value.last == first
        with pytest.raises(Drained) as drained:
            await hub.subscribe(keys, created)
        assert drained.value.last == created
        for sub in (idle, waiting, full):
            await sub.close()
        assert hub.subscriptions == 0
        assert await readers_stopped(hub)
    finally:
        await hub.close()


async def test_subscribers_joining_during_appends_get_every_entry_exactly_once(
    log: EventLog, redis: Redis
) -> None:
    """Clients come and go (resuming from their last id) while entries are appended, so
    streams are watched, dropped and watched again under load: the race between a
    subscriber's last catch-up page and the hub's first read of a stream."""
    hub = StreamHub(redis, block_ms=1000, queue_size=20)
    per_stream, clients_per_stream = 60, 4
    rng = random.Random(9)
    try:
        tasks = [await new_task(log) for _ in range(6)]
        published: dict[str, list[str]] = {keys.task_id: [] for keys, _ in tasks}

        async def publisher(keys: TaskKeys) -> None:
            for seq in range(1, per_stream + 1):
                published[keys.task_id].append(await publish(log, keys, seq))
                if rng.random() < 0.3:
                    await asyncio.sleep(rng.random() * 0.01)

        async def client(keys: TaskKeys, after: str) -> list[str]:
            await asyncio.sleep(rng.random() * 0.2)
            got: list[str] = []
            while len(got) < per_stream:
                sub = await hub.subscribe(keys, got[-1] if got else after)
                try:
                    for _ in range(rng.randint(1, 12)):
                        entry = await sub.next(3)
                        assert entry is not None, f"{keys.task_id}: stuck after {len(got)}"
                        got.append(entry.id)
                        if len(got) == per_stream:
                            break
                finally:
                    await sub.close()
                if rng.random() < 0.5:
                    await asyncio.sleep(rng.random() * 0.01)
            return got

        runs = [client(keys, after) for keys, after in tasks for _ in range(clients_per_stream)]
        results = await asyncio.gather(*runs, *(publisher(keys) for keys, _ in tasks))
        for index, got in enumerate(results[: len(runs)]):
            keys, _ = tasks[index // clients_per_stream]
            assert got == published[keys.task_id]
        assert hub.subscriptions == 0
        assert await readers_stopped(hub)
    finally:
        await hub.close()
