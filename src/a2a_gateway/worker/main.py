"""The worker process: one Temporal ``Worker`` per task queue in the routing table.

``A2A_WORKER_QUEUES`` (comma-separated) limits the process to some queues; by default it
serves every queue the routes name. Each queue runs at most as many turns at once as the
``maxConcurrentTurns`` of its routes add up to, so a flood of one agent's tasks fills its
own queue's slots and nobody else's (a task's final ``canceled``/``failed`` status is a
local activity, outside those slots, so it never waits behind them). SIGTERM and SIGINT
drain in-flight activities gracefully (Temporal retries whatever does not finish on
another worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio.worker import Worker

from a2a_gateway.config import ConfigError, Settings, connect_temporal
from a2a_gateway.routing import Routing
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.worker.activities import RedisTaskActivities
from a2a_gateway.worker.workflow import TaskWorkflow

if TYPE_CHECKING:
    from temporalio.client import Client

    from a2a_gateway.core.contract import TaskActivities

log = logging.getLogger("a2a_gateway.worker")


def task_worker(client: Client, queue: str, activities: TaskActivities, slots: int) -> Worker:
    """The Temporal worker of one task queue: the task workflow, ``activities``, at most
    ``slots`` turns at once, heartbeats sent at least every second (so a cancellation
    reaches a turn within about a second)."""
    return Worker(
        client,
        task_queue=queue,
        workflows=[TaskWorkflow],
        activities=[activities.run_turn, activities.publish_final],
        max_concurrent_activities=slots,
        max_heartbeat_throttle_interval=timedelta(seconds=1),
        default_heartbeat_throttle_interval=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=5),
    )


async def run_worker(settings: Settings, queues: set[str] | None = None) -> None:
    """Serve the task queues until SIGINT or SIGTERM."""
    routing = Routing.load(settings.routes_file)
    served = queues or routing.task_queues
    unknown = served - routing.task_queues
    if unknown:
        raise ConfigError(f"A2A_WORKER_QUEUES: no route uses {', '.join(sorted(unknown))}")
    events = EventLog.from_settings(settings)
    client = await connect_temporal(settings)
    workers = []
    for queue in sorted(served):
        agents = {r.name: r.load() for r in routing.routes.values() if r.task_queue == queue}
        activities = RedisTaskActivities(events, agents)
        slots = routing.queue_slots(queue)
        log.info("task queue %s: agents %s, %d turns at once", queue, ", ".join(agents), slots)
        workers.append(task_worker(client, queue, activities, slots))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker serving task queues %s", ", ".join(sorted(served)))
    async with contextlib.AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        log.info("worker ready")
        await stop.wait()
    await events.close()


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    queues = {q for q in os.environ.get("A2A_WORKER_QUEUES", "").split(",") if q}
    asyncio.run(run_worker(Settings.from_env(), queues or None))


if __name__ == "__main__":
    main()
