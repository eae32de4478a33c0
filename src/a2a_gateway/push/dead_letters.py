"""Notifications that will not be delivered, kept for an operator: a Redis stream
(``<prefix>:push:dead``) for the dispatchers that do not hand notifications to the state
machine (whose dead letters go to SQS), and for what no execution may carry."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from redis.asyncio import Redis

DEAD_LETTER_MAXLEN = 10_000
CAUSE_CHARS = 300


class DeadLetters:
    """Notifications that exhausted their retries or were refused, as a Redis stream
    (``<prefix>:push:dead``, about ``DEAD_LETTER_MAXLEN`` kept). A record names the
    task, config, the webhook's host (never its path or query), the error and
    when; never the token, credentials, signature or payload."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.key = f"{prefix}:push:dead"

    async def add(self, event: dict[str, Any], error: BaseException) -> None:
        record: dict[Any, Any] = {
            "taskId": str(event.get("taskId", "")),
            "configId": str(event.get("configId", "")),
            "webhookHost": urlsplit(str(event.get("url", ""))).hostname or "",
            "error": type(error).__name__,
            "cause": str(error)[:CAUSE_CHARS],
            "failedAt": str(int(time.time())),
        }
        await self.redis.xadd(self.key, record, maxlen=DEAD_LETTER_MAXLEN, approximate=True)

    async def all(self) -> list[dict[str, str]]:
        entries: Any = await self.redis.xrange(self.key)
        return [{_text(k): _text(v) for k, v in fields.items()} for _, fields in entries]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
