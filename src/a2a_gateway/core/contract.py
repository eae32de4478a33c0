"""The contract between the gateway and the worker: workflow and signal names, inputs,
results, the activity interface, and the workflow id of a task.

Both sides import this module and nothing of each other. Every input is one dataclass, so
fields can be added without breaking running workflows.

**Claim check (brief, decision 11).** Nothing unbounded crosses Temporal: message bodies,
task history and artifacts live in the task's event log (Redis), and what travels through
workflow inputs, signals and activity results is a reference (a ``messageId``, a sequence
number) and a size. The workflow keeps a bounded ``TaskView`` (id, context, agent, status
with its message only when small), which is what a task lost from Redis is rebuilt from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

WORKFLOW_NAME = "A2ATask"
SIGNAL_MESSAGE = "user_message"
QUERY_STATE = "state"
QUERY_TASK = "task"
# A status message larger than this is not kept in the workflow's view of the task.
MAX_VIEW_STATUS_BYTES = 4096


def workflow_id(principal: str, task_id: str) -> str:
    """The Temporal workflow id of a task: one run per (principal, task id), ever."""
    return f"a2a-task/{principal}/{task_id}"


def bounded_status(status: dict[str, Any]) -> dict[str, Any]:
    """``status`` (wire form) without its message when the message is over
    ``MAX_VIEW_STATUS_BYTES`` of JSON: the view stays bounded whatever the agent says."""
    message = status.get("message")
    if message is None or len(json.dumps(message)) <= MAX_VIEW_STATUS_BYTES:
        return status
    return {k: v for k, v in status.items() if k != "message"}


@dataclass
class TaskView:
    """The workflow's bounded view of its task (see the module docstring)."""

    task_id: str
    context_id: str
    agent: str
    status: dict[str, Any] = field(default_factory=lambda: {"state": "submitted"})

    def wire(self) -> dict[str, Any]:
        """The view as an A2A ``Task`` (wire form), without history or artifacts."""
        return {
            "kind": "task",
            "id": self.task_id,
            "contextId": self.context_id,
            "status": dict(self.status),
        }


@dataclass
class TurnPolicy:
    """Limits of one route's tasks (from the routing file; defaults in ``routing``).

    ``turn_timeout_seconds`` bounds one attempt of a turn, ``turn_attempts`` the attempts
    (a turn that fails them all ends the task ``failed``), ``heartbeat_seconds`` how soon a
    dead worker is noticed, ``task_timeout_seconds`` the whole task, waits for input
    included (the task then ends ``failed``), and ``max_turns`` the turns of one task."""

    turn_timeout_seconds: float = 3600.0
    turn_attempts: int = 3
    heartbeat_seconds: float = 10.0
    task_timeout_seconds: float = 7 * 24 * 3600.0
    max_turns: int = 1000


@dataclass
class TaskInput:
    """Starts a task workflow. The first message is history[0] of the task in the event
    log; only its id and size travel here."""

    principal: str
    task_id: str
    context_id: str
    agent: str
    message_id: str
    message_bytes: int = 0
    policy: TurnPolicy = field(default_factory=TurnPolicy)


@dataclass
class MessageRef:
    """The ``user_message`` signal: a follow-up the gateway has already accepted into the
    event log (appended to the history, state ``submitted``) at sequence number ``seq``."""

    message_id: str
    seq: int
    size: int = 0


@dataclass
class TurnInput:
    """One agent turn. The turn's message is read from the task's history by
    ``message_id``; ``seq_start`` is the first sequence number the turn may publish;
    ``view`` lets the activity re-create the task in Redis if the cache has lost it."""

    principal: str
    task_id: str
    context_id: str
    agent: str
    message_id: str
    turn: int
    seq_start: int
    view: TaskView


@dataclass
class TurnResult:
    """Where a turn left the task: its state, the next free sequence number and the final
    status of the turn (bounded by ``bounded_status``)."""

    state: str
    next_seq: int
    status: dict[str, Any] = field(default_factory=dict)


@dataclass
class FinalInput:
    """Publishes a final status (``canceled``, ``failed``) outside any agent turn."""

    principal: str
    task_id: str
    context_id: str
    state: str
    text: str
    view: TaskView


class TaskActivities:
    """The activities the task workflow calls, by typed reference
    (``workflow.execute_activity_method(TaskActivities.run_turn, …)``). The worker
    subclasses this and overrides each method under the same ``activity.defn`` name."""

    @activity.defn(name="run_turn")
    async def run_turn(self, turn: TurnInput) -> TurnResult:
        """Run one turn of the agent and publish each output to the event log, in order,
        with deterministic sequence numbers (a retried turn republishes the same ones, and
        the append script drops what is already there). Ends with a final or interrupted
        status published; returns where the task is."""
        raise NotImplementedError

    @activity.defn(name="publish_final")
    async def publish_final(self, final: FinalInput) -> None:
        """Publish a final status after whatever is already in the log (idempotent)."""
        raise NotImplementedError
