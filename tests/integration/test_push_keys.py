"""The push signing keys in a real Valkey: processes starting together settle on one key
set, concurrent rotations form one chain (none lost), and the published document follows
the store."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from a2a_gateway.gateway.jwks import PublishedKeys
from a2a_gateway.push import keystore

if TYPE_CHECKING:
    from redis.asyncio import Redis


def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def test_processes_starting_together_share_one_key_set(redis: Redis) -> None:
    where = prefix()
    sets = await asyncio.gather(*(keystore.load_or_create(redis, where) for _ in range(20)))
    assert len({tuple(k.kid for k in s.keys) for s in sets}) == 1
    assert len(sets[0].keys) == 1
    assert await redis.ttl(keystore.storage_key(where)) == -1  # kept, no expiry
    await redis.delete(keystore.storage_key(where))


async def test_concurrent_rotations_form_one_chain(redis: Redis) -> None:
    where = prefix()
    first = await keystore.load_or_create(redis, where)
    rotations = await asyncio.gather(*(keystore.rotate(redis, where) for _ in range(3)))
    # Each rotation put its key in front of a different predecessor: no two rotated the
    # same set (which would lose one of them).
    predecessors = [r.keys[1].kid for r in rotations]
    assert len(set(predecessors)) == 3
    chain = {r.keys[1].kid: r.signer.kid for r in rotations}
    kid, seen = first.signer.kid, [first.signer.kid]
    while kid in chain:
        kid = chain[kid]
        seen.append(kid)
    assert len(seen) == 4  # the first key and three rotations, in one line
    stored = await keystore.load_or_create(redis, where)
    assert [k.kid for k in stored.keys] == list(reversed(seen))
    await redis.delete(keystore.storage_key(where))


async def test_the_published_document_follows_the_store(redis: Redis) -> None:
    where = prefix()
    published = PublishedKeys(redis, where, cache_seconds=0)
    before = await published.document()
    rotated = await keystore.rotate(redis, where)
    after = await published.document()
    assert [k["kid"] for k in after["keys"]] == [k.kid for k in rotated.keys]
    assert after["keys"][1] == before["keys"][0]
    cached = PublishedKeys(redis, where, cache_seconds=3600)
    held = await cached.document()
    await keystore.rotate(redis, where)
    assert await cached.document() == held  # until the cache expires
    await redis.delete(keystore.storage_key(where))
