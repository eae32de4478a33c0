"""The index behind ``ListTasks`` (A2A 1.0 §3.1.4): a principal's tasks, newest first.

Per principal, three keys under one hash tag ``{ix:<principal>}`` (one cluster slot per
principal, see ``keys.IndexKeys``):

- ``…:tasks``, a sorted set: task id scored by its last status update (epoch ms, the status
  timestamp the client sees), the order ``ListTasks`` returns;
- ``…:taskmeta``, a hash: task id to compact JSON ``{"agent", "state", "contextId",
  "updated", "seq", "expires"}``, what the filters read;
- ``…:expiry``, a sorted set: task id scored by when its task's keys expire unless written
  again (``expires``). Terminal tasks live ``terminal_ttl_seconds`` (a day by default),
  others ``ttl_seconds`` (a week): pruning by the update time alone would keep finished
  tasks listed, counted in ``totalSize`` and holding places under the cap for days after
  they are gone.

``EventLog`` updates the index (``touch``) after every appended create, status update and
accepted follow-up, never after an artifact chunk (it does not change the status) nor after
a refused append. One script writes all three keys: it ignores an update whose per-task
``seq`` is not newer than the stored one (two writers, e.g. the worker and a cancel, may
reach the index in another order than the log), drops entries whose task has expired,
keeps at most ``MAX_INDEXED_TASKS`` (the most recent) and sets every key's TTL to
``ttl_seconds``, the longest a task lives, so an idle principal's index expires with its
last task. A reader that finds a listed task gone from Redis ``forget``s it.

``MAX_INDEXED_TASKS`` is defined here, not in ``core.limits``: it bounds what the store
keeps, not what a request may carry.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from a2a_gateway.core.states import TERMINAL
from a2a_gateway.store.keys import IndexKeys

if TYPE_CHECKING:
    from collections.abc import Iterable

    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

MAX_INDEXED_TASKS = 10_000
"""Most tasks indexed per principal; beyond it the least recently updated drop out of the
list (they stay readable by id until they expire)."""

DEFAULT_TTL_SECONDS = 7 * 24 * 3600
"""The default task TTL (``Settings.task_ttl_seconds``)."""

# KEYS: 1 tasks (zset), 2 taskmeta (hash), 3 expiry (zset); one slot.
# ARGV: 1 task id, 2 updated ms, 3 agent ('' = the stored one), 4 state, 5 context id
#       ('' = the stored one), 6 seq ('' = unconditional), 7 expires ms, 8 now ms,
#       9 TTL seconds of the keys, 10 cap.
# Returns 1 written, 0 stale (seq not above the stored one), -1 no entry and no agent given.
_TOUCH = """
local id, agent, context, seq = ARGV[1], ARGV[3], ARGV[5], ARGV[6]
local stored = redis.call('HGET', KEYS[2], id)
if stored then
  local meta = cjson.decode(stored)
  if seq ~= '' and type(meta.seq) == 'number' and tonumber(seq) <= meta.seq then
    return 0
  end
  if agent == '' then agent = meta.agent end
  if context == '' then context = meta.contextId end
elseif agent == '' then
  return -1
end
local function drop(ids)
  for i = 1, #ids, 500 do
    local part = {unpack(ids, i, math.min(i + 499, #ids))}
    redis.call('ZREM', KEYS[1], unpack(part))
    redis.call('HDEL', KEYS[2], unpack(part))
    redis.call('ZREM', KEYS[3], unpack(part))
  end
end
drop(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[8], 'LIMIT', 0, 1000))
local meta = '{"agent":' .. cjson.encode(agent) .. ',"state":' .. cjson.encode(ARGV[4])
  .. ',"contextId":' .. cjson.encode(context) .. ',"updated":' .. ARGV[2]
if seq ~= '' then
  meta = meta .. ',"seq":' .. seq
end
meta = meta .. ',"expires":' .. ARGV[7] .. '}'
redis.call('ZADD', KEYS[1], ARGV[2], id)
redis.call('HSET', KEYS[2], id, meta)
redis.call('ZADD', KEYS[3], ARGV[7], id)
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[10])
if over > 0 then
  drop(redis.call('ZRANGE', KEYS[1], 0, over - 1))
end
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ARGV[9])
end
return 1
"""

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,512}")


class InvalidPageToken(ValueError):
    """A page token this index did not issue (the service answers -32602)."""

    def __init__(self) -> None:
        super().__init__("pageToken is not a token returned by a previous ListTasks call")


class Touched(StrEnum):
    """What ``TaskIndex.touch`` did."""

    WRITTEN = "written"
    STALE = "stale"
    """Ignored: the index already holds this task at the same or a later ``seq``."""
    UNKNOWN = "unknown"
    """Nothing written: no ``agent`` was given and the index holds no entry to take it from."""


@dataclass(frozen=True)
class IndexPage:
    """One page of a principal's matching tasks."""

    task_ids: list[str]
    """Newest first (last status update, then task id, both descending)."""
    next_page_token: str
    """Continues after the last id of this page; ``""`` on the last page."""
    total_size: int
    """All matches of the filter (not just this page, nor only those after the token)."""


