"""A stream's place: its slot in this process (``Capacity``) and its principal's lease
(``Quota``), taken together and given back together, for every binding's streams.

``take`` takes the slot before its first await (``AtCapacity`` if none is free), then the
lease (``LimitExceededError``, or ``LimitsUnavailableError`` when Redis does not answer),
counting each refusal in ``StreamsRefused``; a refused lease gives the slot back.
``serve(frames, items, started)`` is the stream's body: ``items`` measured
(``observe.observed``) and framed by ``frames``, the lease renewed while it flows and
released when it ends; the slot goes back in the response's ``on_close``. ``give_back``
is for a stream that never started (an error before its first frame, a cancellation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from a2a_gateway import metrics as m
from a2a_gateway.errors import LimitExceededError
from a2a_gateway.gateway.capacity import AtCapacity
from a2a_gateway.gateway.observe import observed
from a2a_gateway.gateway.quota import LEASE_SECONDS, renewing

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from a2a_gateway.gateway.auth.base import Identity
    from a2a_gateway.gateway.capacity import Capacity, Slot
    from a2a_gateway.gateway.events import StreamItem
    from a2a_gateway.gateway.quota import Lease, Quota
    from a2a_gateway.limit_classes import Limits
    from a2a_gateway.metrics import Metrics


class StreamPlace:
    """A taken slot and lease (module docstring)."""

    def __init__(self, slot: Slot, lease: Lease, metrics: Metrics) -> None:
        self.slot = slot
        self.lease = lease
        self.metrics = metrics

    @classmethod
    async def take(
        cls,
        capacity: Capacity,
        quota: Quota,
        caller: Identity,
        limits: Limits,
        metrics: Metrics,
    ) -> StreamPlace:
        try:
            slot = capacity.take("stream")
        except AtCapacity:
            metrics.record(m.STREAMS_REFUSED, Reason="capacity")
            raise
        try:
            lease = await quota.hold(caller, limits, "streams", LEASE_SECONDS)
        except BaseException as err:
            slot.release()
            if isinstance(err, LimitExceededError):
                metrics.record(m.STREAMS_REFUSED, Reason="limit")
            raise
        return cls(slot, lease, metrics)

    async def give_back(self) -> None:
        """For a stream that never started: the slot and the lease, each once."""
        self.slot.release()
        await self.lease.release()

    def serve(
        self,
        frames: Callable[[AsyncIterator[StreamItem]], AsyncIterator[bytes]],
        items: AsyncIterator[StreamItem],
        started: float,
        *,
        resumed: bool,
    ) -> AsyncIterator[bytes]:
        """The stream's body (module docstring); ``resumed`` counts a ``Last-Event-ID``."""
        if resumed:
            self.metrics.record(m.STREAM_RESUMES)
        return renewing(frames(observed(items, self.metrics, started)), self.lease)
