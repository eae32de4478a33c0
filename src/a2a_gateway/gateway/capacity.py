"""Per-process capacity for requests that hold a hub subscription: streams and waits.

``take`` neither awaits nor yields, so no burst can overshoot the limit; a slot is given
back exactly once, however the request ends. While draining, no slot is given.
"""

from __future__ import annotations

from typing import Literal

from a2a_gateway.errors import RPCError, UnavailableError

RETRY_AFTER_SECONDS = 1

Kind = Literal["stream", "wait"]


class AtCapacity(Exception):
    """No slot for a stream or a wait: the process is full or draining (HTTP 503; another
    instance may have room). ``error`` is the JSON-RPC error to answer with."""

    def __init__(self, error: RPCError) -> None:
        super().__init__(error.message)
        self.error = error


class Capacity:
    """Slots for requests that hold a hub subscription, streams and waits together, at
    most ``limit`` per process.

    ``take`` neither awaits nor yields, so no burst can overshoot ``limit``; each slot is
    given back exactly once (``Slot.release`` is idempotent). While ``draining``, no slot
    is given."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.streams = 0
        self.waits = 0
        self.draining = False

    def take(self, kind: Kind) -> Slot:
        """A slot, or ``AtCapacity``."""
        if self.draining:
            raise AtCapacity(_unavailable("is shutting down"))
        if self.streams + self.waits >= self.limit:
            raise AtCapacity(
                _unavailable(f"is serving its maximum of {self.limit} streams and waiting requests")
            )
        if kind == "stream":
            self.streams += 1
        else:
            self.waits += 1
        return Slot(self, kind)

    def give_back(self, kind: Kind) -> None:
        if kind == "stream":
            self.streams -= 1
        else:
            self.waits -= 1


class Slot:
    """One taken slot; ``release`` gives it back once, however often it is called."""

    def __init__(self, capacity: Capacity, kind: Kind) -> None:
        self._capacity: Capacity | None = capacity
        self._kind: Kind = kind

    def release(self) -> None:
        capacity, self._capacity = self._capacity, None
        if capacity is not None:
            capacity.give_back(self._kind)


def _unavailable(state: str) -> UnavailableError:
    return UnavailableError(
        f"This gateway instance {state}; retry in {RETRY_AFTER_SECONDS} s",
        data={"retryAfter": RETRY_AFTER_SECONDS},
    )
