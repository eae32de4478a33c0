"""Per-principal limits kept in Redis: a request rate and counted leases.

- ``take``: a token bucket per principal, ``burst`` tokens refilled at ``rate`` per second
  (``rate`` may be fractional). A refused take consumes nothing; its ``retry_after`` is the
  time until ``cost`` tokens will be there.
- ``acquire``/``renew``/``release``/``held``: at most ``limit`` live leases of a ``kind``
  (``"streams"``, ``"waits"``, ``"runningTasks"``…) per principal. A lease expires by
  itself after its TTL unless renewed, so a crashed gateway process leaks a slot only that
  long.
  Acquiring an id already held renews it (idempotent, counted once). A ``limit`` of 0 admits
  nothing new. A refusal's ``retry_after`` is the time until the earliest lease expires,
  at most ``MAX_LEASE_RETRY_AFTER`` (a slot may also free sooner, by a release).

Keys (``keys.QuotaKeys``), all under the tag ``{q:<principal>}`` (one cluster slot per
principal, no global key: a principal at its limit loads only its own keys):

- ``…:rate``, a hash: ``tokens`` and ``ts`` (last refill, server ms); it expires when a full
  refill would be done (at most ``_MAX_BUCKET_TTL_MS``): a missing bucket counts as full;
- ``…:lease:<kind>``, a sorted set: lease id scored by its expiry (server ms); expired ones
  are dropped by the next ``acquire`` or ``renew``, and the key expires with its latest lease.

Every operation is one script (``release`` one ``ZREM``), so concurrent gateway processes
never admit more than the limit. The scripts read the time with ``redis.call('TIME')``: the
processes' clocks may disagree by seconds, which would refill buckets too early or expire
other processes' leases; the server's clock is the one clock they all share (and the one
``PEXPIRE`` uses). Principals are key-safe strings; kinds are short fixed names (checked:
they are part of a key). ``Refused.retry_after_seconds`` is the ``Retry-After`` value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from a2a_gateway.store.keys import QuotaKeys

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

RUNNING_TASKS = "runningTasks"
"""The lease kind of a task running a turn: taken by the gateway when a turn starts, given
back by the event log when the task's status becomes final or interrupted."""
MAX_LEASE_RETRY_AFTER = 60.0
"""Most seconds a refused ``acquire`` asks the client to wait."""
MIN_RETRY_AFTER = 0.001
"""Least seconds any refusal asks the client to wait (never 0: no busy retry loop)."""
MAX_LEASE_TTL_SECONDS = 30 * 24 * 3600
"""Longest lease TTL (a bound against mistakes; a long holder should rather renew)."""
_MAX_BUCKET_TTL_MS = 30 * 24 * 3600 * 1000
"""A bucket idle this long starts full, even if its full refill would take longer."""
_BUCKET_TTL_MARGIN_MS = 1000
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function ms(n) return string.format('%d', n) end
"""

# KEYS: 1 bucket (hash). ARGV: 1 rate (tokens/s), 2 burst, 3 cost, 4 key TTL ms.
# Returns 0 taken, else the ms until ``cost`` tokens will be there (>= 1).
_TAKE = (
    _NOW
    + """
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]) or burst, tonumber(state[2]) or now
local elapsed = now - ts
tokens = math.min(burst, tokens + math.max(0, elapsed) * rate / 1000)
if tokens < cost then
  -- the server clock went back (a failover): refill from now on, not from the future
  if elapsed < 0 then redis.call('HSET', KEYS[1], 'ts', ms(now)) end
  return math.max(1, math.ceil((cost - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens - cost), 'ts', ms(now))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0
"""
)

# KEYS: 1 leases of one kind (zset). ARGV: 1 lease id, 2 TTL ms[, 3 limit].
_LEASES = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms(now))
local function hold()
  redis.call('ZADD', KEYS[1], ms(now + tonumber(ARGV[2])), ARGV[1])
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
"""
)

# Returns 0 admitted, else the ms until the earliest lease expires (-1: none is held).
_ACQUIRE = (
    _LEASES
    + """
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return tonumber(first[2]) - now
end
hold()
return 0
"""
)

# Returns 1 renewed, 0 not held.
_RENEW = _LEASES + "if not held then return 0 end\nhold()\nreturn 1\n"

# KEYS: 1 leases of one kind (zset). Returns the live ones.
_HELD = _NOW + "return redis.call('ZCOUNT', KEYS[1], '(' .. ms(now), '+inf')\n"


