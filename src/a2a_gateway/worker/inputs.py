"""Workflow and activity inputs: one dataclass each, so fields can be added compatibly.

Messages travel as their JSON wire form (plain dicts), which Temporal's default data
converter carries unchanged and which keeps pydantic out of the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WORKFLOW_NAME = "A2ATask"
SIGNAL_MESSAGE = "user_message"
QUERY_STATE = "state"
QUERY_TASK = "task"


@dataclass
class TaskInput:
    """Starts a task workflow."""

    principal: str
    task_id: str
    context_id: str
    agent: str
    message: dict[str, Any]
    metadata: dict[str, Any] | None = None


@dataclass
class TurnInput:
    """One agent turn; ``seq_start`` is the first sequence number the turn may publish.
    ``task`` is the workflow's view of the task when the turn starts (wire form), from
    which the activity re-creates the task in Redis if the cache has lost it."""

    principal: str
    task_id: str
    context_id: str
    agent: str
    message: dict[str, Any]
    turn: int
    seq_start: int
    task: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnResult:
    """Where a turn left the task: its state, the next free sequence number, and what the
    workflow keeps to rebuild the task: the final status, the agent's messages of the turn
    and the turn's artifacts (folded; parts dropped past a size cap)."""

    state: str
    next_seq: int
    status: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FinalInput:
    """Publishes a final status (``canceled``, ``failed``) outside any agent turn."""

    principal: str
    task_id: str
    context_id: str
    state: str
    text: str = ""
    task: dict[str, Any] = field(default_factory=dict)
