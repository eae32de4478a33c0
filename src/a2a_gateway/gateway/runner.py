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

from a2a_gateway.config import connect_temporal
from a2a_gateway.core.contract import (
    QUERY_TASK,
    SIGNAL_MESSAGE,
    WORKFLOW_NAME,
    TaskInput,
    workflow_id,
)

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from a2a_gateway.config import Settings

QUERY_TIMEOUT = timedelta(seconds=5)


class TaskRunner(Protocol):
    """Where tasks run. ``start`` is idempotent; ``cancel`` returns False if no run exists."""

    async def start(self, task: TaskInput, task_queue: str) -> None: ...

    async def send(self, principal: str, task_id: str, message: dict[str, Any]) -> None: ...

    async def cancel(self, principal: str, task_id: str) -> bool: ...

    async def task(self, principal: str, task_id: str) -> dict[str, Any] | None:
        """The task as the run knows it (wire form), or None if there is no run."""
        ...


class TemporalRunner:
    """``TaskRunner`` on a Temporal client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @classmethod
    async def connect(cls, settings: Settings) -> TemporalRunner:
        return cls(await connect_temporal(settings))

    def _handle(self, principal: str, task_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id(principal, task_id))

    async def start(self, task: TaskInput, task_queue: str) -> None:
        try:
            await self.client.start_workflow(
                WORKFLOW_NAME,
                task,
                id=workflow_id(task.principal, task.task_id),
                task_queue=task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except WorkflowAlreadyStartedError:
            return

    async def send(self, principal: str, task_id: str, message: dict[str, Any]) -> None:
        await self._handle(principal, task_id).signal(SIGNAL_MESSAGE, message)

    async def task(self, principal: str, task_id: str) -> dict[str, Any] | None:
        try:
            view: dict[str, Any] = await self._handle(principal, task_id).query(
                QUERY_TASK, rpc_timeout=QUERY_TIMEOUT
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
