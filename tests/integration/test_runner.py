"""The gateway's Temporal runner against the real dev server: what a start asks of Temporal."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio.client import Client

from a2a_gateway.core.contract import TaskInput, TurnPolicy, workflow_id
from a2a_gateway.gateway.runner import EXECUTION_TIMEOUT_MARGIN, TemporalRunner
from a2a_gateway.store.keys import ANONYMOUS

if TYPE_CHECKING:
    from a2a_gateway_dev.devstack import Stack


async def test_every_task_workflow_has_an_execution_timeout_and_starts_once(stack: Stack) -> None:
    client = await Client.connect(stack.temporal_address)
    runner = TemporalRunner(client)
    task_id = f"runner-{uuid.uuid4()}"
    policy = TurnPolicy(task_timeout_seconds=90)
    task = TaskInput(ANONYMOUS, task_id, "ctx", "echo", "m1", 10, policy)
    queue = f"no-worker-{uuid.uuid4()}"  # nothing runs it: only the start is inspected
    await runner.start(task, queue)
    await runner.start(task, queue)  # a retried start is not a second run
    handle = client.get_workflow_handle(workflow_id(ANONYMOUS, task_id))
    try:
        described = await handle.describe()
        config = described.raw_description.execution_config
        timeout = config.workflow_execution_timeout.ToTimedelta()
        assert timeout == timedelta(seconds=90) + EXECUTION_TIMEOUT_MARGIN
        assert config.task_queue.name == queue
    finally:
        await handle.terminate("test over")