@dataclass(frozen=True)
class Refused:
    """Why a quota refused, and when to try again."""

    limit: str
    """Which limit: ``"rate"``, or the lease kind."""
    allowed: int | float
    """The configured limit: tokens per second for ``"rate"``, else the lease count."""
    retry_after: float
    """Seconds to wait before retrying, at least ``MIN_RETRY_AFTER``."""

    @property
    def retry_after_seconds(self) -> int:
        """``retry_after`` in whole seconds, rounded up, at least 1 (a ``Retry-After``)."""
        return max(1, math.ceil(self.retry_after))


def _ttl_ms(ttl_seconds: float) -> int:
    if not 0 < ttl_seconds <= MAX_LEASE_TTL_SECONDS:
        raise ValueError(f"ttl_seconds must be above 0 and at most {MAX_LEASE_TTL_SECONDS}")
    return max(1, math.ceil(ttl_seconds * 1000))


class Quotas:
    """Per-principal token buckets and leases; the limits are the caller's, per call."""

    def __init__(self, redis: Redis, prefix: str = "a2a") -> None:
        self.redis = redis
        self.prefix = prefix
        self._take: AsyncScript = redis.register_script(_TAKE)
        self._acquire: AsyncScript = redis.register_script(_ACQUIRE)
        self._renew: AsyncScript = redis.register_script(_RENEW)
        self._held: AsyncScript = redis.register_script(_HELD)

    def keys(self, principal: str) -> QuotaKeys:
        """The quota keys of ``principal``."""
        return QuotaKeys(principal, self.prefix)

    def _lease_key(self, principal: str, kind: str, lease_id: str | None = None) -> str:
        if not _KIND.fullmatch(kind):
            raise ValueError(f"invalid lease kind {kind!r}")
        if lease_id == "":
            raise ValueError("lease_id must not be empty")
        return self.keys(principal).lease(kind)

    async def take(
        self, principal: str, rate: float, burst: int, cost: float = 1
    ) -> Refused | None:
        """Token bucket: ``burst`` tokens, refilled at ``rate`` per second; None when taken.
        ``ValueError`` unless ``rate > 0``, ``burst >= 1`` and ``0 < cost <= burst``."""
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a positive number")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if not 0 < cost <= burst:
            raise ValueError("cost must be above 0 and at most burst")
        ttl = min(math.ceil(burst / rate * 1000) + _BUCKET_TTL_MARGIN_MS, _MAX_BUCKET_TTL_MS)
        args: list[str | int] = [repr(float(rate)), burst, repr(float(cost)), ttl]
        wait = int(await self._take(keys=[self.keys(principal).rate], args=args))
        if wait == 0:
            return None
        return Refused("rate", rate, max(MIN_RETRY_AFTER, wait / 1000))

    async def acquire(
        self, principal: str, kind: str, lease_id: str, limit: int, ttl_seconds: float
    ) -> Refused | None:
        """A lease: at most ``limit`` live leases of ``kind`` per principal; None when held
        (newly or again: an id already held is renewed and counted once). It expires after
        ``ttl_seconds`` unless renewed. ``ValueError`` for a negative ``limit``."""
        if limit < 0:
            raise ValueError("limit must not be negative")
        key = self._lease_key(principal, kind, lease_id)
        wait = int(await self._acquire(keys=[key], args=[lease_id, _ttl_ms(ttl_seconds), limit]))
        if wait == 0:
            return None
        retry = MAX_LEASE_RETRY_AFTER if wait < 0 else min(MAX_LEASE_RETRY_AFTER, wait / 1000)
        return Refused(kind, limit, max(MIN_RETRY_AFTER, retry))

    async def renew(self, principal: str, kind: str, lease_id: str, ttl_seconds: float) -> bool:
        """Set a held lease to expire ``ttl_seconds`` from now; False if it is not held
        (expired or released: then ``acquire`` it again)."""
        key = self._lease_key(principal, kind, lease_id)
        return bool(await self._renew(keys=[key], args=[lease_id, _ttl_ms(ttl_seconds)]))

    async def release(self, principal: str, kind: str, lease_id: str) -> None:
        """Give a lease back; nothing happens if it is not held (idempotent)."""
        await self.redis.zrem(self._lease_key(principal, kind, lease_id), lease_id)

    async def held(self, principal: str, kind: str) -> int:
        """How many leases of ``kind`` the principal holds (expired ones not counted)."""
        return int(await self._held(keys=[self._lease_key(principal, kind)]))
