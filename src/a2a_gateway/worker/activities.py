"""Activities: run an agent turn and publish each output straight to Redis.

Sequence numbers are deterministic per turn (``seq_start`` plus the output's index), so a
retried turn re-publishes the same numbers and the append script drops what is already
there. Redis errors propagate and Temporal retries the turn with backoff; an exception
raised by the agent's own code ends the task as ``failed`` (retrying a bug repeats it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from temporalio import activity
from temporalio.exceptions import ApplicationError

from a2a_gateway.agents.base import AgentContext, ArtifactChunk, Status
from a2a_gateway.eventlog import status_event
from a2a_gateway.models import (
    Artifact,
    Message,
    Part,
    TaskArtifactUpdateEvent,
    TaskState,
    TextPart,
)
from a2a_gateway.worker.inputs import FinalInput, TurnInput, TurnResult

if TYPE_CHECKING:
    from a2a_gateway.agents.base import Agent, AgentOutput
    from a2a_gateway.eventlog import EventLog
    from a2a_gateway.keys import TaskKeys

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 1.0


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
        seq = turn.seq_start
        if turn.turn > 0:
            await self.events.append_history(keys, seq, message)
            seq += 1
        await self._status(keys, turn, seq, TaskState.WORKING, None, final=False)
        seq += 1
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
                    text = "The agent failed to complete the task."
                    await self._status(keys, turn, seq, TaskState.FAILED, text, final=True)
                    return TurnResult(TaskState.FAILED.value, seq + 1)
                activity.heartbeat(seq)
                if isinstance(output, Status):
                    final = output.state.terminal or output.state.interrupted
                    await self._status(
                        keys, turn, seq, output.state, output.text, final=final, parts=output.parts
                    )
                    seq += 1
                    if final:
                        return TurnResult(output.state.value, seq)
                else:
                    await self._artifact(keys, turn, seq, output)
                    seq += 1
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        await self._status(keys, turn, seq, TaskState.COMPLETED, None, final=True)
        return TurnResult(TaskState.COMPLETED.value, seq + 1)

    @activity.defn(name="publish_final")
    async def publish_final(self, final: FinalInput) -> None:
        """Publish a final status after whatever is in the log (``seq`` -1: next free)."""
        keys = self.events.keys(final.principal, final.task_id)
        message = agent_message(
            f"{final.task_id}-{final.state}", _parts(final.text), final.task_id, final.context_id
        )
        event = status_event(final.task_id, final.context_id, TaskState(final.state), message, True)
        await self.events.append_status(keys, -1, event)

    async def _status(
        self,
        keys: TaskKeys,
        turn: TurnInput,
        seq: int,
        state: TaskState,
        text: str | None,
        *,
        final: bool,
        parts: list[Part] | None = None,
    ) -> None:
        message = agent_message(
            f"{turn.task_id}-{seq}", _parts(text, parts), turn.task_id, turn.context_id
        )
        event = status_event(turn.task_id, turn.context_id, state, message, final)
        await self.events.append_status(keys, seq, event)

    async def _artifact(
        self, keys: TaskKeys, turn: TurnInput, seq: int, chunk: ArtifactChunk
    ) -> None:
        event = TaskArtifactUpdateEvent(
            task_id=turn.task_id,
            context_id=turn.context_id,
            artifact=Artifact(artifact_id=chunk.artifact_id, name=chunk.name, parts=chunk.parts),
            append=chunk.append,
            last_chunk=chunk.last_chunk,
        )
        await self.events.append_artifact(keys, seq, event)


async def _heartbeat() -> None:
    """Heartbeat while the agent waits, so a crash is noticed and cancellation delivered."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)
