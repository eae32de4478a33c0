"""The task workflow: orchestrates turns; never touches Redis itself (brief, decision 7).

Lifecycle: run turn 0 with the task's first message (history[0] in the event log); while
a turn leaves the task ``input-required`` or ``auth-required``, wait for a
``user_message`` signal (a ``MessageRef`` to a follow-up the gateway has already accepted
into the log at sequence number ``seq``) and run the next turn with it. Signals are
de-duplicated by ``messageId``, so a client's retry does not start a second turn.

Limits (the route's ``TurnPolicy``): each attempt of a turn is bounded by the turn
timeout and the route's heartbeat, a turn by ``turn_attempts`` attempts, and the whole
task by its deadline (``task_timeout_seconds`` after the start): waiting for an answer
past the deadline, running past it, reaching ``max_turns`` or spending every attempt of a
turn ends the task ``failed`` with a message saying why. The gateway's execution timeout
is only a backstop behind these.

Cancellation: cancelling the workflow publishes a final ``canceled`` status at once,
then cancels the running turn and waits (at most ``TURN_STOP_SECONDS``) until it has
stopped, so the worker reports a cancellation, not a failure. Events published by a turn
after the final state are refused by the append script, and a turn whose event is refused
that way stops: a turn stops even when Temporal's cancellation never reaches it (it
travels on heartbeats, and one requested as the turn starts can be lost).

Claim check (brief, decision 11): inputs, signals and results carry references, sizes and
a bounded ``TaskView``; the ``task`` query answers with that view, from which the gateway
and the worker rebuild a task that Redis has lost (eviction, failover, TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError, TimeoutType
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from a2a_gateway.core.contract import (
        QUERY_STATE,
        QUERY_TASK,
        SIGNAL_MESSAGE,
        WORKFLOW_NAME,
        FinalInput,
        MessageRef,
        TaskActivities,
        TaskInput,
        TaskView,
        TurnInput,
        TurnPolicy,
        TurnResult,
        bounded_status,
    )
    from a2a_gateway.core.states import INTERRUPTED, TaskState

FINAL_TIMEOUT = timedelta(seconds=30)
TURN_STOP_SECONDS = 30
FINAL_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=5), maximum_attempts=50)
AGENT_FAILED_TEXT = "The agent failed to complete the task."


def turn_retry(policy: TurnPolicy) -> RetryPolicy:
    """The retry policy of a turn: ``turn_attempts`` attempts with a short backoff."""
    return RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=policy.turn_attempts,
    )


def duration(seconds: float) -> str:
    """``seconds`` for people: '45 seconds', '2 minutes', '7 days'."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


