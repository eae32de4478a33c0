"""Push notification configurations, stored per task beside the task's keys.

One Redis hash per task (``a2a:{b17}:push:<principal>:<task>``), field = config id, value
= the config as JSON. It shares the task's hash slot and the append script refreshes its
TTL with the task's other keys, so configurations live exactly as long as their task.
A config without an ``id`` gets the task id, so setting it again replaces it.

A task holds at most ``limit`` configs (the caller's ``pushConfigsPerTask``, by default
``MAX_PUSH_CONFIGS``). The check and the write are one
server-side script, so concurrent sets can never push a task over the cap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from a2a_gateway.core.limits import MAX_PUSH_CONFIGS
from a2a_gateway.models import PushNotificationConfig

if TYPE_CHECKING:
    import builtins

    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

    from a2a_gateway.store.keys import TaskKeys

# Whether the task owes every status update (``push_all`` on the task hash, read by
# append.lua): set while any of its configs asked for every one (``everyStatus``), derived
# from the configs again whenever one is stored or deleted, so it is never stale.
_REFRESH_PUSH_ALL = """
local function refresh_push_all(push, task)
  if redis.call('EXISTS', task) == 0 then
    return
  end
  for _, raw in ipairs(redis.call('HVALS', push)) do
    local ok, record = pcall(cjson.decode, raw)
    if ok and type(record) == 'table' and record.everyStatus == true then
      redis.call('HSET', task, 'push_all', '1')
      return
    end
  end
  redis.call('HDEL', task, 'push_all')
end
"""

# KEYS: push hash, task snapshot (same slot). ARGV: config id, record JSON, cap.
# Returns 1 when stored, 0 when the id is new and the task already holds ``cap`` configs.
_SET = (
    _REFRESH_PUSH_ALL
    + """
local push, task = KEYS[1], KEYS[2]
if redis.call('HEXISTS', push, ARGV[1]) == 0 and redis.call('HLEN', push) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', push, ARGV[1], ARGV[2])
refresh_push_all(push, task)
local ttl = redis.call('PTTL', task)
if ttl > 0 then
  redis.call('PEXPIRE', push, ttl)
end
return 1
"""
)

# KEYS: push hash, task snapshot. ARGV: config id. Returns 1 when a config was removed.
_DELETE = (
    _REFRESH_PUSH_ALL
    + """
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
refresh_push_all(KEYS[1], KEYS[2])
return removed
"""
)


class PushConfigLimitError(ValueError):
    """The task already holds ``MAX_PUSH_CONFIGS`` configs and this one has a new id (the
    service answers -32602; the message names the limit)."""

    def __init__(self, limit: int = MAX_PUSH_CONFIGS) -> None:
        super().__init__(
            f"A task may hold at most {limit} push notification configs; delete one or "
            "replace one by its id"
        )
        self.limit = limit


@dataclass(frozen=True)
class StoredConfig:
    """A config as stored: with the protocol version of the call that set it (the shape
    its notifications take) and the gateway's base URL then (their issuer)."""

    config: PushNotificationConfig
    version: str = "0.3"
    issuer: str = ""
    every_status: bool = False


def _parse(raw: str | bytes) -> StoredConfig:
    """A stored record; a bare config (stored before records carried more) reads as 0.3."""
    data = json.loads(raw)
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        config = PushNotificationConfig.model_validate(data["config"])
        return StoredConfig(
            config,
            str(data.get("version", "0.3")),
            str(data.get("issuer", "")),
            data.get("everyStatus") is True,
        )
    return StoredConfig(PushNotificationConfig.model_validate(data))


class PushConfigStore:
    """Several push configurations per task, at most ``MAX_PUSH_CONFIGS``."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._set: AsyncScript = redis.register_script(_SET)
        self._delete: AsyncScript = redis.register_script(_DELETE)

    async def set(
        self,
        keys: TaskKeys,
        config: PushNotificationConfig,
        limit: int = MAX_PUSH_CONFIGS,
        *,
        version: str = "0.3",
        issuer: str = "",
        every_status: bool = False,
    ) -> PushNotificationConfig:
        """Store ``config`` with the task's remaining TTL, the protocol ``version`` it was
        set in, the ``issuer`` of its notifications and whether it wants ``every_status``
        update (which marks the task so that the append script owes them all). One with
        the same id is replaced; a new id beyond ``limit`` raises ``PushConfigLimitError``
        and stores nothing."""
        stored = config.model_copy(update={"id": config.id or keys.task_id})
        record = {
            "config": stored.dump(),
            "version": version,
            "issuer": issuer,
            "everyStatus": every_status,
        }
        args: list[Any] = [str(stored.id), json.dumps(record), limit]
        if not await self._set(keys=[keys.push, keys.task], args=args):
            raise PushConfigLimitError(limit)
        return stored

    async def get(self, keys: TaskKeys, config_id: str | None) -> PushNotificationConfig | None:
        """The config with ``config_id``; without an id, the task's first one."""
        if config_id is None:
            configs = await self.list(keys)
            return configs[0] if configs else None
        raw = await self.redis.hget(keys.push, config_id)
        return None if raw is None else _parse(raw).config

    async def list(self, keys: TaskKeys) -> list[PushNotificationConfig]:
        """Every config of the task, ordered by id."""
        return [record.config for record in await self.records(keys)]

    async def records(self, keys: TaskKeys) -> builtins.list[StoredConfig]:
        """Every config of the task as stored (with version and issuer), ordered by id."""
        stored = await self.redis.hgetall(keys.push)
        return [_parse(stored[k]) for k in sorted(stored)]

    async def delete(self, keys: TaskKeys, config_id: str) -> bool:
        """Remove one config; False if there was none with that id."""
        return bool(await self._delete(keys=[keys.push, keys.task], args=[config_id]))
