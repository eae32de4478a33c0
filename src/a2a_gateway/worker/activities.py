"""The task activities on Redis: run an agent turn and publish each output straight to the
event log (brief, decision 7), reading the turn's message from the log (decision 11).

Ordering and retries: sequence numbers are deterministic per turn (``seq_start`` plus the
output's index), so a retried turn re-publishes the same numbers and the append script
drops what is already there. Every failure of a turn is retried by Temporal under the
route's policy (a bounded number of attempts), Redis errors and agent errors alike; the
workflow ends the task ``failed`` when the attempts are spent. An agent's exception is
logged here with its stack, once per attempt; what crosses Temporal is a short message.

Cancellation: the turn's agent is cancelled where it awaits; that is expected, so it is
logged in one line at INFO and reported to Temporal as a cancellation (the workflow waits
for it, see ``workflow``), never as a failure with a traceback.

Claim check: a turn's result is its state, the next sequence number and its final status
bounded by ``bounded_status``; messages and artifacts stay in Redis.

Tracing (``a2a_gateway.tracing``; nothing when off): inside Temporal's ``RunActivity``
span, the snapshot read, the agent turn (``invoke_agent {agent}``) and each append
(``eventlog append``, with its sequence number and whether the log took it) are spans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from a2a_gateway import logs, tracing
from a2a_gateway import metrics as m
from a2a_gateway.agents.base import AgentContext, ArtifactChunk, Status
from a2a_gateway.core.contract import (
    FinalInput,
    TaskActivities,
    TurnInput,
    TurnResult,
    bounded_status,
)
from a2a_gateway.core.states import TaskState
from a2a_gateway.metrics import Metrics
from a2a_gateway.models import Artifact, Message, Part, Task, TaskArtifactUpdateEvent, TextPart
from a2a_gateway.store.eventlog import status_event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from typing import Any

    from a2a_gateway.agents.base import Agent
    from a2a_gateway.core.contract import TaskView
    from a2a_gateway.store.eventlog import AppendResult, EventLog, Snapshot
    from a2a_gateway.store.keys import TaskKeys

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 1.0
MAX_ERROR_CHARS = 500  # of an agent's exception message, in the Temporal failure
AGENT_FAILED = "AgentFailed"


def agent_message(
    message_id: str, parts: list[Part], task_id: str, context_id: str
) -> Message | None:
    """The agent's message for a status; ``message_id`` must be stable across retries."""
    if not parts:
        return None
    return Message(
        message_id=message_id, role="agent", parts=parts, task_id=task_id, context_id=context_id
    )


def _parts(text: str | None, parts: list[Part] | None = None) -> list[Part]:
    return list(parts or []) or ([TextPart(text=text)] if text else [])


def find_message(snapshot: Snapshot | None, message_id: str) -> Message | None:
    """The newest message ``message_id`` of the task's history, if Redis still has it."""
    if snapshot is None:
        return None
    for message in reversed(snapshot.task.history or []):
        if message.message_id == message_id:
            return message
    return None


class TaskClosed(Exception):
    """The task reached a terminal state outside this turn (cancelled, or finished by an
    earlier attempt): the turn stops and reports that state."""

    def __init__(self, state: TaskState) -> None:
        super().__init__(state.value)
        self.state = state


