"""Per-principal limits at the gateway: a request's token, a stream's or a wait's lease.

The limits come from the routing file (``limit_classes``), by the caller's class; the
counts live in Redis (``store.quotas``), so every gateway process enforces the same ones,
and each principal's keys are its own, so a principal at its limit costs no other
principal anything. Over a limit the caller gets ``LimitExceededError`` (HTTP 429 with
``Retry-After``; ``data`` names the limit). When Redis does not answer, a limit cannot be
checked and the request is refused with ``LimitsUnavailableError`` (HTTP 503,
``Retry-After``), not let through.

A stream's lease lives ``LEASE_SECONDS`` and is renewed as the stream runs
(``renewing``), so a gateway process that dies frees its streams' places within that
time; a wait's lease lives as long as the wait may. ``runningTasks`` is a lease per task
taken by the service when a turn starts and released by the event log when the task
reaches a final or interrupted state.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Literal

import anyio
from redis.exceptions import RedisError

from a2a_gateway.errors import LimitExceededError, LimitsUnavailableError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from a2a_gateway.access import Caller
    from a2a_gateway.limit_classes import Limits, LimitTable
    from a2a_gateway.store.quotas import Quotas, Refused

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
"""How long a stream's lease lives unless renewed; a stream renews it every third of it."""

LEASE_RETRY_AFTER_SECONDS = 5
"""The ``Retry-After`` of a refused stream, wait or running task."""

Kind = Literal["streams", "waits"]


def refusal(refused: Refused, limit_key: str) -> LimitExceededError:
    """The client's error for a refusal of the limit named ``limit_key`` (file key)."""
    # A place held by a lease comes back when its holder ends, not at a time anyone knows:
    # a client is told to try again soon rather than when the lease would expire.
    retry_after = refused.retry_after_seconds
    if limit_key != "requestsPerSecond":
        retry_after = min(retry_after, LEASE_RETRY_AFTER_SECONDS)
    what = (
        f"{refused.allowed:g} requests per second"
        if limit_key == "requestsPerSecond"
        else f"{refused.allowed:g} {limit_key}"
    )
    return LimitExceededError(
        f"Limit exceeded: at most {what} for this caller; retry in {retry_after} s",
        data={"limit": limit_key, "allowed": refused.allowed, "retryAfter": retry_after},
    )


def unavailable(err: Exception) -> LimitsUnavailableError:
    """The error for a limit that could not be checked: refused (503), never let through."""
    log.warning("per-principal limits unavailable: %s", type(err).__name__)
    return LimitsUnavailableError(data={"retryAfter": LimitsUnavailableError.retry_after})


RELEASES_AT_ONCE = 8
"""Lease releases in flight at once per process: a thousand clients leaving together queue
their releases on a few Redis connections instead of opening one each."""


class Lease:
    """One held stream or wait place; ``release`` gives it back once."""

    def __init__(
        self,
        quotas: Quotas,
        principal: str,
        kind: Kind,
        lease_id: str,
        releasing: asyncio.Semaphore,
    ) -> None:
        self._quotas: Quotas | None = quotas
        self.principal = principal
        self.kind: Kind = kind
        self.id = lease_id
        self._releasing = releasing

    async def renew(self, seconds: float) -> None:
        if self._quotas is not None:
            await self._quotas.renew(self.principal, self.kind, self.id, seconds)

    async def release(self) -> None:
        """Give the place back, once. Shielded: a stream ends by cancellation when its
        client leaves, and an unshielded await here would be cancelled with it, leaving
        the place taken until the lease expired."""
        quotas, self._quotas = self._quotas, None
        if quotas is None:
            return
        with anyio.CancelScope(shield=True):
            try:
                async with self._releasing:  # a burst of drops uses few pooled connections
                    await quotas.release(self.principal, self.kind, self.id)
            except Exception:  # the lease expires by itself
                log.warning("could not release a %s lease of %s", self.kind, self.principal)


class Quota:
    """The limits of ``table``, counted in ``quotas``."""

    def __init__(self, quotas: Quotas, table: LimitTable) -> None:
        self.quotas = quotas
        self.table = table
        self.releasing = asyncio.Semaphore(RELEASES_AT_ONCE)

    def limits(self, caller: Caller) -> Limits:
        return self.table.for_caller(caller)[1]

    async def admit(self, caller: Caller, limits: Limits, cost: int = 1) -> None:
        """Take ``cost`` request tokens (a batch pays for its members, at most ``burst``:
        more could never be taken), or raise ``LimitExceededError``."""
        if cost < 1:
            return
        rate, burst = limits.requests_per_second, limits.burst
        try:
            refused = await self.quotas.take(caller.principal, rate, burst, min(cost, burst))
        except (RedisError, OSError) as err:
            raise unavailable(err) from None
        if refused is not None:
            raise refusal(refused, "requestsPerSecond")

    async def hold(self, caller: Caller, limits: Limits, kind: Kind, seconds: float) -> Lease:
        """A lease of ``kind`` for ``seconds`` (renewable), or ``LimitExceededError``."""
        allowed = limits.streams if kind == "streams" else limits.waits
        lease_id = uuid.uuid4().hex
        try:
            refused = await self.quotas.acquire(caller.principal, kind, lease_id, allowed, seconds)
        except (RedisError, OSError) as err:
            raise unavailable(err) from None
        if refused is not None:
            raise refusal(refused, kind)
        return Lease(self.quotas, caller.principal, kind, lease_id, self.releasing)


async def renewing(items: AsyncIterator[bytes], lease: Lease) -> AsyncIterator[bytes]:
    """``items``, renewing ``lease`` every third of ``LEASE_SECONDS`` while they flow (the
    stream's keep-alives make sure something flows); when they end, however they end, it
    closes ``items`` and releases the lease, shielded from the cancellation that ends a
    stream whose client left."""
    renewed = time.monotonic()
    try:
        async for item in items:
            yield item
            if time.monotonic() - renewed > LEASE_SECONDS / 3:
                renewed = time.monotonic()
                try:
                    await lease.renew(LEASE_SECONDS)
                except Exception:
                    log.warning("could not renew a stream lease of %s", lease.principal)
    finally:
        with anyio.CancelScope(shield=True):
            try:
                aclose = getattr(items, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                await lease.release()
