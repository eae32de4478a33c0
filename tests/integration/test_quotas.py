"""Per-principal quotas against a real Valkey: token bucket, leases, isolation, keys, TTLs."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import pytest
from redis.crc import key_slot

from a2a_gateway.store.keys import QuotaKeys
from a2a_gateway.store.quotas import MAX_LEASE_RETRY_AFTER, MIN_RETRY_AFTER, Quotas, Refused

if TYPE_CHECKING:
    from redis.asyncio import Redis


@pytest.fixture
def quotas(redis: Redis) -> Quotas:
    return Quotas(redis)


@pytest.fixture
def principal() -> str:
    return f"p-{uuid.uuid4()}"


async def take_all(quotas: Quotas, principal: str, rate: float, burst: int) -> int:
    """Take until refused; how many were taken."""
    taken = 0
    while await quotas.take(principal, rate, burst) is None:
        taken += 1
        assert taken <= 10 * burst
    return taken


# token bucket


async def test_the_bucket_admits_burst_then_refuses(quotas: Quotas, principal: str) -> None:
    # 1 token a minute: nothing refills during the test
    for _ in range(5):
        assert await quotas.take(principal, 1 / 60, 5) is None
    refused = await quotas.take(principal, 1 / 60, 5)
    assert isinstance(refused, Refused)
    assert (refused.limit, refused.allowed) == ("rate", 1 / 60)
    assert 50 < refused.retry_after <= 60
    assert 51 <= refused.retry_after_seconds <= 60


async def test_the_bucket_refills_over_time(quotas: Quotas, principal: str) -> None:
    assert await take_all(quotas, principal, 20, 4) >= 4
    refused = await quotas.take(principal, 20, 4)
    assert refused is not None
    assert MIN_RETRY_AFTER <= refused.retry_after <= 0.05 + 0.001
    assert refused.retry_after_seconds == 1
    await asyncio.sleep(0.3)  # 6 tokens' worth: the bucket is full again, not fuller
    taken = await take_all(quotas, principal, 20, 4)
    assert 4 <= taken <= 6  # a slow machine may refill one or two during the loop


async def test_a_refused_take_does_not_consume(quotas: Quotas, principal: str) -> None:
    rate = 1 / 60
    assert await quotas.take(principal, rate, 3, cost=2) is None
    for _ in range(20):
        refused = await quotas.take(principal, rate, 3, cost=2)
        assert refused is not None
        # one token missing, at a token a minute
        assert 55 < refused.retry_after <= 60
    assert await quotas.take(principal, rate, 3, cost=1) is None
    assert await quotas.take(principal, rate, 3, cost=1) is not None


async def test_a_fractional_cost_and_rate(quotas: Quotas, principal: str) -> None:
    for _ in range(4):
        assert await quotas.take(principal, 1 / 60, 1, cost=0.25) is None
    refused = await quotas.take(principal, 1 / 60, 1, cost=0.25)
    assert refused is not None
    assert 14 < refused.retry_after <= 15  # a quarter token at a token a minute


async def test_the_bucket_is_exact_under_a_concurrent_burst(quotas: Quotas, principal: str) -> None:
    outcomes = await asyncio.gather(*(quotas.take(principal, 1 / 60, 7) for _ in range(50)))
    assert sum(o is None for o in outcomes) == 7


async def test_bucket_arguments_are_checked(quotas: Quotas, principal: str) -> None:
    for rate, burst, cost in ((0, 1, 1), (-1, 1, 1), (float("inf"), 1, 1), (float("nan"), 1, 1)):
        with pytest.raises(ValueError, match="rate"):
            await quotas.take(principal, rate, burst, cost)
    with pytest.raises(ValueError, match="burst"):
        await quotas.take(principal, 1, 0)
    for cost in (0, -1, 3):
        with pytest.raises(ValueError, match="cost"):
            await quotas.take(principal, 1, 2, cost)


async def test_the_bucket_key_expires_once_it_would_be_full(
    quotas: Quotas, principal: str, redis: Redis
) -> None:
    assert await quotas.take(principal, 2, 10) is None  # a full refill takes 5 s
    ttl = await redis.pttl(quotas.keys(principal).rate)
    assert 5000 < ttl <= 6000
    # a tiny rate: the TTL is capped (30 days), never unbounded
    slow = f"{principal}-slow"
    assert await quotas.take(slow, 1e-9, 10) is None
    assert 0 < await redis.ttl(quotas.keys(slow).rate) <= 30 * 24 * 3600


async def test_a_server_clock_that_went_back_does_not_stop_the_refill(
    quotas: Quotas, principal: str, redis: Redis
) -> None:
    # as after a failover to a server whose clock is a minute behind the old one's
    seconds, micros = await redis.time()
    future = seconds * 1000 + micros // 1000 + 60_000
    await redis.hset(quotas.keys(principal).rate, mapping={"tokens": "0", "ts": str(future)})
    refused = await quotas.take(principal, 20, 2)
    assert refused is not None and refused.retry_after <= 0.051
    await asyncio.sleep(0.3)
    assert await quotas.take(principal, 20, 2) is None


# leases


async def test_the_lease_limit_is_exact_under_a_concurrent_burst(
    quotas: Quotas, principal: str
) -> None:
    outcomes = await asyncio.gather(
        *(quotas.acquire(principal, "streams", f"r-{i}", 7, 30) for i in range(50))
    )
    assert sum(o is None for o in outcomes) == 7
    refusals = [o for o in outcomes if o is not None]
    assert all(r.limit == "streams" and r.allowed == 7 for r in refusals)
    assert await quotas.held(principal, "streams") == 7


async def test_release_frees_a_slot_and_is_idempotent(quotas: Quotas, principal: str) -> None:
    for i in range(2):
        assert await quotas.acquire(principal, "waits", f"w-{i}", 2, 30) is None
    assert await quotas.acquire(principal, "waits", "w-2", 2, 30) is not None
    await quotas.release(principal, "waits", "w-0")
    await quotas.release(principal, "waits", "w-0")
    await quotas.release(principal, "waits", "never-held")
    assert await quotas.held(principal, "waits") == 1
    assert await quotas.acquire(principal, "waits", "w-2", 2, 30) is None
    assert await quotas.held(principal, "waits") == 2
    assert await quotas.acquire(principal, "waits", "w-3", 2, 30) is not None


async def test_acquiring_a_held_id_again_renews_it_and_counts_once(
    quotas: Quotas, principal: str, redis: Redis
) -> None:
    key = quotas.keys(principal).lease("turns")
    assert await quotas.acquire(principal, "turns", "t-1", 2, 5) is None
    first = await redis.zscore(key, "t-1")
    assert first is not None
    for _ in range(3):
        assert await quotas.acquire(principal, "turns", "t-1", 2, 30) is None
    assert await quotas.held(principal, "turns") == 1
    renewed = await redis.zscore(key, "t-1")
    assert renewed is not None and renewed >= first + 24_000
    assert await quotas.acquire(principal, "turns", "t-2", 2, 30) is None
    # at the limit, a held id is still admitted (it takes no new slot); a new one is not
    assert await quotas.acquire(principal, "turns", "t-1", 2, 30) is None
    assert await quotas.acquire(principal, "turns", "t-3", 2, 30) is not None
    assert await quotas.held(principal, "turns") == 2


async def test_an_expired_lease_frees_its_slot(quotas: Quotas, principal: str) -> None:
    assert await quotas.acquire(principal, "streams", "s-1", 1, 0.5) is None
    assert await quotas.acquire(principal, "streams", "s-2", 1, 30) is not None
    await asyncio.sleep(0.7)
    assert await quotas.held(principal, "streams") == 0
    assert await quotas.acquire(principal, "streams", "s-2", 1, 30) is None
    assert await quotas.held(principal, "streams") == 1


async def test_renew_keeps_a_lease_alive_until_it_expires(quotas: Quotas, principal: str) -> None:
    assert await quotas.acquire(principal, "streams", "s-1", 1, 1) is None
    for _ in range(4):  # 1.2 s in all, longer than the lease's TTL
        await asyncio.sleep(0.3)
        assert await quotas.renew(principal, "streams", "s-1", 1)
    assert await quotas.held(principal, "streams") == 1
    assert await quotas.acquire(principal, "streams", "s-2", 1, 30) is not None
    await asyncio.sleep(1.3)
    assert not await quotas.renew(principal, "streams", "s-1", 30)
    assert await quotas.held(principal, "streams") == 0
    # renew never creates a lease: released or never held is False too
    assert not await quotas.renew(principal, "streams", "never-held", 30)
    assert await quotas.acquire(principal, "streams", "s-2", 1, 30) is None
    await quotas.release(principal, "streams", "s-2")
    assert not await quotas.renew(principal, "streams", "s-2", 30)
    assert await quotas.held(principal, "streams") == 0


async def test_held_counts_live_leases_per_kind(quotas: Quotas, principal: str) -> None:
    assert await quotas.held(principal, "streams") == 0
    for i in range(3):
        assert await quotas.acquire(principal, "streams", f"s-{i}", 5, 30) is None
    assert await quotas.acquire(principal, "streams", "short", 5, 0.5) is None
    assert await quotas.acquire(principal, "waits", "s-0", 5, 30) is None
    assert await quotas.held(principal, "streams") == 4
    assert await quotas.held(principal, "waits") == 1
    await asyncio.sleep(0.7)
    assert await quotas.held(principal, "streams") == 3  # not yet pruned, not counted


async def test_a_refusal_says_when_the_earliest_lease_expires(
    quotas: Quotas, principal: str
) -> None:
    assert await quotas.acquire(principal, "streams", "late", 2, 40) is None
    assert await quotas.acquire(principal, "streams", "early", 2, 10) is None
    refused = await quotas.acquire(principal, "streams", "third", 2, 30)
    assert refused is not None
    assert 8 < refused.retry_after <= 10
    assert refused.retry_after_seconds in (9, 10)
    # a lease expiring later than the cap: the cap
    other = f"{principal}-long"
    assert await quotas.acquire(other, "streams", "long", 1, 600) is None
    capped = await quotas.acquire(other, "streams", "next", 1, 30)
    assert capped is not None and capped.retry_after == MAX_LEASE_RETRY_AFTER


async def test_a_limit_of_zero_admits_nothing(quotas: Quotas, principal: str) -> None:
    refused = await quotas.acquire(principal, "turns", "t-1", 0, 30)
    assert refused == Refused("turns", 0, MAX_LEASE_RETRY_AFTER)
    assert await quotas.held(principal, "turns") == 0


async def test_lease_arguments_are_checked(quotas: Quotas, principal: str) -> None:
    with pytest.raises(ValueError, match="limit"):
        await quotas.acquire(principal, "streams", "s", -1, 30)
    for ttl in (0, -1, 30 * 86_400 + 1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="ttl_seconds"):
            await quotas.acquire(principal, "streams", "s", 1, ttl)
        with pytest.raises(ValueError, match="ttl_seconds"):
            await quotas.renew(principal, "streams", "s", ttl)
    for kind in ("", "1streams", "a}b", "x" * 33, "s:1", "s 1"):
        with pytest.raises(ValueError, match="kind"):
            await quotas.held(principal, kind)
    with pytest.raises(ValueError, match="lease_id"):
        await quotas.acquire(principal, "streams", "", 1, 30)
    assert await quotas.held(principal, "streams") == 0
    assert await quotas.acquire(principal, "runningTasks", "task-1", 1, 30 * 86_400) is None


# isolation, keys, TTLs


async def test_principals_are_independent(quotas: Quotas, principal: str) -> None:
    other = f"{principal}-other"
    assert await quotas.acquire(principal, "streams", "s-1", 1, 30) is None
    assert await quotas.acquire(principal, "streams", "s-2", 1, 30) is not None
    assert await quotas.acquire(other, "streams", "s-1", 1, 30) is None  # same id, own lease
    await quotas.release(other, "streams", "s-1")
    assert await quotas.held(principal, "streams") == 1
    assert await take_all(quotas, principal, 1 / 60, 3) == 3
    assert await quotas.take(other, 1 / 60, 3) is None


async def test_the_keys_of_a_principal_share_one_slot_and_carry_it(
    quotas: Quotas, principal: str
) -> None:
    keys = quotas.keys(principal)
    assert keys == QuotaKeys(principal, "a2a")
    names = [keys.rate, keys.lease("streams"), keys.lease("waits"), keys.lease("turns")]
    assert names[0] == f"a2a:{{q:{principal}}}:rate"
    assert names[1] == f"a2a:{{q:{principal}}}:lease:streams"
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert all(principal in name for name in names)
    assert Quotas(quotas.redis, prefix="x").keys(principal).rate == f"x:{{q:{principal}}}:rate"


async def test_every_key_has_a_ttl(quotas: Quotas, principal: str, redis: Redis) -> None:
    await quotas.take(principal, 5, 10)
    await quotas.take(principal, 5, 10, cost=10)  # refused: still one key, with its TTL
    for i in range(3):
        await quotas.acquire(principal, "streams", f"s-{i}", 2, 30)
    await quotas.acquire(principal, "waits", "w", 2, 5)
    assert await quotas.renew(principal, "waits", "w", 20)
    await quotas.release(principal, "streams", "s-1")
    await quotas.acquire(principal, "turns", "t", 0, 30)  # refused: no key at all
    found = [key async for key in redis.scan_iter(match=f"a2a:{{q:{principal}}}:*")]
    assert sorted(found) == sorted(
        k.encode()
        for k in (
            quotas.keys(principal).rate,
            quotas.keys(principal).lease("streams"),
            quotas.keys(principal).lease("waits"),
        )
    )
    for key in found:
        assert 0 < await redis.pttl(key) <= 30_000, key
    # a lease key lives as long as its latest lease: a longer one pushes it out
    await quotas.acquire(principal, "waits", "w-long", 2, 60)
    assert 50_000 < await redis.pttl(quotas.keys(principal).lease("waits")) <= 60_000


async def test_an_idle_principals_keys_disappear(
    quotas: Quotas, principal: str, redis: Redis
) -> None:
    assert await quotas.take(principal, 20, 2) is None  # full again after 0.1 s (+1 s margin)
    assert await quotas.acquire(principal, "streams", "s", 1, 0.2) is None
    await asyncio.sleep(1.5)
    assert [key async for key in redis.scan_iter(match=f"a2a:{{q:{principal}}}:*")] == []
