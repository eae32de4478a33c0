"""Following one task's event stream as SSE frames: heartbeats, deadline, reconnects.

Contract: yields every entry after ``after`` exactly once and in order, as an SSE event
whose id is the entry id, and stops after the first final entry. While idle it yields a
keep-alive comment every ``heartbeat`` seconds. If Redis fails, it retries the same read
(from the same id, so nothing is lost or repeated) with exponential backoff, keeping the
connection alive with comments. At the deadline it ends with a frame that carries the
last id and a ``retry:`` hint, so a client resumes with ``tasks/resubscribe`` and
``Last-Event-ID`` exactly where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from a2a_gateway.gateway import sse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from a2a_gateway.eventlog import EventLog
    from a2a_gateway.keys import TaskKeys

log = logging.getLogger(__name__)
RETRY_HINT_MS = 1000
BACKOFF_START = 0.1
BACKOFF_MAX = 2.0


def resume_frame(last_id: str) -> bytes:
    """Tells the client the stream ended early and where to resume (SSE id and retry)."""
    return (
        f"id: {last_id}\nretry: {RETRY_HINT_MS}\n"
        f": stream deadline reached; resume with tasks/resubscribe and Last-Event-ID\n\n"
    ).encode()


async def follow(
    events: EventLog,
    keys: TaskKeys,
    after: str,
    *,
    prefix: str,
    heartbeat: float,
    deadline: float | None = None,
) -> AsyncIterator[bytes]:
    """SSE frames for the entries after ``after`` (see the module docstring)."""
    quiet_since = time.monotonic()
    backoff = BACKOFF_START
    while True:
        wait = heartbeat
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                yield resume_frame(after)
                return
        try:
            entries = await events.read(keys, after, block_ms=max(1, int(wait * 1000)))
        except (RedisConnectionError, RedisTimeoutError) as err:
            log.warning("reading %s failed (%s); retrying in %.1fs", keys.events, err, backoff)
            yield sse.comment("reconnecting")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
            continue
        backoff = BACKOFF_START
        now = time.monotonic()
        if not entries:
            if now - quiet_since >= heartbeat * 0.99:
                quiet_since = now
                yield sse.comment("keep-alive")
            continue
        quiet_since = now
        for entry in entries:
            after = entry.id
            yield sse.event(prefix + entry.event + "}", entry.id)
            if entry.final:
                return
