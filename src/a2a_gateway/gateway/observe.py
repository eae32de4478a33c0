"""A stream's metrics, taken from its items as they pass to the client's framer.

``observed(items, metrics, started)`` yields ``items`` unchanged and records: the stream
opened; for each logged event, the time since Redis appended it (the entry id is the
append's server time in ms); the time from the request to the first event; and when the
stream ends, the events it handed over (``EventsDelivered``), why it ended (``final``:
the items ran out; ``deadline``, ``drain``, ``cut``, ``error``: a ``Cut`` of that cause;
``disconnect``: closed before its end, the client left; ``error``: the items raised) and
how long it lasted. It also logs one line when the stream ends (why, how long, how many
events), which carries the request's correlation ids.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import anyio

from a2a_gateway import metrics as m
from a2a_gateway.gateway.events import Cut, KeepAlive

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from a2a_gateway.gateway.events import StreamItem
    from a2a_gateway.metrics import Metrics

log = logging.getLogger(__name__)


async def observed(
    items: AsyncIterator[StreamItem], metrics: Metrics, started: float
) -> AsyncIterator[StreamItem]:
    """``items``, measured (module docstring); ``started`` is the request's
    ``time.monotonic()``. Closing this closes ``items``."""
    metrics.record(m.STREAMS_OPENED)
    reason, first, events = "disconnect", True, 0
    try:
        async for item in items:
            if isinstance(item, Cut):
                reason = item.cause
            elif not isinstance(item, KeepAlive):
                events += 1
                if first:
                    metrics.record(m.TIME_TO_FIRST_EVENT, time.monotonic() - started)
                    first = False
                appended = _appended_ms(getattr(item, "id", ""))
                if appended is not None:
                    metrics.record(m.APPEND_TO_CLIENT, max(0.0, time.time() - appended / 1000))
            yield item
        if reason == "disconnect":
            reason = "final"
    except Exception:
        reason = "error"
        raise
    finally:
        duration = time.monotonic() - started
        metrics.record(m.EVENTS_DELIVERED, events)  # once per stream, not per event
        metrics.record(m.STREAMS_ENDED, Reason=reason)
        metrics.record(m.STREAM_DURATION, duration)
        log.info("stream ended (%s) after %.1f s and %d events", reason, duration, events)
        await _close(items)


async def _close(items: AsyncIterator[StreamItem]) -> None:
    """Close ``items`` (the hub subscription under them), shielded from the cancellation
    that ends a stream whose client left."""
    aclose = getattr(items, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()


def _appended_ms(entry_id: str) -> int | None:
    """The server time (ms) of a Redis stream entry id ``<ms>-<seq>``, else None."""
    head, _, _ = entry_id.partition("-")
    return int(head) if head.isdigit() else None
