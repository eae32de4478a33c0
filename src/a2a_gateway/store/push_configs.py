"""Push notification configurations, stored per task beside the task's keys.

One Redis hash per task (``a2a:{b17}:push:<principal>:<task>``), field = config id, value
= the config as JSON. It shares the task's hash slot and the append script refreshes its
TTL with the task's other keys, so configurations live exactly as long as their task.
A config without an ``id`` gets the task id, so setting it again replaces it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from a2a_gateway.models import PushNotificationConfig

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from a2a_gateway.store.keys import TaskKeys


class PushConfigStore:
    """Several push configurations per task."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def set(self, keys: TaskKeys, config: PushNotificationConfig) -> PushNotificationConfig:
        """Store ``config`` (replacing one with the same id) with the task's remaining TTL."""
        stored = config.model_copy(update={"id": config.id or keys.task_id})
        ttl_ms = await self.redis.pttl(keys.task)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.push, str(stored.id), json.dumps(stored.dump()))
            if ttl_ms > 0:
                pipe.pexpire(keys.push, ttl_ms)
            await pipe.execute()
        return stored

    async def get(self, keys: TaskKeys, config_id: str | None) -> PushNotificationConfig | None:
        """The config with ``config_id``; without an id, the task's first one."""
        if config_id is None:
            configs = await self.list(keys)
            return configs[0] if configs else None
        raw = await self.redis.hget(keys.push, config_id)
        return None if raw is None else PushNotificationConfig.model_validate_json(raw)

    async def list(self, keys: TaskKeys) -> list[PushNotificationConfig]:
        """Every config of the task, ordered by id."""
        stored = await self.redis.hgetall(keys.push)
        return [PushNotificationConfig.model_validate_json(stored[k]) for k in sorted(stored)]

    async def delete(self, keys: TaskKeys, config_id: str) -> bool:
        """Remove one config; False if there was none with that id."""
        return bool(await self.redis.hdel(keys.push, config_id))