def epoch_ms(value: str | datetime | None) -> int:
    """An ISO 8601 timestamp (a status's ``timestamp``) or a datetime as epoch milliseconds,
    floored; a naive one counts as UTC. None or an unparsable string: now."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if value is None:
        return now_ms()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def encode_token(updated_ms: int, task_id: str) -> str:
    """The opaque cursor after ``(updated_ms, task_id)``."""
    raw = json.dumps([updated_ms, task_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str) -> tuple[int, str]:
    """The ``(updated_ms, task_id)`` a token continues after; ``InvalidPageToken`` if it is
    not one ``encode_token`` made."""
    if not _TOKEN.fullmatch(token):
        raise InvalidPageToken
    try:
        cursor = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise InvalidPageToken from exc
    match cursor:
        case [int(updated), str(task_id)] if not isinstance(updated, bool) and task_id:
            return updated, task_id
    raise InvalidPageToken


def _load_all(values: Iterable[bytes | str]) -> list[dict[str, Any]]:
    """The meta JSON objects, parsed as one array: well under half the time of one
    ``json.loads`` each (measured: 10,000 entries in ~12 ms instead of ~32 ms)."""
    raw = [v.encode() if isinstance(v, str) else v for v in values]
    loaded: list[dict[str, Any]] = json.loads(b"[" + b",".join(raw) + b"]")
    return loaded


class TaskIndex:
    """Each principal's tasks ordered by last status update, with what ``ListTasks``
    filters on. Only the ``EventLog`` writes it (``touch``); the service pages it."""

    def __init__(
        self,
        redis: Redis,
        prefix: str = "a2a",
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        *,
        terminal_ttl_seconds: int | None = None,
        max_tasks: int = MAX_INDEXED_TASKS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.terminal_ttl_seconds = terminal_ttl_seconds or ttl_seconds
        self.max_tasks = max_tasks
        self._touch: AsyncScript = redis.register_script(_TOUCH)

    def keys(self, principal: str) -> IndexKeys:
        """The index keys of ``principal``."""
        return IndexKeys(principal, self.prefix)

    async def touch(
        self,
        principal: str,
        task_id: str,
        *,
        agent: str,
        state: str,
        context_id: str,
        updated_ms: int,
        seq: int | None = None,
    ) -> Touched:
        """Record the task's latest status: ``state`` (a ``TaskState`` value) at
        ``updated_ms``. ``agent`` or ``context_id`` ``""`` keeps the stored one (a status
        update does not know its task's agent). With a ``seq``, an update not newer than
        the stored one is ignored (``Touched.STALE``); without, it always applies (a
        create, which starts the task's life in Redis)."""
        ttl = self.terminal_ttl_seconds if state in TERMINAL else self.ttl_seconds
        now = now_ms()
        args: list[Any] = [
            task_id,
            int(updated_ms),
            agent,
            state,
            context_id,
            "" if seq is None else int(seq),
            now + ttl * 1000,
            now,
            self.ttl_seconds,
            self.max_tasks,
        ]
        outcome = int(await self._touch(keys=self.keys(principal).all(), args=args))
        return {1: Touched.WRITTEN, 0: Touched.STALE}.get(outcome, Touched.UNKNOWN)

    async def page(
        self,
        principal: str,
        *,
        agent: str,
        context_id: str | None,
        state: str | None,
        updated_after_ms: int | None,
        page_size: int,
        page_token: str | None,
    ) -> IndexPage:
        """Up to ``page_size`` of the principal's tasks at ``agent`` that match every given
        filter (``updated_after_ms`` inclusive, as ``statusTimestampAfter``), newest first,
        strictly after the task ``page_token`` names. Tasks whose keys have expired are
        left out. ``InvalidPageToken`` for a token this index did not issue."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        cursor = decode_token(page_token) if page_token else None
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys(principal).meta)
        now = now_ms()
        matches: list[tuple[int, str]] = []
        for task_id, meta in zip(raw, _load_all(raw.values()), strict=True):
            updated = meta["updated"]
            if (
                meta["agent"] != agent
                or meta.get("expires", now + 1) <= now
                or (context_id is not None and meta["contextId"] != context_id)
                or (state is not None and meta["state"] != state)
                or (updated_after_ms is not None and updated < updated_after_ms)
            ):
                continue
            matches.append((updated, task_id.decode() if isinstance(task_id, bytes) else task_id))
        matches.sort(reverse=True)
        after = matches if cursor is None else [m for m in matches if m < cursor]
        rows = after[:page_size]
        token = encode_token(*rows[-1]) if len(after) > page_size else ""
        return IndexPage([task_id for _, task_id in rows], token, len(matches))

    async def forget(self, principal: str, task_ids: list[str]) -> None:
        """Drop tasks the caller found gone from Redis (expired before the index noticed)."""
        if not task_ids:
            return
        keys = self.keys(principal)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.tasks, *task_ids)
            pipe.hdel(keys.meta, *task_ids)
            pipe.zrem(keys.expiry, *task_ids)
            await pipe.execute()
