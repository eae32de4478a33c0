"""The worker process: one Temporal ``Worker`` per task queue in the routing table.

``A2A_WORKER_QUEUES`` (comma-separated) limits the process to some queues; by default it
serves every queue the routes name. Each queue runs at most as many turns at once as the
``maxConcurrentTurns`` of its routes add up to, so a flood of one agent's tasks fills its
own queue's slots and nobody else's (a task's final ``canceled``/``failed`` status is a
local activity, outside those slots, so it never waits behind them). SIGTERM and SIGINT
drain in-flight activities gracefully (Temporal retries whatever does not finish on
another worker).

Tracing (``a2a_gateway.tracing``): when the OpenTelemetry environment asks for it, the
client carries Temporal's tracing interceptor, which the workers inherit, so workflow and
activity spans join the trace of the request that started the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.worker import Worker

from a2a_gateway import logs, tracing
from a2a_gateway import metrics as m
from a2a_gateway.config import ConfigError, Settings, connect_temporal
from a2a_gateway.metrics import Metrics
from a2a_gateway.routing import Routing
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.worker.activities import RedisTaskActivities
from a2a_gateway.worker.dispatch import dispatcher
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
    tracing.configure("a2a-gateway-worker")
    port = settings.worker_metrics_port
    metrics = Metrics(
        "worker",
        prometheus=bool(port),
        emf=settings.metrics_emf,
        cloudwatch=settings.metrics_cloudwatch,
        namespace=settings.metrics_namespace,
    )
    if port:  # Prometheus text at http://127.0.0.1:<port>/metrics
        metrics.serve(port)
    events = EventLog.from_settings(settings)
    client = tracing.traced_client(await connect_temporal(settings))
    workers = []
    for queue in sorted(served):
        agents = {r.name: r.load() for r in routing.routes.values() if r.task_queue == queue}
        activities = RedisTaskActivities(events, agents, metrics)
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
        if settings.push_notifications:
            push = await dispatcher(settings, events)
            delivering = asyncio.create_task(push.run(), name="push-dispatcher")
            stack.push_async_callback(_stopped, delivering)
            log.info("dispatching push notifications from this worker")
        log.info("worker ready")
        await _tend(client, served, metrics, settings, stop)
    await asyncio.to_thread(metrics.flush)
    await events.close()


async def _stopped(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


HEARTBEAT_SECONDS = 15.0
"""How often the worker touches ``A2A_WORKER_HEARTBEAT_FILE`` (the container's liveness
check reads its age)."""


async def _tend(
    client: Client, queues: set[str], metrics: Metrics, settings: Settings, stop: asyncio.Event
) -> None:
    """Until ``stop``: touch the heartbeat file, and every ``A2A_METRICS_FLUSH_SECONDS``
    read the task queues' backlog (``TaskQueueBacklog``, what the service scales on) and
    write the metrics. The file is touched by this event loop, so a hung loop shows."""
    backlog = {"value": 0.0}
    metrics.gauge(m.TASK_QUEUE_BACKLOG, lambda: backlog["value"])
    flushed = time.monotonic()
    tick = min(HEARTBEAT_SECONDS, settings.metrics_flush_seconds)
    while not stop.is_set():
        if settings.worker_heartbeat_file:
            await asyncio.to_thread(Path(settings.worker_heartbeat_file).touch)
        if time.monotonic() - flushed >= settings.metrics_flush_seconds:
            flushed = time.monotonic()
            if metrics.enabled:
                backlog["value"] = float(await task_queue_backlog(client, queues))
            await asyncio.to_thread(metrics.flush)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick)


async def task_queue_backlog(client: Client, queues: set[str]) -> int:
    """The approximate number of activity tasks (turns) waiting in ``queues``, from
    Temporal's task-queue stats; a queue whose stats cannot be read counts 0 (logged)."""
    total = 0
    for queue in sorted(queues):
        request = DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            report_stats=True,
        )
        try:
            described = await client.workflow_service.describe_task_queue(request)
        except Exception as err:
            log.warning("task queue %s: backlog unknown (%s)", queue, type(err).__name__)
            continue
        total += described.stats.approximate_backlog_count
    return total


def main() -> None:
    settings = Settings.from_env()
    logs.configure("worker", settings.log_level)
    queues = {q for q in os.environ.get("A2A_WORKER_QUEUES", "").split(",") if q}
    asyncio.run(run_worker(settings, queues or None))


if __name__ == "__main__":
    main()
