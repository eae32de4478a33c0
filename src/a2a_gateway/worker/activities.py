"""Activities: run an agent turn and publish each output straight to Redis.

Sequence numbers are deterministic per turn (``seq_start`` plus the output's index), so a
retried turn re-publishes the same numbers and the append script drops what is already
there. Redis errors propagate and Temporal retries the turn with backoff; an exception
raised by the agent's own code ends the task as ``failed`` (retrying a bug repeats it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from a2a_gateway.agents.base import AgentContext, ArtifactChunk, Status
from a2a_gateway.core.contract import FinalInput, TurnInput, TurnResult
from a2a_gateway.core.states import TaskState
from a2a_gateway.models import Artifact, Message, Part, Task, TaskArtifactUpdateEvent, TextPart
from a2a_gateway.store.eventlog import fold_artifacts, status_event

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from a2a_gateway.agents.base import Agent, AgentOutput
    from a2a_gateway.store.eventlog import AppendResult, EventLog
    from a2a_gateway.store.keys import TaskKeys

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 1.0
MAX_KEPT_ARTIFACT_BYTES = 256 * 1024  # what one turn hands back to the workflow


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


class TurnPublisher:
    """Publishes one run of one turn in sequence order and remembers what the workflow
    keeps of it. If Redis has lost the task, it re-creates it from the workflow's view
    (``restore``) and publishes again: the worker heals the cache by itself."""

    def __init__(
        self, events: EventLog, keys: TaskKeys, context_id: str, seq: int, restore: dict[str, Any]
    ) -> None:
        self.events = events
        self.keys = keys
        self.context_id = context_id
        self.seq = seq
        self.restore = restore
        self.status: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self.chunks: list[dict[str, Any]] = []

    async def _publish(self, append: Callable[[], Awaitable[AppendResult]]) -> None:
        result = await append()
        if not result.exists and self.restore:
            log.warning("task %s missing from Redis; restoring it", self.keys.task_id)
            await self.events.create(self.keys, Task.model_validate(self.restore))
            await append()
        self.seq += 1

    async def history(self, message: Message) -> None:
        seq = self.seq
        await self._publish(lambda: self.events.append_history(self.keys, seq, message))

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
        final = state.terminal or state.interrupted
        event = status_event(task_id, self.context_id, state, message, final)
        await self._publish(lambda: self.events.append_status(self.keys, seq, event))
        self.status = event.status.dump()
        if message is not None:
            self.messages.append(message.dump())
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
        await self._publish(lambda: self.events.append_artifact(self.keys, seq, event))
        self.chunks.append({"artifact": event.artifact.dump(), "append": chunk.append})

    def result(self, state: TaskState) -> TurnResult:
        artifacts = fold_artifacts(self.chunks)
        if len(json.dumps(artifacts)) > MAX_KEPT_ARTIFACT_BYTES:
            artifacts = [
                {**a, "parts": [], "metadata": {**a.get("metadata", {}), "truncated": True}}
                for a in artifacts
            ]
        return TurnResult(state.value, self.seq, self.status, self.messages, artifacts)


class TaskActivities:
    """The activities of the task workflow, bound to one event log and the loaded agents."""

    def __init__(self, events: EventLog, agents: dict[str, Agent]) -> None:
        self.events = events
        self.agents = agents

    @activity.defn(name="run_turn")
    async def run_turn(self, turn: TurnInput) -> TurnResult:
        agent = self.agents.get(turn.agent)
        if agent is None:
            raise ApplicationError(
                f"no agent named {turn.agent!r} on this worker", non_retryable=True
            )
        keys = self.events.keys(turn.principal, turn.task_id)
        message = Message.model_validate(turn.message)
        publish = TurnPublisher(self.events, keys, turn.context_id, turn.seq_start, turn.task)
        if turn.turn > 0:
            await publish.history(message)
        await publish.state(TaskState.WORKING)
        snapshot = await self.events.snapshot(keys)
        history = list(snapshot.task.history or []) if snapshot else [message]
        context = AgentContext(turn.task_id, turn.context_id, message, history, turn.turn)
        beat = asyncio.create_task(_heartbeat())
        try:
            outputs = agent.run(context)
            while True:
                try:
                    output: AgentOutput = await anext(outputs)
                except StopAsyncIteration:
                    break
                except Exception:
                    log.exception("agent %s failed on task %s", turn.agent, turn.task_id)
                    await publish.state(TaskState.FAILED, "The agent failed to complete the task.")
                    return publish.result(TaskState.FAILED)
                activity.heartbeat(publish.seq)
                if isinstance(output, Status):
                    if await publish.state(output.state, output.text, output.parts):
                        return publish.result(output.state)
                else:
                    await publish.artifact(output)
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        await publish.state(TaskState.COMPLETED)
        return publish.result(TaskState.COMPLETED)

    @activity.defn(name="publish_final")
    async def publish_final(self, final: FinalInput) -> None:
        """Publish a final status after whatever is in the log (``seq`` -1: next free)."""
        keys = self.events.keys(final.principal, final.task_id)
        publish = TurnPublisher(self.events, keys, final.context_id, -1, final.task)
        state = TaskState(final.state)
        await publish.state(state, final.text or None, message_id=f"{final.task_id}-{state}")


async def _heartbeat() -> None:
    """Heartbeat while the agent waits, so a crash is noticed and cancellation delivered."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)
