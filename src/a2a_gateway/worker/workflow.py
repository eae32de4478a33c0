"""The task workflow: orchestrates turns; never touches Redis itself (brief, decision 7).

Lifecycle: run turn 0 with the first message; while the turn leaves the task
``input-required`` or ``auth-required``, wait for a ``user_message`` signal and run the
next turn with it. Signals are de-duplicated by ``messageId``, so a client's retry does
not start a second turn. Cancelling the workflow publishes a final ``canceled`` status;
a turn that fails for good publishes ``failed``. Events published by a cancelled turn
after that are dropped by the append script, which accepts nothing after a final state.

Source of truth: the workflow keeps a compact view of the task (status, history,
artifacts as of the last turn boundary) and answers the ``task`` query with it, so the
gateway and the worker can rebuild a task that Redis has lost (eviction, failover, TTL).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from a2a_gateway.core.contract import (
        QUERY_STATE,
        QUERY_TASK,
        SIGNAL_MESSAGE,
        WORKFLOW_NAME,
        FinalInput,
        TaskInput,
        TurnInput,
        TurnResult,
    )
    from a2a_gateway.core.states import INTERRUPTED

TURN_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=0,
)
TURN_HEARTBEAT = timedelta(seconds=3)
TURN_TIMEOUT = timedelta(hours=6)
FINAL_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=WORKFLOW_NAME)
class TaskWorkflow:
    """One A2A task."""

    def __init__(self) -> None:
        self._inbox: list[dict[str, Any]] = []
        self._seen: set[str] = set()
        self._task: dict[str, Any] = {}

    @workflow.run
    async def run(self, task: TaskInput) -> str:
        self._seen.add(str(task.message.get("messageId")))
        self._task = {
            "kind": "task",
            "id": task.task_id,
            "contextId": task.context_id,
            "status": {"state": "submitted"},
            "history": [task.message],
            "artifacts": [],
        }
        if task.metadata:
            self._task["metadata"] = task.metadata
        message, turn, seq = task.message, 0, 1
        try:
            while True:
                self._task["status"] = {"state": "working"}
                result: TurnResult = await workflow.execute_activity(
                    "run_turn",
                    TurnInput(
                        task.principal,
                        task.task_id,
                        task.context_id,
                        task.agent,
                        message,
                        turn,
                        seq,
                        self._view(),
                    ),
                    result_type=TurnResult,
                    start_to_close_timeout=TURN_TIMEOUT,
                    heartbeat_timeout=TURN_HEARTBEAT,
                    retry_policy=TURN_RETRY,
                )
                seq = result.next_seq
                self._apply(result)
                if result.state not in INTERRUPTED:
                    return result.state
                await workflow.wait_condition(lambda: bool(self._inbox))
                message, turn = self._inbox.pop(0), turn + 1
                self._task["history"].append(message)
        except asyncio.CancelledError:
            await self._final(task, "canceled", "")
            raise
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                await self._final(task, "canceled", "")
                raise asyncio.CancelledError from err
            await self._final(task, "failed", "The agent failed to complete the task.")
            workflow.logger.warning("task %s failed: %s", task.task_id, err.cause)
            return "failed"

    def _view(self) -> dict[str, Any]:
        view = dict(self._task)
        view["history"] = list(self._task["history"])
        view["artifacts"] = list(self._task["artifacts"])
        return view

    def _apply(self, result: TurnResult) -> None:
        """Fold a turn's outcome into the task view."""
        self._task["status"] = result.status or {"state": result.state}
        self._task["history"].extend(result.messages)
        by_id = {a["artifactId"]: a for a in self._task["artifacts"]}
        for artifact in result.artifacts:
            by_id[artifact["artifactId"]] = artifact
        self._task["artifacts"] = list(by_id.values())

    async def _final(self, task: TaskInput, state: str, text: str) -> None:
        self._task["status"] = {"state": state}
        await workflow.execute_activity(
            "publish_final",
            FinalInput(task.principal, task.task_id, task.context_id, state, text, self._view()),
            start_to_close_timeout=FINAL_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
        )

    @workflow.signal(name=SIGNAL_MESSAGE)
    def user_message(self, message: dict[str, Any]) -> None:
        message_id = str(message.get("messageId"))
        if message_id in self._seen:
            return
        self._seen.add(message_id)
        self._inbox.append(message)

    @workflow.query(name=QUERY_STATE)
    def state(self) -> str:
        return str(self._task.get("status", {}).get("state", "submitted"))

    @workflow.query(name=QUERY_TASK)
    def task(self) -> dict[str, Any]:
        """The task as the workflow knows it: exact at turn boundaries, behind mid-turn."""
        view = self._view()
        if not view["artifacts"]:
            del view["artifacts"]
        return view
