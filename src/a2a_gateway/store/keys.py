"""Redis key names for a task: every key of one task shares a hash slot (brief, decision 3).

The slot is chosen by a *bucket* tag derived from the task id, ``a2a:{b17}:…``, so the
append script can touch all of a task's keys atomically on a cluster, and many tasks share
a slot so that one ``XREAD`` can watch a whole bucket. Keys carry the principal (decision 8):
another principal's lookup of the same task id names different keys and finds nothing.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

ANONYMOUS = "anonymous"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def is_valid_id(value: str) -> bool:
    """Whether ``value`` may be used as a task or principal id (letters, digits, ``._-``)."""
    return bool(_ID.fullmatch(value))


def bucket_of(task_id: str, buckets: int) -> int:
    """The bucket of a task: stable across processes and releases (CRC-32, not ``hash``)."""
    return zlib.crc32(task_id.encode()) % buckets


@dataclass(frozen=True)
class TaskKeys:
    """The keys of one task, in the order the append script expects them."""

    principal: str
    task_id: str
    bucket: int
    prefix: str = "a2a"

    @classmethod
    def of(cls, principal: str, task_id: str, buckets: int, prefix: str = "a2a") -> TaskKeys:
        return cls(principal, task_id, bucket_of(task_id, buckets), prefix)

    def _key(self, kind: str) -> str:
        return f"{self.prefix}:{{b{self.bucket}}}:{kind}:{self.principal}:{self.task_id}"

    @property
    def task(self) -> str:
        return self._key("task")

    @property
    def events(self) -> str:
        return self._key("events")

    @property
    def history(self) -> str:
        return self._key("history")

    @property
    def artifacts(self) -> str:
        return self._key("artifacts")

    @property
    def push(self) -> str:
        return self._key("push")

    @property
    def miss(self) -> str:
        """A short-lived marker: this task id was looked up and exists nowhere (negative
        cache; not one of the task's keys, so the append script never touches it)."""
        return self._key("miss")

    @property
    def wake(self) -> str:
        """The bucket's wake-up stream (shared by all tasks of the bucket, same slot)."""
        return f"{self.prefix}:{{b{self.bucket}}}:wake"

    @property
    def outbox(self) -> str:
        """The bucket's push outbox (``push.outbox``): one entry per notification-worthy
        event of a task with push configs, written by the append script (same slot)."""
        return outbox_key(self.prefix, self.bucket)

    def all(self) -> list[str]:
        return [self.task, self.events, self.history, self.artifacts, self.push]


def outbox_key(prefix: str, bucket: int) -> str:
    return f"{prefix}:{{b{bucket}}}:push-outbox"


@dataclass(frozen=True)
class IndexKeys:
    """The keys of one principal's task index (``store.task_index``): all three share the
    tag ``{ix:<principal>}``, so one script updates them atomically on a cluster (one slot
    per principal), and carry the principal, so no lookup ever reads another's tasks."""

    principal: str
    prefix: str = "a2a"

    def _key(self, kind: str) -> str:
        return f"{self.prefix}:{{ix:{self.principal}}}:{kind}"

    @property
    def tasks(self) -> str:
        """Sorted set: task id scored by its last status update (epoch ms)."""
        return self._key("tasks")

    @property
    def meta(self) -> str:
        """Hash: task id to compact JSON (agent, state, contextId, updated, seq, expires)."""
        return self._key("taskmeta")

    @property
    def expiry(self) -> str:
        """Sorted set: task id scored by when its keys expire unless written again (epoch ms)."""
        return self._key("expiry")

    def all(self) -> list[str]:
        return [self.tasks, self.meta, self.expiry]


@dataclass(frozen=True)
class QuotaKeys:
    """The keys of one principal's limits (``store.quotas``): all share the tag
    ``{q:<principal>}``, so every quota script runs in one slot per principal on a cluster
    (a busy principal loads its own slot, never a global key), and carry the principal."""

    principal: str
    prefix: str = "a2a"

    def _key(self, kind: str) -> str:
        return f"{self.prefix}:{{q:{self.principal}}}:{kind}"

    @property
    def rate(self) -> str:
        """Hash: the token bucket (``tokens``, and ``ts``, its last refill in server ms)."""
        return self._key("rate")

    def lease(self, kind: str) -> str:
        """Sorted set: the live leases of ``kind``, lease id scored by its expiry (server ms)."""
        return self._key(f"lease:{kind}")