class TurnPublisher:
    """Publishes one run of one turn in sequence order and remembers its last status. If
    Redis has lost the task, it re-creates it from the workflow's bounded view (``view``)
    and publishes again: the worker heals the cache by itself."""

    def __init__(
        self, events: EventLog, keys: TaskKeys, context_id: str, seq: int, view: TaskView
    ) -> None:
        self.events = events
        self.keys = keys
        self.context_id = context_id
        self.seq = seq
        self.view = view
        self.status: dict[str, Any] = {}

    async def _publish(
        self, append: Callable[[], Awaitable[AppendResult]], kind: str, state: str = ""
    ) -> None:
        """Append one event (``kind``: status or artifact). Raises ``TaskClosed`` when the
        task is already in a terminal state: nothing more can be published, so the turn
        has no reason to go on."""
        attributes: dict[str, str | int] = {
            "db.system.name": "redis",
            "a2a.task_id": self.keys.task_id,
            "a2a.seq": self.seq,
            "a2a.event": kind,
        }
        if state:
            attributes["a2a.state"] = state
        with tracing.span("eventlog append", attributes, client=True):
            result = await append()
            if not result.exists:
                log.warning("task %s missing from Redis; restoring it", self.keys.task_id)
                task = Task.model_validate(self.view.wire())
                await self.events.create(self.keys, task, agent=self.view.agent)
                result = await append()
                tracing.annotate({"a2a.restored": True})
            tracing.annotate({"a2a.appended": result.appended})
        if not result.appended and result.state and TaskState(result.state).terminal:
            raise TaskClosed(TaskState(result.state))
        self.seq += 1

    async def state(
        self,
        state: TaskState,
        text: str | None = None,
        parts: list[Part] | None = None,
        message_id: str | None = None,
    ) -> bool:
        """Publish a status; True if it ends the turn (terminal or interrupted)."""
        seq, task_id = self.seq, self.keys.task_id
        message_id = message_id or f"{task_id}-{seq}"
        message = agent_message(message_id, _parts(text, parts), task_id, self.context_id)
        final = state.final
        event = status_event(task_id, self.context_id, state, message, final)
        await self._publish(
            lambda: self.events.append_status(self.keys, seq, event), "status", state.value
        )
        self.status = event.status.dump()
        return final

    async def artifact(self, chunk: ArtifactChunk) -> None:
        seq = self.seq
        event = TaskArtifactUpdateEvent(
            task_id=self.keys.task_id,
            context_id=self.context_id,
            artifact=Artifact(artifact_id=chunk.artifact_id, name=chunk.name, parts=chunk.parts),
            append=chunk.append,
            last_chunk=chunk.last_chunk,
        )
        await self._publish(lambda: self.events.append_artifact(self.keys, seq, event), "artifact")

    def result(self, state: TaskState) -> TurnResult:
        """What the workflow keeps of the turn (bounded)."""
        return TurnResult(state.value, self.seq, bounded_status(self.status or {"state": state}))


class RedisTaskActivities(TaskActivities):
    """The task activities on one event log and the agents loaded for one task queue."""

    def __init__(
        self, events: EventLog, agents: dict[str, Agent], metrics: Metrics | None = None
    ) -> None:
        self.events = events
        self.agents = agents
        self.metrics = metrics or Metrics("worker")

    @activity.defn(name="run_turn")
    async def run_turn(self, turn: TurnInput) -> TurnResult:
        """See ``TaskActivities.run_turn``. The turn's message is looked up in the task's
        history by ``messageId``; if Redis no longer has it, the task ends ``failed``
        (re-created from the view if needed) instead of running the agent on nothing."""
        agent = self.agents.get(turn.agent)
        if agent is None:
            raise ApplicationError(
                f"no agent named {turn.agent!r} on this worker", non_retryable=True
            )
        logs.correlate(task_id=turn.task_id, agent=turn.agent, principal=turn.principal)
        attempt = activity.info().attempt
        if attempt > 1:
            self.metrics.record(m.WORKER_TURN_RETRIES, Agent=turn.agent)
        outcome = "error"
        try:
            result = await self._turn(agent, turn)
            outcome = result.state
            return result
        except asyncio.CancelledError:
            outcome = "canceled"
            raise
        finally:
            self.metrics.record(m.WORKER_TURNS, Agent=turn.agent, Outcome=outcome)
            log.info("turn %d ended: %s (attempt %d)", turn.turn, outcome, attempt)

    async def _turn(self, agent: Agent, turn: TurnInput) -> TurnResult:
        keys = self.events.keys(turn.principal, turn.task_id)
        publish = TurnPublisher(self.events, keys, turn.context_id, turn.seq_start, turn.view)
        with tracing.span("eventlog snapshot", {"db.system.name": "redis"}, client=True):
            snapshot = await self.events.snapshot(keys)
        message = find_message(snapshot, turn.message_id)
        if snapshot is None or message is None:
            log.warning(
                "task %s: message %s of turn %d is gone from Redis; failing the task",
                turn.task_id,
                turn.message_id,
                turn.turn,
            )
            text = (
                f"The message {turn.message_id} is no longer available (the task's event "
                "log has lost it); please send it again in a new task."
            )
            await publish.state(TaskState.FAILED, text)
            return publish.result(TaskState.FAILED)
        history = list(snapshot.task.history or [])
        context = AgentContext(turn.task_id, turn.context_id, message, history, turn.turn)
        with tracing.span(f"invoke_agent {turn.agent}", _turn_attributes(turn)):
            try:
                await publish.state(TaskState.WORKING)
                async with _heartbeating():
                    state = await self._run_agent(agent, context, publish, turn)
            except asyncio.CancelledError:
                _stopped(turn)
                raise
            except TaskClosed as closed:
                # Cancelled while Temporal's cancellation had not reached this attempt (it
                # travels on heartbeats, and one requested as the turn starts can be lost),
                # or finished by an earlier attempt: the event log's terminal state is the
                # truth.
                log.info("task %s: turn %d stopped: task is %s", turn.task_id, turn.turn, closed)
                state = closed.state
            tracing.annotate({"a2a.state": state.value})
        return publish.result(state)

    async def _run_agent(
        self, agent: Agent, context: AgentContext, publish: TurnPublisher, turn: TurnInput
    ) -> TaskState:
        """Publish the agent's outputs in order; the state the turn ends in."""
        outputs = agent.run(context)
        try:
            while True:
                try:
                    output = await anext(outputs)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    raise _agent_failure(exc, turn) from None
                activity.heartbeat(publish.seq)
                if isinstance(output, Status):
                    if await publish.state(output.state, output.text, output.parts):
                        return output.state
                else:
                    await publish.artifact(output)
        finally:
            close = getattr(outputs, "aclose", None)
            if close is not None:
                await close()
        await publish.state(TaskState.COMPLETED)
        return TaskState.COMPLETED

    @activity.defn(name="publish_final")
    async def publish_final(self, final: FinalInput) -> None:
        """See ``TaskActivities.publish_final``: appended at the next free sequence number
        (-1), with a message id stable across retries."""
        keys = self.events.keys(final.principal, final.task_id)
        publish = TurnPublisher(self.events, keys, final.context_id, -1, final.view)
        state = TaskState(final.state)
        with contextlib.suppress(TaskClosed):  # already final: the first final state stands
            await publish.state(state, final.text or None, message_id=f"{final.task_id}-{state}")


