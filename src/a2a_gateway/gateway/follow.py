"""Following one task's event stream: heartbeats, deadline, backpressure.

Contract: yields every entry after ``after`` exactly once and in order (each carries its
stream id), and stops after the first final entry. While idle it yields ``KeepAlive``
every ``heartbeat`` seconds. Entries come from the process's
``StreamHub``, which owns the Redis reads (and retries them) and serves a slow client from
Redis at its own pace. It ends early with a ``Cut`` that carries the last id (the
protocol layer frames it with a ``retry:`` hint, so the client resumes with its version's
resubscribe method and ``Last-Event-ID``, which starts from the task snapshot when events
were trimmed), in these cases: the
deadline; a client so far behind that the stream no longer holds its position; the
process draining (SIGTERM); the task's stream failing to read.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from a2a_gateway.gateway.events import Cut, KeepAlive
from a2a_gateway.store.hub import Drained, Overflow, StreamFailed, SubscriptionEnded

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from a2a_gateway.gateway.events import StreamItem
    from a2a_gateway.store.hub import StreamHub
    from a2a_gateway.store.keys import TaskKeys

# Why a subscription ended early, as the cut says it, and its cause for metrics.
ENDED: dict[type[SubscriptionEnded], tuple[str, str]] = {
    Overflow: ("client too far behind, stream cut", "cut"),
    Drained: ("server draining", "drain"),
    StreamFailed: ("stream unavailable", "error"),
}


async def follow(
    hub: StreamHub,
    keys: TaskKeys,
    after: str,
    *,
    heartbeat: float,
    deadline: float | None = None,
) -> AsyncIterator[StreamItem]:
    """The items for the entries after ``after`` (see the module docstring)."""
    try:
        subscription = await hub.subscribe(keys, after)
    except SubscriptionEnded as ended:  # draining: not even a subscription
        yield Cut(ended.last, *ENDED[type(ended)])
        return
    try:
        quiet_since = time.monotonic()
        while True:
            wait = heartbeat - (time.monotonic() - quiet_since)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    yield Cut(subscription.last, "stream deadline reached", "deadline")
                    return
                wait = min(wait, left)
            try:
                entry = await subscription.next(max(wait, 0.0))
            except SubscriptionEnded as ended:
                yield Cut(ended.last, *ENDED[type(ended)])
                return
            if entry is None:
                if time.monotonic() - quiet_since >= heartbeat * 0.99:
                    quiet_since = time.monotonic()
                    yield KeepAlive()
                continue
            quiet_since = time.monotonic()
            yield entry
            if entry.final:
                return
    finally:
        await subscription.close()
