"""An async, typed, small client for A2A servers that follows a stream to its end.

Needs only httpx (and botocore for SigV4), not the server's dependencies::

    from a2a_gateway.client import A2AClient, Event, Resumed

    async with A2AClient("http://127.0.0.1:8000/agents/progress") as client:
        async for item in client.stream("steps=5 interval=0.2", deadline=60):
            if isinstance(item, Resumed):
                print("resumed after", item.after_id, "because", item.reason)
            else:
                print(item.id, item.kind, item.state)

A stream is followed to its final event across dropped connections, the gateway's resume
frame (deadline, drain), a body that ends early, and HTTP 503/429 (``Retry-After``): the
client resubscribes with ``Last-Event-ID`` with jittered exponential backoff, yields each
event once and in order, and yields a ``Resumed`` marker at each reconnection. It speaks
JSON-RPC in A2A 0.3's dialect or 1.0's (``protocol``, by default from the card), and
returns 0.3's shapes either way.
"""

from __future__ import annotations

from a2a_gateway.client.auth import ApiKeyAuth, BearerAuth, SigV4Auth
from a2a_gateway.client.client import A2AClient, make_message, protocol_of
from a2a_gateway.client.errors import (
    A2AClientError,
    A2AError,
    A2AHTTPError,
    MissingDependency,
    ResumeFailed,
    StreamDeadlineExceeded,
    StreamInterrupted,
)
from a2a_gateway.client.resume import Dedupe, RetryPolicy, parse_event_id
from a2a_gateway.client.types import (
    AgentCard,
    Artifact,
    Event,
    Message,
    Part,
    Resumed,
    StreamItem,
    Task,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
)

__all__ = [
    "A2AClient",
    "A2AClientError",
    "A2AError",
    "A2AHTTPError",
    "AgentCard",
    "ApiKeyAuth",
    "Artifact",
    "BearerAuth",
    "Dedupe",
    "Event",
    "Message",
    "MissingDependency",
    "Part",
    "ResumeFailed",
    "Resumed",
    "RetryPolicy",
    "SigV4Auth",
    "StreamDeadlineExceeded",
    "StreamInterrupted",
    "StreamItem",
    "Task",
    "TaskArtifactUpdateEvent",
    "TaskStatus",
    "TaskStatusUpdateEvent",
    "make_message",
    "parse_event_id",
    "protocol_of",
]
