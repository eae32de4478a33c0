"""The A2A 0.3 objects the client returns, as ``TypedDict``s over the decoded JSON.

Plain dicts, so that the client needs nothing but httpx (``a2a_gateway.models`` is
pydantic and the server's limits). Only the fields a caller usually reads are declared;
everything the server sent is in the dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

from a2a_gateway.core.states import INTERRUPTED, TERMINAL


def ends_stream(state: object) -> bool:
    """Whether a stream ends after a status in ``state``: a terminal or interrupted one
    (``core.states``, a wire value such as ``input-required``)."""
    return state in TERMINAL or state in INTERRUPTED


class Part(TypedDict, total=False):
    kind: str
    text: str
    data: Any
    file: dict[str, Any]
    metadata: dict[str, Any]


class Message(TypedDict, total=False):
    kind: Literal["message"]
    role: str
    messageId: str
    parts: list[Part]
    taskId: str
    contextId: str
    metadata: dict[str, Any]


class TaskStatus(TypedDict, total=False):
    state: str
    message: Message
    timestamp: str


class Artifact(TypedDict, total=False):
    artifactId: str
    name: str
    parts: list[Part]
    metadata: dict[str, Any]


class Task(TypedDict, total=False):
    kind: Literal["task"]
    id: str
    contextId: str
    status: TaskStatus
    history: list[Message]
    artifacts: list[Artifact]
    metadata: dict[str, Any]


class TaskStatusUpdateEvent(TypedDict, total=False):
    kind: Literal["status-update"]
    taskId: str
    contextId: str
    status: TaskStatus
    final: bool
    metadata: dict[str, Any]


class TaskArtifactUpdateEvent(TypedDict, total=False):
    kind: Literal["artifact-update"]
    taskId: str
    contextId: str
    artifact: Artifact
    append: bool
    lastChunk: bool
    metadata: dict[str, Any]


class AgentCard(TypedDict, total=False):
    name: str
    description: str
    url: str
    version: str
    protocolVersion: str
    capabilities: dict[str, Any]
    skills: list[dict[str, Any]]
    defaultInputModes: list[str]
    defaultOutputModes: list[str]


StreamResult = Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent | Message


@dataclass(frozen=True)
class Event:
    """One event of a stream: its SSE ``id`` (the gateway's Redis entry id, ``None``
    when the server sent none) and the JSON-RPC ``result`` it carried."""

    id: str | None
    result: StreamResult

    @property
    def kind(self) -> str:
        return str(self.result.get("kind", ""))

    @property
    def task_id(self) -> str | None:
        data = cast("dict[str, Any]", self.result)
        value = data.get("taskId") if self.kind != "task" else data.get("id")
        return value if isinstance(value, str) else None

    @property
    def state(self) -> str | None:
        """The task state this event reports (``None`` for artifact updates, messages)."""
        status = cast("dict[str, Any]", self.result).get("status")
        if isinstance(status, dict) and isinstance(status.get("state"), str):
            return str(status["state"])
        return None

    @property
    def final(self) -> bool:
        """Whether the stream ends with this event: a status update marked ``final``, a
        ``Task`` in a terminal or interrupted state (what a resubscribe to such a task
        sends), or a ``Message`` (a stream answered with a message only)."""
        if self.kind == "status-update":
            return cast("dict[str, Any]", self.result).get("final") is True
        if self.kind == "task":
            return ends_stream(self.state)
        return self.kind == "message"


@dataclass(frozen=True)
class Resumed:
    """Yielded by a followed stream right after it reconnected and before the first event
    of the new connection: the ``attempt`` that succeeded (1 for the first reconnection
    since the last event), the event id it resumed after (sent as ``Last-Event-ID``), and
    why the stream was interrupted: ``resume-frame`` (the gateway's deadline or drain),
    ``ended-early`` (the body ended before the final event), ``disconnected: <httpx
    error>``, or ``http-503`` / ``http-429`` / ``http-502`` / ``http-504`` (refused). Later
    refusals on the way back (a draining gateway's 503) only add to ``attempt``."""

    attempt: int
    after_id: str | None
    reason: str


StreamItem = Event | Resumed
