"""The push outbox: which notifications are owed.

The append script writes one entry to the task's bucket outbox
(``a2a:{b<N>}:push-outbox``, ``store.keys.outbox_key``) for each event that puts a task
with push configs into a final or interrupted state, in the same atomic step as the
event itself: an event is in the outbox exactly when it is in the task's stream, once,
however often a turn is retried. Each entry names the task by its key (``k``), the event's
``seq`` (``s``), its stream id (``i``) and the state (``st``).

Dispatchers read the outboxes as members of the consumer group ``GROUP``. ``claim`` takes
new entries from every bucket in one pipelined round trip (no blocking read per bucket, so
a worker holds no connection per bucket), then entries another consumer took and did not
acknowledge within ``reclaim_after`` seconds (a worker killed mid-delivery: its entries
are delivered by another, with the same idempotency keys). ``ack`` ends an entry.
``touch`` keeps an entry's
idle time at zero while its delivery is still going on (a local delivery with retries can
take longer than ``reclaim_after``), so that no other consumer takes it meanwhile. Reclaims
run at most every quarter of ``reclaim_after`` (they only matter after it), so an idle
consumer costs one pipelined read per poll. Outboxes are capped at about 100,000 entries
each (the append script trims).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from a2a_gateway.store.keys import TaskKeys, outbox_key

if TYPE_CHECKING:
    from redis.asyncio import Redis

GROUP = "push"
RECLAIM_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class OwedEvent:
    """One outbox entry: a task's event that its push configs are to be told about."""

    entry_id: str  # the outbox entry's own id
    keys: TaskKeys
    seq: int
    event_id: str  # the event's id in the task's stream
    state: str

    @property
    def bucket(self) -> int:
        return self.keys.bucket

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt and every dispatcher: task, principal and event."""
        return f"{self.keys.principal}:{self.keys.task_id}:{self.seq}"

    @property
    def done_key(self) -> str:
        """The hash of the configs already notified of this event (same slot)."""
        return f"{self.keys.prefix}:{{b{self.keys.bucket}}}:push-done:{self.idempotency_key}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def parse_entry(
    prefix: str, bucket: int, entry_id: Any, fields: dict[Any, Any]
) -> OwedEvent | None:
    """The entry as an ``OwedEvent``; ``None`` for one that does not name a task key of
    this bucket (never written by the append script)."""
    data = {_text(k): _text(v) for k, v in fields.items()}
    head = f"{prefix}:{{b{bucket}}}:task:"
    key = data.get("k", "")
    principal, _, task_id = key[len(head) :].partition(":")
    if not key.startswith(head) or not principal or not task_id or not data.get("s", "").isdigit():
        return None
    keys = TaskKeys(principal, task_id, bucket, prefix)
    return OwedEvent(_text(entry_id), keys, int(data["s"]), data.get("i", ""), data.get("st", ""))


class Outbox:
    """The outboxes of ``buckets`` buckets, read as consumer ``consumer`` of ``GROUP``."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        buckets: int,
        consumer: str,
        reclaim_after: float = RECLAIM_AFTER_SECONDS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.buckets = buckets
        self.consumer = consumer
        self.reclaim_after = reclaim_after
        self._grouped = False
        self._reclaimed_at = float("-inf")

    def key(self, bucket: int) -> str:
        return outbox_key(self.prefix, bucket)

    async def ensure_groups(self) -> None:
        """Create the group on every outbox (and the streams), once per process."""
        if self._grouped:
            return
        for bucket in range(self.buckets):
            try:
                await self.redis.xgroup_create(self.key(bucket), GROUP, id="0", mkstream=True)
            except ResponseError as err:
                if "BUSYGROUP" not in str(err):
                    raise
        self._grouped = True

    def forget_groups(self) -> None:
        """Create the groups again before the next read (Redis may have lost them)."""
        self._grouped = False

    async def claim(self, count: int) -> list[OwedEvent]:
        """About ``count`` entries (at least one per bucket that has any): new ones from
        every bucket, then, if there is room, entries idle in another consumer's hands for
        ``reclaim_after`` seconds."""
        await self.ensure_groups()
        each = max(1, -(-count // self.buckets))  # per bucket, rounded up
        owed: list[OwedEvent] = []
        async with self.redis.pipeline(transaction=False) as pipe:
            for bucket in range(self.buckets):
                pipe.xreadgroup(GROUP, self.consumer, {self.key(bucket): ">"}, count=each)
            replies = await pipe.execute()
        for bucket, reply in enumerate(replies):
            for _stream, entries in reply or []:
                owed.extend(await self._parsed(bucket, entries))
        due = time.monotonic() - self._reclaimed_at >= self.reclaim_after / 4
        if len(owed) < count and due:
            self._reclaimed_at = time.monotonic()
            owed.extend(await self._reclaim(count - len(owed)))
        return owed

    async def _reclaim(self, count: int) -> list[OwedEvent]:
        idle_ms = int(self.reclaim_after * 1000)
        each = max(1, -(-count // self.buckets))
        async with self.redis.pipeline(transaction=False) as pipe:
            for bucket in range(self.buckets):
                pipe.xautoclaim(self.key(bucket), GROUP, self.consumer, idle_ms, count=each)
            replies = await pipe.execute()
        owed: list[OwedEvent] = []
        for bucket, reply in enumerate(replies):
            owed.extend(await self._parsed(bucket, reply[1]))
        return owed

    async def _parsed(self, bucket: int, entries: list[Any]) -> list[OwedEvent]:
        """The entries that name a task; any other (none is ever written) is acknowledged
        at once, so it is not reclaimed forever."""
        parsed, junk = [], []
        for entry_id, fields in entries:
            event = None if fields is None else parse_entry(self.prefix, bucket, entry_id, fields)
            if event is None:
                junk.append(entry_id)
            else:
                parsed.append(event)
        if junk:
            await self.redis.xack(self.key(bucket), GROUP, *junk)
        return parsed

    async def touch(self, event: OwedEvent) -> None:
        """Reset the entry's idle time: its delivery is still going on here."""
        await self.redis.xclaim(
            self.key(event.bucket), GROUP, self.consumer, 0, [event.entry_id], justid=True
        )

    async def ack(self, event: OwedEvent) -> None:
        """The entry is done (delivered or dead-lettered for every config): never again."""
        await self.redis.xack(self.key(event.bucket), GROUP, event.entry_id)
