"""The task workflow: orchestrates turns; never touches Redis itself (brief, decision 7).

Lifecycle: run turn 0 with the first message; while the turn leaves the task
``input-required`` or ``auth-required``, wait for a ``user_message`` signal and run the
next turn with it. Signals are de-duplicated by ``messageId``, so a client's retry does
not start a second turn. Cancelling the workflow publishes a final ``canceled`` status;
a turn that fails for good publishes ``failed``. Events published by a cancelled turn
after that are dropped by the append script, which accepts nothing after a final state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError

with workflow.unsafe.imports_passed_through():
    from a2a_gateway.worker.inputs import (
        QUERY_STATE,
        SIGNAL_MESSAGE,
        WORKFLOW_NAME,
        FinalInput,
        TaskInput,
        TurnInput,
        TurnResult,
    )

INTERRUPTED = ("input-required", "auth-required")
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
        self._state = "submitted"

    @workflow.run
    async def run(self, task: TaskInput) -> str:
        self._seen.add(str(task.message.get("messageId")))
        message, turn, seq = task.message, 0, 1
        try:
            while True:
                self._state = "working"
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
                    ),
                    result_type=TurnResult,
                    start_to_close_timeout=TURN_TIMEOUT,
                    heartbeat_timeout=TURN_HEARTBEAT,
                    retry_policy=TURN_RETRY,
                )
                self._state, seq = result.state, result.next_seq
                if result.state not in INTERRUPTED:
                    return result.state
                await workflow.wait_condition(lambda: bool(self._inbox))
                message, turn = self._inbox.pop(0), turn + 1
        except asyncio.CancelledError:
            await self._canceled(task)
            raise
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                await self._canceled(task)
                raise asyncio.CancelledError from err
            self._state = "failed"
            await self._final(task, "failed", "The agent failed to complete the task.")
            workflow.logger.warning("task %s failed: %s", task.task_id, err.cause)
            return "failed"

    async def _canceled(self, task: TaskInput) -> None:
        self._state = "canceled"
        await self._final(task, "canceled", "")

    async def _final(self, task: TaskInput, state: str, text: str) -> None:
        await workflow.execute_activity(
            "publish_final",
            FinalInput(task.principal, task.task_id, task.context_id, state, text),
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
        return self._state
