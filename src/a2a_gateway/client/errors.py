"""What the client raises."""

from __future__ import annotations

from typing import Any


class A2AClientError(Exception):
    """Base class of everything the client raises."""


class A2AError(A2AClientError):
    """A JSON-RPC error the server answered (``code``, ``message``, ``data``)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class A2AHTTPError(A2AClientError):
    """An HTTP status the client does not retry (401, 403, 404, 413, 415, …)."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(f"HTTP {status_code}: {body[:200]}")
        self.status_code = status_code
        self.body = body


class StreamInterrupted(A2AClientError):
    """A stream could not be followed to its final event. ``last_event_id`` is the id of
    the last event yielded (resume from it with ``resubscribe``), ``task_id`` the task."""

    def __init__(self, message: str, *, last_event_id: str | None, task_id: str | None) -> None:
        super().__init__(f"{message} (task {task_id}, last event id {last_event_id})")
        self.last_event_id = last_event_id
        self.task_id = task_id


class StreamDeadlineExceeded(StreamInterrupted):
    """The caller's total deadline for following the stream passed before its final event."""


class ResumeFailed(StreamInterrupted):
    """``max_attempts`` reconnections in a row made no progress, or the stream broke before
    its task was known and the request could not safely be repeated."""


class MissingDependency(A2AClientError, ImportError):
    """An optional dependency (botocore for SigV4) is not installed."""
