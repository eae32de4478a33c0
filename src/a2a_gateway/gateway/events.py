"""What a stream carries, before any protocol version renders it.

The service yields these; each protocol adapter frames them as SSE in its own shapes. A
stream is: one ``TaskSnapshot`` (the task as of a stream position), then logged events
(``store.eventlog.Entry``: the stream id, and the event as stored, which is the internal
model's JSON), ``KeepAlive`` while idle, and at most one ``Cut`` when the stream ends
before the task's final event (the client resumes after ``Cut.last_id``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from a2a_gateway.store.eventlog import Entry

if TYPE_CHECKING:
    from a2a_gateway.models import Task


@dataclass(frozen=True)
class TaskSnapshot:
    """The task as of stream position ``event_id`` (the first item of most streams)."""

    task: Task
    event_id: str


@dataclass(frozen=True)
class KeepAlive:
    """Nothing happened for a heartbeat interval."""


@dataclass(frozen=True)
class Cut:
    """The stream ends before the task's final event: ``reason`` (for people), and the
    position after which a resubscribing client continues."""

    last_id: str
    reason: str
    cause: str = "cut"
    """For metrics: ``deadline``, ``drain``, ``cut`` (the client fell behind) or ``error``
    (the task's stream could not be read)."""


StreamItem = TaskSnapshot | Entry | KeepAlive | Cut
__all__ = ["Cut", "Entry", "KeepAlive", "StreamItem", "TaskSnapshot"]
