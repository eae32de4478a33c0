"""Starts, signals and cancels task workflows: the gateway's only use of Temporal.

The workflow id is derived from (principal, task id) and a duplicate start is refused by
Temporal, so a retried request can never start a second run of the same task.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from a2a_gateway import tracing
from a2a_gateway.config import connect_temporal
from a2a_gateway.core.contract import (
    QUERY_TASK,
    SIGNAL_MESSAGE,
    WORKFLOW_NAME,
    MessageRef,
    TaskInput,
    TaskView,
    workflow_id,
)

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from a2a_gateway.config import Settings

QUERY_TIMEOUT = timedelta(seconds=5)
# The workflow ends a task itself at its policy's task timeout; the server-side execution
# timeout is a backstop for a workflow that cannot (no worker at all), one hour later.
EXECUTION_TIMEOUT_MARGIN = timedelta(hours=1)


class TaskRunner(Protocol):
    """Where tasks run. ``start`` is idempotent; ``cancel`` returns False if no run exists."""

    async def start(self, task: TaskInput, task_queue: str) -> None: ...

    async def send(self, principal: str, task_id: str, message: MessageRef) -> None: ...

    async def cancel(self, principal: str, task_id: str) -> bool: ...

    async def task(self, principal: str, task_id: str) -> TaskView | None:
        """The task as the run knows it (bounded view), or None if there is no run."""
        ...


class TemporalRunner:
    """``TaskRunner`` on a Temporal client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    async def connect(cls, settings: Settings) -> TemporalRunner:
        """A runner on a new client; with tracing on, its calls carry the request's trace
        into the workflow (``tracing.traced_client``)."""
        return cls(tracing.traced_client(await connect_temporal(settings)))

    def _handle(self, principal: str, task_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id(principal, task_id))

    async def start(self, task: TaskInput, task_queue: str) -> None:
        # The request's span learns the id of a task it creates (the client did not send it).
        tracing.annotate({"a2a.task_id": task.task_id, "a2a.agent": task.agent})
        try:
            await self.client.start_workflow(
                WORKFLOW_NAME,
                task,
                id=workflow_id(task.principal, task.task_id),
                task_queue=task_queue,
                execution_timeout=(
                    timedelta(seconds=task.policy.task_timeout_seconds) + EXECUTION_TIMEOUT_MARGIN
                ),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            return

    async def send(self, principal: str, task_id: str, message: MessageRef) -> None:
        await self._handle(principal, task_id).signal(SIGNAL_MESSAGE, message)

    async def task(self, principal: str, task_id: str) -> TaskView | None:
        try:
            view: TaskView = await self._handle(principal, task_id).query(
                QUERY_TASK, result_type=TaskView, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise
        return view

    async def cancel(self, principal: str, task_id: str) -> bool:
        try:
            await self._handle(principal, task_id).cancel()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True
