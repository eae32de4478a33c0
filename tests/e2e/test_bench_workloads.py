"""The benchmark's own workload, small, against the real gateway: every stream it opens
must be served to its final event. (A benchmark that silently measures refusals is worse
than none; this caught its tasks being owned by an agent its clients do not call.)"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import httpx

from a2a_gateway.config import Settings
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway_dev.bench import workloads
from a2a_gateway_dev.bench.client import ClientJob, run_inline

if TYPE_CHECKING:
    from a2a_gateway_dev.devstack import Stack

STREAMS = 8
STEPS = 3


async def test_the_resubscribe_workload_is_delivered_in_full(
    stack: Stack, gateway_url: str
) -> None:
    events = EventLog.from_settings(Settings.from_env({"REDIS_URL": stack.redis_url}))
    task_ids = [f"bench-smoke-{uuid.uuid4()}" for _ in range(STREAMS)]
    port = int(gateway_url.rsplit(":", 1)[1])
    try:
        await workloads.create_tasks(events, task_ids)
        job = ClientJob("127.0.0.1", port, workloads.ours_resubscribe(task_ids), timeout=60)
        clients = asyncio.create_task(run_inline(job))
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(200):  # until every stream is live in the gateway's hub
                health = (await http.get(gateway_url + "/healthz")).json()
                if health["subscriptions"] >= STREAMS or clients.done():
                    break
                await asyncio.sleep(0.05)
        await workloads.publish(events, task_ids, STEPS, 0.0)
        result = await asyncio.wait_for(clients, 60)
    finally:
        await events.close()
    assert result.errors == [] and result.failed == 0
    assert result.completed == STREAMS
    assert result.status_events == STREAMS * (STEPS + 1)
