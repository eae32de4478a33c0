"""Where the push signing keys live when no secret store is configured: in Redis, made on
first start; and where the signer publishes their public half for the gateways
(``publish``), wherever the keys themselves are kept.

``load_or_create`` reads the key set at ``<prefix>:push:signing-keys``; when there is
none it generates one and stores it with ``SET NX``, then reads back whatever is stored,
so processes starting together (gateways that publish the keys, workers that sign)
settle on the same set whoever wrote first. ``rotate`` puts a new key in front with a
compare-and-set on the stored text, so a rotation never loses a concurrent one. The key
has no TTL. Secret: whoever can read this Redis key can sign notifications (the same
trust as the task data next to it).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from a2a_gateway.push.signing import KeySet

if TYPE_CHECKING:
    from redis.asyncio import Redis

# KEYS: the key set. ARGV: the text read, the new text. 1 if replaced, 0 if it changed.
_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


def storage_key(prefix: str) -> str:
    return f"{prefix}:push:signing-keys"


async def load_or_create(redis: Redis, prefix: str) -> KeySet:
    """The stored key set, generated and stored first if there is none."""
    key = storage_key(prefix)
    stored = await redis.get(key)
    if stored is None:
        await redis.set(key, KeySet.generate().to_json(), nx=True)
        stored = await redis.get(key)
    if stored is None:  # deleted between the two calls: a generated set still signs
        raise RuntimeError(f"{key} vanished while it was being created")
    return KeySet.from_json(stored)


async def rotate(redis: Redis, prefix: str) -> KeySet:
    """A new signing key in front of the stored ones (``KeySet.rotated``)."""
    key = storage_key(prefix)
    while True:
        await load_or_create(redis, prefix)
        stored = await redis.get(key)
        if stored is None:
            continue
        after = KeySet.from_json(stored).rotated()
        if await redis.eval(_COMPARE_AND_SET, 1, key, stored, after.to_json()):
            return after


def published_key(prefix: str) -> str:
    return f"{prefix}:push:jwks"


async def publish(redis: Redis, prefix: str, keys: KeySet) -> None:
    """Make ``keys``' public half what the gateways serve (``gateway.jwks``): the signer
    calls this whenever it (re)reads its keys, wherever they are kept."""
    await redis.set(published_key(prefix), json.dumps(keys.jwks()))


async def published(redis: Redis, prefix: str) -> dict[str, object] | None:
    """The JWKS document the signer published, if it has."""
    text = await redis.get(published_key(prefix))
    return None if text is None else dict(json.loads(text))