def _turn_attributes(turn: TurnInput) -> dict[str, str | int]:
    """The agent turn's span attributes (OpenTelemetry's gen_ai agent conventions, and
    the A2A ids): no message content."""
    return {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": turn.agent,
        "gen_ai.conversation.id": turn.context_id,
        "a2a.task_id": turn.task_id,
        "a2a.turn": turn.turn,
        "a2a.attempt": activity.info().attempt,
    }


def _stopped(turn: TurnInput) -> None:
    """Account for a turn stopped by Temporal, in one log line: INFO when the task was
    cancelled or the worker is shutting down (expected), WARNING when Temporal has given up
    on the turn (timed out, or its workflow is gone). In the second case nobody awaits the
    turn's outcome any more, so it ends with a short benign failure instead of the SDK's
    "completing as failed" stack trace."""
    details = activity.cancellation_details()
    if details is not None and (details.timed_out or details.not_found):
        reason = "timed out" if details.timed_out else "its workflow has closed"
        log.warning("task %s: turn %d abandoned: %s", turn.task_id, turn.turn, reason)
        raise ApplicationError(
            f"turn abandoned: {reason}",
            non_retryable=True,
            category=ApplicationErrorCategory.BENIGN,
        ) from None
    why = "the worker is shutting down" if details and details.worker_shutdown else "cancelled"
    log.info("task %s: turn %d stopped: %s", turn.task_id, turn.turn, why)


def _agent_failure(exc: Exception, turn: TurnInput) -> ApplicationError:
    """Log an agent's exception with its stack (unexpected: once per attempt) and return the
    short failure that crosses Temporal instead; ``BENIGN`` keeps the SDK from logging a
    second stack, and the turn is still retried under the route's policy."""
    log.error(
        "agent %s failed on task %s (turn %d, attempt %d)",
        turn.agent,
        turn.task_id,
        turn.turn,
        activity.info().attempt,
        exc_info=exc,
    )
    return ApplicationError(
        f"agent {turn.agent!r} failed: {type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS],
        type=AGENT_FAILED,
        category=ApplicationErrorCategory.BENIGN,
    )


@contextlib.asynccontextmanager
async def _heartbeating() -> AsyncIterator[None]:
    """Heartbeat in the background while the agent runs (or waits), so that a dead worker
    is noticed within the route's heartbeat timeout and a cancellation is delivered."""
    timeout = activity.info().heartbeat_timeout
    every = HEARTBEAT_EVERY
    if timeout is not None:
        every = min(every, timeout.total_seconds() / 3)

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
