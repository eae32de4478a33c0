"""The ListTasks index against a real Valkey: order, filters, paging, isolation, expiry, cap."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError

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
from a2a_gateway.store.keys import IndexKeys
from a2a_gateway.store.task_index import (
    MAX_INDEXED_TASKS,
    IndexPage,
    InvalidPageToken,
    TaskIndex,
    Touched,
    decode_token,
    encode_token,
    epoch_ms,
    now_ms,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

AGENT = "echo"


@pytest.fixture
def log(redis: Redis) -> EventLog:
    return EventLog(redis, ttl_seconds=600, maxlen=1000, terminal_ttl_seconds=60)


@pytest.fixture
def principal() -> str:
    return f"p-{uuid.uuid4()}"


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def new_task(
    task_id: str, *, context_id: str = "c", state: TaskState = TaskState.SUBMITTED, at: int
) -> Task:
    first = Message(
        message_id="m1",
        role="user",
        parts=[TextPart(text="hi")],
        task_id=task_id,
        context_id=context_id,
    )
    return Task(
        id=task_id,
        context_id=context_id,
        status=TaskStatus(state=state, timestamp=iso(at)),
        history=[first],
    )


async def create(
    log: EventLog, principal: str, task_id: str, at: int, *, agent: str = AGENT, context: str = "c"
) -> None:
    keys = log.keys(principal, task_id)
    assert (
        await log.create(keys, new_task(task_id, context_id=context, at=at), agent=agent)
    ).appended


async def listed(
    index: TaskIndex,
    principal: str,
    *,
    agent: str = AGENT,
    context_id: str | None = None,
    state: str | None = None,
    updated_after_ms: int | None = None,
    page_size: int = 100,
    page_token: str | None = None,
) -> IndexPage:
    return await index.page(
        principal,
        agent=agent,
        context_id=context_id,
        state=state,
        updated_after_ms=updated_after_ms,
        page_size=page_size,
        page_token=page_token,
    )


async def meta(redis: Redis, index: TaskIndex, principal: str, task_id: str) -> dict[str, object]:
    raw = await redis.hget(index.keys(principal).meta, task_id)
    assert raw is not None, task_id
    loaded: dict[str, object] = json.loads(raw)
    return loaded


def test_index_keys_share_one_slot_per_principal() -> None:
    for principal in ["alice", "bob", str(uuid.uuid4())]:
        keys = IndexKeys(principal, "a2a")
        assert keys.tasks == f"a2a:{{ix:{principal}}}:tasks"
        assert keys.meta == f"a2a:{{ix:{principal}}}:taskmeta"
        assert len({key_slot(k.encode()) for k in keys.all()}) == 1
        assert len(set(keys.all())) == 3
    assert IndexKeys("alice", "x").tasks.startswith("x:{ix:alice}:")
    assert MAX_INDEXED_TASKS == 10_000


async def test_newest_first_and_a_status_update_moves_a_task_to_the_front(
    log: EventLog, principal: str
) -> None:
    base = now_ms() - 60_000
    for i, task_id in enumerate(["t-a", "t-b", "t-c"]):
        await create(log, principal, task_id, base + i * 1000)
    first = await listed(log.index, principal)
    assert first.task_ids == ["t-c", "t-b", "t-a"]
    assert (first.total_size, first.next_page_token) == (3, "")

    keys = log.keys(principal, "t-a")
    working = status_event("t-a", "c", TaskState.WORKING, None, final=False)
    assert (await log.append_status(keys, 1, working)).appended
    await log.indexed()
    assert (await listed(log.index, principal)).task_ids == ["t-a", "t-c", "t-b"]
    entry = await meta(log.redis, log.index, principal, "t-a")
    assert entry["state"] == "working"
    assert entry["agent"] == AGENT and entry["contextId"] == "c" and entry["seq"] == 1
    assert entry["updated"] == epoch_ms(working.status.timestamp)


async def test_accept_updates_the_index(log: EventLog, principal: str) -> None:
    await create(log, principal, "t-1", now_ms() - 5000)
    keys = log.keys(principal, "t-1")
    asking = status_event("t-1", "c", TaskState.INPUT_REQUIRED, None, final=True)
    await log.append_status(keys, 1, asking)
    await log.indexed()
    assert (await listed(log.index, principal, state="input-required")).task_ids == ["t-1"]
    answer = Message(message_id="m2", role="user", parts=[TextPart(text="Ada")])
    assert (await log.accept(keys, answer, "c")).appended
    assert (await listed(log.index, principal, state="input-required")).task_ids == []
    assert (await listed(log.index, principal, state="submitted")).task_ids == ["t-1"]
    assert (await meta(log.redis, log.index, principal, "t-1"))["seq"] == 2


async def test_filters_by_context_state_time_and_agent(log: EventLog, principal: str) -> None:
    base = now_ms() - 60_000
    await create(log, principal, "t-1", base + 1000, context="ctx-a")
    await create(log, principal, "t-2", base + 2000, context="ctx-b")
    await create(log, principal, "t-3", base + 3000, context="ctx-a")
    await create(log, principal, "t-4", base + 4000, context="ctx-a", agent="other")
    keys = log.keys(principal, "t-1")
    working = status_event("t-1", "ctx-a", TaskState.WORKING, None, final=False)
    status = working.status.model_copy(update={"timestamp": iso(base + 5000)})
    working = working.model_copy(update={"status": status})
    await log.append_status(keys, 1, working)
    await log.indexed()

    index = log.index
    assert (await listed(index, principal)).task_ids == ["t-1", "t-3", "t-2"]
    assert (await listed(index, principal, agent="other")).task_ids == ["t-4"]
    assert (await listed(index, principal, agent="nobody")).task_ids == []
    by_context = await listed(index, principal, context_id="ctx-a")
    assert (by_context.task_ids, by_context.total_size) == (["t-1", "t-3"], 2)
    assert (await listed(index, principal, state="submitted")).task_ids == ["t-3", "t-2"]
    assert (await listed(index, principal, state="working")).task_ids == ["t-1"]
    assert (await listed(index, principal, state="completed")).task_ids == []
    # statusTimestampAfter keeps tasks updated at or after it
    assert (await listed(index, principal, updated_after_ms=base + 3000)).task_ids == [
        "t-1",
        "t-3",
    ]
    combined = await listed(
        index, principal, context_id="ctx-a", state="submitted", updated_after_ms=base
    )
    assert combined.task_ids == ["t-3"]


@pytest.mark.parametrize("page_size", [1, 7, 100])
async def test_paging_yields_every_task_once_in_order(
    redis: Redis, principal: str, page_size: int
) -> None:
    index = TaskIndex(redis, ttl_seconds=600)
    base = now_ms() - 600_000
    # 250 tasks; every fifth shares its update time with the one before (ties by id)
    expected: list[tuple[int, str]] = []
    for i in range(250):
        task_id, updated = f"t-{i:03d}", base + (i - (i % 5 == 1)) * 100
        expected.append((updated, task_id))
        await index.touch(
            principal, task_id, agent=AGENT, state="working", context_id="c", updated_ms=updated
        )
    await index.touch(
        principal, "t-other", agent="other", state="working", context_id="c", updated_ms=base
    )
    order = [task_id for _, task_id in sorted(expected, reverse=True)]

    seen: list[str] = []
    token: str | None = None
    pages = 0
    while pages <= 250:
        page = await listed(index, principal, page_size=page_size, page_token=token)
        pages += 1
        assert page.total_size == 250
        assert 0 < len(page.task_ids) <= page_size
        seen.extend(page.task_ids)
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert seen == order
    assert pages == -(-250 // page_size)


async def test_a_task_updated_between_pages_is_not_repeated(redis: Redis, principal: str) -> None:
    index = TaskIndex(redis, ttl_seconds=600)
    base = now_ms() - 60_000
    for i in range(10):
        await index.touch(
            principal, f"t-{i}", agent=AGENT, state="working", context_id="c", updated_ms=base + i
        )
    first = await listed(index, principal, page_size=4)
    assert first.task_ids == ["t-9", "t-8", "t-7", "t-6"]
    # one already seen and one not yet seen move to the front
    for task_id in ("t-8", "t-2"):
        await index.touch(
            principal, task_id, agent=AGENT, state="completed", context_id="c", updated_ms=base + 99
        )
    rest = await listed(index, principal, page_size=100, page_token=first.next_page_token)
    assert rest.task_ids == ["t-5", "t-4", "t-3", "t-1", "t-0"]
    assert rest.next_page_token == "" and rest.total_size == 10


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "%%%",
        "YWJj",  # "abc"
        base64.urlsafe_b64encode(b'["x", "t-1"]').decode(),
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(b'[true, "t-1"]').decode(),
        base64.urlsafe_b64encode(b'[1, ""]').decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A",
        "x" * 600,
    ],
)
async def test_a_bad_page_token_raises(log: EventLog, principal: str, token: str) -> None:
    with pytest.raises(InvalidPageToken):
        await listed(log.index, principal, page_token=token)
    assert issubclass(InvalidPageToken, ValueError)


def test_tokens_round_trip() -> None:
    for updated, task_id in [(0, "t"), (1_700_000_000_123, "a.b_c-D"), (2**53, "x" * 128)]:
        token = encode_token(updated, task_id)
        assert "=" not in token
        assert decode_token(token) == (updated, task_id)


async def test_another_principal_sees_nothing(log: EventLog, principal: str) -> None:
    await create(log, principal, "t-shared", now_ms() - 1000)
    other = f"{principal}-other"
    assert (await listed(log.index, other)).task_ids == []
    assert (await listed(log.index, other)).total_size == 0
    # the same task id created by another principal is another task, indexed apart
    await create(log, other, "t-shared", now_ms() - 500, context="theirs")
    theirs = await listed(log.index, other)
    assert theirs.task_ids == ["t-shared"]
    assert (await meta(log.redis, log.index, principal, "t-shared"))["contextId"] == "c"
    assert (await meta(log.redis, log.index, other, "t-shared"))["contextId"] == "theirs"
    await log.index.forget(other, ["t-shared"])
    assert (await listed(log.index, principal)).task_ids == ["t-shared"]


async def test_keys_get_the_task_ttl_and_every_update_refreshes_it(
    log: EventLog, principal: str
) -> None:
    await create(log, principal, "t-1", now_ms())
    keys = log.index.keys(principal)
    for key in keys.all():
        assert 590 < await log.redis.ttl(key) <= 600, key
        await log.redis.expire(key, 5)
    working = status_event("t-1", "c", TaskState.WORKING, None, final=False)
    await log.append_status(log.keys(principal, "t-1"), 1, working)
    await log.indexed()
    for key in keys.all():
        assert 590 < await log.redis.ttl(key) <= 600, key
    # a final state shortens the task's keys, not the index's (other tasks live longer)
    done = status_event("t-1", "c", TaskState.COMPLETED, None, final=True)
    await log.append_status(log.keys(principal, "t-1"), 2, done)
    await log.indexed()
    assert 0 < await log.redis.ttl(log.keys(principal, "t-1").task) <= 60
    for key in keys.all():
        assert 590 < await log.redis.ttl(key) <= 600, key
    expires = await meta(log.redis, log.index, principal, "t-1")
    assert isinstance(expires["expires"], int)
    assert 55_000 < expires["expires"] - now_ms() <= 60_000


async def test_at_most_max_tasks_the_most_recent_are_kept(redis: Redis, principal: str) -> None:
    index = TaskIndex(redis, ttl_seconds=600, max_tasks=5)
    base = now_ms() - 60_000
    for i in range(8):
        await index.touch(
            principal, f"t-{i}", agent=AGENT, state="working", context_id="c", updated_ms=base + i
        )
    page = await listed(index, principal)
    assert page.task_ids == ["t-7", "t-6", "t-5", "t-4", "t-3"]
    assert page.total_size == 5
    keys = index.keys(principal)
    assert await redis.zcard(keys.tasks) == 5
    assert await redis.hlen(keys.meta) == 5
    assert await redis.zcard(keys.expiry) == 5
    # an update brings an old task back to the front and pushes the oldest out
    await index.touch(
        principal, "t-3", agent=AGENT, state="working", context_id="c", updated_ms=base + 100
    )
    assert (await listed(index, principal)).task_ids == ["t-3", "t-7", "t-6", "t-5", "t-4"]
    # lowering the cap trims many at once
    smaller = TaskIndex(redis, ttl_seconds=600, max_tasks=2)
    await smaller.touch(
        principal, "t-9", agent=AGENT, state="working", context_id="c", updated_ms=base + 200
    )
    assert (await listed(smaller, principal)).task_ids == ["t-9", "t-3"]
    assert await redis.hlen(keys.meta) == 2 and await redis.zcard(keys.expiry) == 2


async def test_forget_drops_entries(log: EventLog, principal: str) -> None:
    base = now_ms() - 1000
    for i in range(3):
        await create(log, principal, f"t-{i}", base + i)
    await log.index.forget(principal, ["t-1", "t-unknown"])
    await log.index.forget(principal, [])
    assert (await listed(log.index, principal)).task_ids == ["t-2", "t-0"]
    keys = log.index.keys(principal)
    assert await log.redis.hlen(keys.meta) == 2
    assert await log.redis.zcard(keys.expiry) == 2


async def test_a_discarded_task_leaves_the_index(log: EventLog, principal: str) -> None:
    await create(log, principal, "t-1", now_ms() - 1000)
    await create(log, principal, "t-2", now_ms() - 500)
    await log.discard(log.keys(principal, "t-2"))
    assert (await listed(log.index, principal)).task_ids == ["t-1"]


async def test_a_status_update_finds_the_agent_when_the_entry_is_gone(
    log: EventLog, principal: str
) -> None:
    await create(log, principal, "t-1", now_ms() - 1000, agent="ask")
    await log.index.forget(principal, ["t-1"])
    working = status_event("t-1", "c", TaskState.WORKING, None, final=False)
    await log.append_status(log.keys(principal, "t-1"), 1, working)
    await log.indexed()
    assert (await listed(log.index, principal, agent="ask")).task_ids == ["t-1"]
    entry = await meta(log.redis, log.index, principal, "t-1")
    assert (entry["agent"], entry["state"], entry["seq"]) == ("ask", "working", 1)


async def test_refused_appends_leave_the_index_alone(
    log: EventLog, principal: str, redis: Redis
) -> None:
    await create(log, principal, "t-1", now_ms() - 1000)
    keys = log.keys(principal, "t-1")
    index_keys = log.index.keys(principal)

    async def state() -> tuple[object, ...]:
        return (
            await redis.hgetall(index_keys.meta),
            await redis.zrange(index_keys.tasks, 0, -1, withscores=True),
            await redis.zrange(index_keys.expiry, 0, -1, withscores=True),
        )

    # a create of an existing task (here by another agent) is refused
    again = new_task("t-1", context_id="elsewhere", at=now_ms())
    before = await state()
    assert not (await log.create(keys, again, agent="other")).appended
    assert await state() == before

    asking = status_event("t-1", "c", TaskState.INPUT_REQUIRED, None, final=True)
    assert (await log.append_status(keys, 1, asking)).appended
    await log.indexed()
    before = await state()
    late = status_event("t-1", "c", TaskState.WORKING, None, final=False)
    assert not (await log.append_status(keys, 1, late)).appended  # duplicate seq
    await log.indexed()
    assert await state() == before

    # an artifact chunk does not change the status
    chunk = TaskArtifactUpdateEvent(
        task_id="t-1",
        context_id="c",
        artifact=Artifact(artifact_id="a", parts=[TextPart(text="x")]),
    )
    assert (await log.append_artifact(keys, 2, chunk)).appended
    assert await state() == before

    done = status_event("t-1", "c", TaskState.COMPLETED, None, final=True)
    assert (await log.append_status(keys, 3, done)).appended
    await log.indexed()
    before = await state()
    answer = Message(message_id="m2", role="user", parts=[TextPart(text="Ada")])
    assert not (await log.accept(keys, answer, "c")).appended  # final: refused
    canceled = status_event("t-1", "c", TaskState.CANCELED, None, final=True)
    assert not (await log.append_status(keys, -1, canceled)).appended
    await log.indexed()
    assert await state() == before
    assert (await listed(log.index, principal, state="completed")).task_ids == ["t-1"]

    # a status update for a task Redis does not hold is not indexed either
    missing = status_event("t-2", "c", TaskState.WORKING, None, final=False)
    assert not (await log.append_status(log.keys(principal, "t-2"), 1, missing)).exists
    await log.indexed()
    assert await state() == before


async def test_an_out_of_order_update_is_ignored(redis: Redis, principal: str) -> None:
    index = TaskIndex(redis, ttl_seconds=600)
    now = now_ms()

    async def touch(state: str, seq: int | None, at: int, agent: str = AGENT) -> Touched:
        return await index.touch(
            principal, "t-1", agent=agent, state=state, context_id="", updated_ms=at, seq=seq
        )

    assert await touch("working", 3, now, agent="") is Touched.UNKNOWN
    assert await redis.hlen(index.keys(principal).meta) == 0
    assert await touch("submitted", None, now - 10) is Touched.WRITTEN
    assert await touch("canceled", 5, now, agent="") is Touched.WRITTEN
    assert await touch("working", 4, now + 5, agent="") is Touched.STALE
    assert await touch("working", 5, now + 5, agent="") is Touched.STALE
    entry = await meta(redis, index, principal, "t-1")
    assert (entry["state"], entry["updated"], entry["agent"]) == ("canceled", now, AGENT)
    # a create starts the task's life over: it always applies
    assert await touch("submitted", None, now + 9) is Touched.WRITTEN
    assert await touch("working", 1, now + 10, agent="") is Touched.WRITTEN


async def test_expired_tasks_are_left_out_and_pruned(redis: Redis, principal: str) -> None:
    index = TaskIndex(redis, ttl_seconds=600, terminal_ttl_seconds=1)
    now = now_ms()
    for task_id, state in (("t-done", "completed"), ("t-live", "working")):
        await index.touch(
            principal, task_id, agent=AGENT, state=state, context_id="c", updated_ms=now
        )
    assert (await listed(index, principal)).total_size == 2
    await asyncio.sleep(1.1)
    page = await listed(index, principal)
    assert (page.task_ids, page.total_size) == (["t-live"], 1)
    assert await redis.hexists(index.keys(principal).meta, "t-done")  # until the next write
    await index.touch(
        principal, "t-new", agent=AGENT, state="working", context_id="c", updated_ms=now
    )
    keys = index.keys(principal)
    assert not await redis.hexists(keys.meta, "t-done")
    assert await redis.zscore(keys.tasks, "t-done") is None
    assert await redis.zscore(keys.expiry, "t-done") is None


async def test_a_task_rebuilt_with_an_old_status_stays_listed(redis: Redis, principal: str) -> None:
    # its status is older than the TTL, but its keys were just written: it lives on
    log = EventLog(redis, ttl_seconds=600, maxlen=1000)
    old = int((datetime.now(UTC) - timedelta(days=30)).timestamp() * 1000)
    await create(log, principal, "t-old", old)
    await create(log, principal, "t-new", now_ms())
    page = await listed(log.index, principal)
    assert page.task_ids == ["t-new", "t-old"]


async def test_page_size_must_be_positive(log: EventLog, principal: str) -> None:
    with pytest.raises(ValueError, match="page_size"):
        await listed(log.index, principal, page_size=0)


def test_epoch_ms_reads_status_timestamps() -> None:
    assert epoch_ms("1970-01-01T00:00:01.5Z") == 1500
    assert epoch_ms("1970-01-01T00:00:01.999999+00:00") == 1999
    assert epoch_ms("1970-01-01T01:00:00+01:00") == 0
    assert epoch_ms("1970-01-01T00:00:02") == 2000  # naive: UTC
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 3, tzinfo=UTC)) == 3000
    before = now_ms()
    assert before <= epoch_ms(None) <= now_ms()
    assert before <= epoch_ms("not a time") <= now_ms()


async def test_an_index_failure_does_not_fail_the_append(
    log: EventLog, principal: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await create(log, principal, "t-1", now_ms() - 1000)

    async def broken(*args: object, **kwargs: object) -> Touched:
        raise RedisConnectionError("index shard down")

    monkeypatch.setattr(log.index, "touch", broken)
    working = status_event("t-1", "c", TaskState.WORKING, None, final=False)
    assert (await log.append_status(log.keys(principal, "t-1"), 1, working)).appended
    await log.indexed()
    assert "the task index was not updated" in caplog.text
    monkeypatch.undo()
    assert (await meta(log.redis, log.index, principal, "t-1"))["state"] == "submitted"
    # the task's next status repairs the entry
    done = status_event("t-1", "c", TaskState.COMPLETED, None, final=True)
    assert (await log.append_status(log.keys(principal, "t-1"), 2, done)).appended
    await log.indexed()
    assert (await meta(log.redis, log.index, principal, "t-1"))["state"] == "completed"