@workflow.defn(name=WORKFLOW_NAME)
class TaskWorkflow:
    """One A2A task (see the module docstring)."""

    def __init__(self) -> None:
        self._inbox: list[MessageRef] = []
        self._seen: set[str] = set()
        self._view = TaskView(task_id="", context_id="", agent="")
        self._turn: workflow.ActivityHandle[TurnResult] | None = None

    @workflow.run
    async def run(self, task: TaskInput) -> str:
        policy = task.policy
        self._seen.add(task.message_id)
        self._view = TaskView(task.task_id, task.context_id, task.agent)
        deadline = workflow.now() + timedelta(seconds=policy.task_timeout_seconds)
        limit = duration(policy.task_timeout_seconds)
        message_id, turn, seq = task.message_id, 0, 1
        try:
            while True:
                left = deadline - workflow.now()
                if left <= timedelta(0):
                    return await self._fail(task, f"The task did not finish within {limit}.")
                self._view.status = {"state": TaskState.WORKING.value}
                self._turn = workflow.start_activity_method(
                    TaskActivities.run_turn,
                    TurnInput(
                        task.principal,
                        task.task_id,
                        task.context_id,
                        task.agent,
                        message_id,
                        turn,
                        seq,
                        self._snapshot(),
                    ),
                    start_to_close_timeout=timedelta(seconds=policy.turn_timeout_seconds),
                    schedule_to_close_timeout=left,
                    heartbeat_timeout=timedelta(seconds=policy.heartbeat_seconds),
                    retry_policy=turn_retry(policy),
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
                # Shielded: a cancellation of the task is seen here at once, not when the
                # turn has stopped (see ``_cancelled``).
                result = await asyncio.shield(self._turn)
                self._turn = None
                seq = result.next_seq
                self._apply(result)
                if result.state not in INTERRUPTED:
                    return result.state
                if turn + 1 >= policy.max_turns:
                    text = f"The task reached its limit of {policy.max_turns} turns."
                    return await self._fail(task, text)
                ref = await self._next_message(deadline)
                if ref is None:
                    return await self._fail(task, f"No answer within {limit}; the task has ended.")
                message_id, turn, seq = ref.message_id, turn + 1, max(seq, ref.seq + 1)
        except asyncio.CancelledError:
            await self._cancelled(task)
            raise
        except ActivityError as err:
            if isinstance(err.cause, CancelledError) or workflow.cancellation_reason() is not None:
                await self._final(task, TaskState.CANCELED, "")
                raise asyncio.CancelledError from err
            workflow.logger.warning("task %s: turn failed for good: %r", task.task_id, err.cause)
            cause = err.cause
            if (
                isinstance(cause, TemporalTimeoutError)
                and cause.type == TimeoutType.SCHEDULE_TO_CLOSE
            ):
                return await self._fail(task, f"The task did not finish within {limit}.")
            return await self._fail(task, AGENT_FAILED_TEXT)

    async def _cancelled(self, task: TaskInput) -> None:
        """The task was cancelled: publish ``canceled`` first (the client sees it at once,
        and the event log refuses anything the turn publishes after it), then cancel the
        running turn, if any, and give it ``TURN_STOP_SECONDS`` to stop. Temporal delivers
        an activity's cancellation on its heartbeats, and one requested as the turn starts
        can be lost; the turn then stops at its next event, when the log refuses it."""
        await self._final(task, TaskState.CANCELED, "")
        turn, self._turn = self._turn, None
        if turn is None or turn.done():
            return
        turn.cancel()
        try:
            await workflow.wait_condition(turn.done, timeout=TURN_STOP_SECONDS)
        except TimeoutError:
            workflow.logger.warning(
                "task %s: the cancelled turn did not stop within %s s; left to end by itself",
                task.task_id,
                TURN_STOP_SECONDS,
            )

    async def _next_message(self, deadline: datetime) -> MessageRef | None:
        """The next follow-up, or None if none came before ``deadline``."""
        left = (deadline - workflow.now()).total_seconds()
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=left)
        return self._inbox.pop(0) if self._inbox else None

    def _snapshot(self) -> TaskView:
        """A copy of the view, for an activity input."""
        return TaskView(
            self._view.task_id, self._view.context_id, self._view.agent, dict(self._view.status)
        )

    def _apply(self, result: TurnResult) -> None:
        """Fold a turn's outcome into the view (bounded whatever the turn returned)."""
        self._view.status = bounded_status(result.status or {"state": result.state})

    async def _fail(self, task: TaskInput, text: str) -> str:
        """End the task ``failed`` with ``text`` for the client."""
        workflow.logger.info("task %s failed: %s", task.task_id, text)
        await self._final(task, TaskState.FAILED, text)
        return TaskState.FAILED.value

    async def _final(self, task: TaskInput, state: TaskState, text: str) -> None:
        self._view.status = {"state": state.value}
        # A local activity: a final status never queues behind the agent's busy turn slots.
        await workflow.execute_local_activity_method(
            TaskActivities.publish_final,
            FinalInput(
                task.principal, task.task_id, task.context_id, state.value, text, self._snapshot()
            ),
            start_to_close_timeout=FINAL_TIMEOUT,
            retry_policy=FINAL_RETRY,
        )

    @workflow.signal(name=SIGNAL_MESSAGE)
    def user_message(self, ref: MessageRef) -> None:
        """A follow-up accepted by the gateway; a message id already seen is ignored."""
        if ref.message_id in self._seen:
            return
        self._seen.add(ref.message_id)
        self._inbox.append(ref)

    @workflow.query(name=QUERY_STATE)
    def state(self) -> str:
        return str(self._view.status.get("state", TaskState.SUBMITTED.value))

    @workflow.query(name=QUERY_TASK)
    def task(self) -> TaskView:
        """The bounded view: exact at turn boundaries, ``working`` during a turn."""
        return self._snapshot()
