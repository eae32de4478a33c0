"""Unknown task ids cost Redis reads, not Temporal queries (issue 9, item 12).

The service runs on the real Temporal runner and a real Valkey; the only addition is a
wrapper that counts the runner's ``task`` queries before passing them on."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from temporalio.client import Client

from a2a_gateway.config import Settings
from a2a_gateway.errors import TaskNotFoundError
from a2a_gateway.gateway.runner import TemporalRunner
from a2a_gateway.gateway.service import A2AService, Call
from a2a_gateway.models import TaskQueryParams
from a2a_gateway.routing import builtin
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.store.hub import StreamHub
from a2a_gateway.store.keys import ANONYMOUS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

    from a2a_gateway.core.contract import TaskView
    from a2a_gateway_dev.devstack import Stack


class CountingRunner(TemporalRunner):
    """The real runner, counting its ``task`` queries."""

    queries = 0

    async def task(self, principal: str, task_id: str) -> TaskView | None:
        self.queries += 1
        return await super().task(principal, task_id)


@pytest.fixture
async def service(stack: Stack, redis: Redis) -> AsyncIterator[tuple[A2AService, CountingRunner]]:
    settings = Settings.from_env(
        {}, key_prefix=f"lk{uuid.uuid4().hex[:6]}", rebuild_queries_per_second=5.0
    )
    runner = CountingRunner(await Client.connect(stack.temporal_address))
    hub = StreamHub(redis)
    events = EventLog(redis, ttl_seconds=600, maxlen=100, key_prefix=settings.key_prefix)
    yield A2AService(events, hub, runner, settings), runner
    await hub.close()


def call() -> Call:
    return Call(ANONYMOUS, builtin().get(None), "1")  # type: ignore[arg-type]


async def get(service: A2AService, task_id: str) -> None:
    with pytest.raises(TaskNotFoundError):
        await service.get(call(), TaskQueryParams(id=task_id))


async def test_the_same_unknown_id_asks_temporal_once(
    service: tuple[A2AService, CountingRunner],
) -> None:
    a2a, runner = service
    for _ in range(50):
        await get(a2a, "never-existed")
    assert runner.queries == 1


async def test_a_flood_of_distinct_unknown_ids_is_bounded_by_the_budget(
    service: tuple[A2AService, CountingRunner],
) -> None:
    a2a, runner = service
    gate = asyncio.Semaphore(50)  # the test's own Redis client holds 100 connections

    async def one(task_id: str) -> None:
        async with gate:
            await get(a2a, task_id)

    await asyncio.gather(*(one(f"flood-{i}") for i in range(300)))
    # 5 queries a second with a burst of 5: the flood took well under a few seconds, so
    # at most a handful of the 300 lookups reached Temporal; all 300 were answered -32001.
    assert 1 <= runner.queries <= 25, runner.queries
