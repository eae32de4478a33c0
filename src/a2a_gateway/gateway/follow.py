"""Following one task's event stream as SSE frames: heartbeats, deadline, backpressure.

Contract: yields every entry after ``after`` exactly once and in order, as an SSE event
whose id is the entry id, and stops after the first final entry. While idle it yields a
keep-alive comment every ``heartbeat`` seconds. Entries come from the process's
``StreamHub``, which owns the Redis reads (and retries them) and serves a slow client from
Redis at its own pace. It ends early with a frame that carries the last id and a
``retry:`` hint, so the client resumes with ``tasks/resubscribe`` and ``Last-Event-ID``
(which starts from the task snapshot when events were trimmed), in these cases: the
deadline; a client so far behind that the stream no longer holds its position; the
process draining (SIGTERM); the task's stream failing to read.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from a2a_gateway.gateway import sse
from a2a_gateway.store.hub import Drained, Overflow, StreamFailed, SubscriptionEnded

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from a2a_gateway.store.hub import StreamHub
    from a2a_gateway.store.keys import TaskKeys

RETRY_HINT_MS = 1000
# Why a subscription ended early, as the resume frame's comment says it.
ENDED: dict[type[SubscriptionEnded], str] = {
    Overflow: "client too far behind, stream cut",
    Drained: "server draining",
    StreamFailed: "stream unavailable",
}


def resume_frame(last_id: str, reason: str) -> bytes:
    """Tells the client the stream ended early and where to resume (SSE id and retry)."""
    return (
        f"id: {last_id}\nretry: {RETRY_HINT_MS}\n"
        f": {reason}; resume with tasks/resubscribe and Last-Event-ID\n\n"
    ).encode()


async def follow(
    hub: StreamHub,
    keys: TaskKeys,
    after: str,
    *,
    request_id: str | int | None,
    heartbeat: float,
    deadline: float | None = None,
) -> AsyncIterator[bytes]:
    """SSE frames for the entries after ``after`` (see the module docstring)."""
    try:
        subscription = await hub.subscribe(keys, after)
    except SubscriptionEnded as ended:  # draining: not even a subscription
        yield resume_frame(ended.last, ENDED[type(ended)])
        return
    frame = sse.result_framer(request_id)
    try:
        quiet_since = time.monotonic()
        while True:
            wait = heartbeat - (time.monotonic() - quiet_since)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    yield resume_frame(subscription.last, "stream deadline reached")
                    return
                wait = min(wait, left)
            try:
                entry = await subscription.next(max(wait, 0.0))
            except SubscriptionEnded as ended:
                yield resume_frame(ended.last, ENDED[type(ended)])
                return
            if entry is None:
                if time.monotonic() - quiet_since >= heartbeat * 0.99:
                    quiet_since = time.monotonic()
                    yield sse.comment("keep-alive")
                continue
            quiet_since = time.monotonic()
            yield frame(entry.event, entry.id)
            if entry.final:
                return
    finally:
        await subscription.close()
