"""Workflow and activity inputs: one dataclass each, so fields can be added compatibly.

Messages travel as their JSON wire form (plain dicts), which Temporal's default data
converter carries unchanged and which keeps pydantic out of the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WORKFLOW_NAME = "A2ATask"
SIGNAL_MESSAGE = "user_message"
QUERY_STATE = "state"


@dataclass
class TaskInput:
    """Starts a task workflow."""

    principal: str
    task_id: str
    context_id: str
    agent: str
    message: dict[str, Any]


@dataclass
class TurnInput:
    """One agent turn; ``seq_start`` is the first sequence number the turn may publish."""

    principal: str
    task_id: str
    context_id: str
    agent: str
    message: dict[str, Any]
    turn: int
    seq_start: int


@dataclass
class TurnResult:
    """Where a turn left the task: its state and the next free sequence number."""

    state: str
    next_seq: int


@dataclass
class FinalInput:
    """Publishes a final status (``canceled``, ``failed``) outside any agent turn."""

    principal: str
    task_id: str
    context_id: str
    state: str
    text: str = ""
