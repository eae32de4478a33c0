"""``GET /.well-known/jwks.json``: the public keys that sign this deployment's push
notifications (served while ``A2A_PUSH_NOTIFICATIONS`` is on).

A receiver fetches it from the ``iss`` of a notification's token and verifies the token
with the key its ``kid`` names. The document is the one the signer (the worker's
dispatcher) published in Redis, or, before any has, the public half of the local key
store (``push.keystore``); a gateway never reads a secret. It is read at most every
``CACHE_SECONDS``, so a rotation is published within that time on every
instance; the response may be cached as long. A store that cannot be read answers 503
(a receiver retries), never a stale or empty set presented as current.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from a2a_gateway.push import keystore

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from starlette.requests import Request

CACHE_SECONDS = 60.0


class PublishedKeys:
    """The JWKS document of the keys in the store, cached for ``CACHE_SECONDS``."""

    def __init__(self, redis: Redis, prefix: str, cache_seconds: float = CACHE_SECONDS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.cache_seconds = cache_seconds
        self._document: dict[str, Any] | None = None
        self._read_at = 0.0

    async def document(self) -> dict[str, Any]:
        if self._document is None or time.monotonic() - self._read_at >= self.cache_seconds:
            document = await keystore.published(self.redis, self.prefix)
            if document is None:  # no signer has published yet: the local store's keys
                document = (await keystore.load_or_create(self.redis, self.prefix)).jwks()
            self._document, self._read_at = document, time.monotonic()
        return self._document

    async def endpoint(self, request: Request) -> Response:
        try:
            document = await self.document()
        except Exception:  # Redis down or a broken set: say so, never publish a guess
            return JSONResponse({"error": "signing keys unavailable"}, 503, {"Retry-After": "5"})
        cache = f"public, max-age={int(self.cache_seconds)}"
        return JSONResponse(document, headers={"Cache-Control": cache})
