"""The task event log in Redis Streams: idempotent appends, snapshots, and reads by entry id.

Every write goes through one server-side script (``append.lua``) that appends the event
only if its per-task sequence number is new, updates the task snapshot (state, status,
history, artifact chunks) and refreshes the TTLs, all in one step. A writer may therefore
retry blindly: readers never see a duplicate, and nothing is appended after a final state.
Each appended create, status update and accepted follow-up then updates the principal's
task index (``events.index``, behind ``ListTasks``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ResponseError

from a2a_gateway.core.ids import entry_key, is_entry_id
from a2a_gateway.core.states import INTERRUPTED, TERMINAL, TaskState
from a2a_gateway.models import (
    Message,
    Task,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
    now_iso,
)
from a2a_gateway.store.keys import TaskKeys
from a2a_gateway.store.push_configs import PushConfigStore
from a2a_gateway.store.quotas import RUNNING_TASKS, Quotas
from a2a_gateway.store.task_index import TaskIndex, Touched, epoch_ms

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from redis.commands.core import AsyncScript

    from a2a_gateway.config import Settings

# entry_key and is_entry_id are core.ids'; the store's users (the gateway, the hub) take
# them from here too.
__all__ = [
    "MAX_BLOCK_MS",
    "POOL_WAIT_SECONDS",
    "SOCKET_TIMEOUT_SECONDS",
    "AppendResult",
    "Entry",
    "EventLog",
    "Snapshot",
    "as_text",
    "connect",
    "entry_from",
    "entry_key",
    "fold_artifacts",
    "is_entry_id",
    "newest_id",
    "script_source",
    "status_event",
    "trimmed_after",
]

log = logging.getLogger(__name__)

# One blocking read never outlasts the socket timeout; callers loop for longer waits.
MAX_BLOCK_MS = 5_000
SOCKET_TIMEOUT_SECONDS = 15.0
POOL_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class Entry:
    """One event as stored: its stream id, sequence number, ``result`` JSON and finality."""

    id: str
    seq: int
    event: str
    final: bool

    @property
    def terminal(self) -> bool:
        """Whether this is a final status in a terminal state (not input-required)."""
        if not self.final:
            return False
        state = json.loads(self.event).get("status", {}).get("state", "")
        return TaskState(state).terminal if state else False


@dataclass(frozen=True)
class AppendResult:
    """What the append script did: ``appended`` false means a duplicate or a final task."""

    appended: bool
    entry_id: str
    state: str
    exists: bool = True
    seq: int = -1


@dataclass(frozen=True)
class Snapshot:
    """The task as of stream entry ``last_id`` (read atomically with it), the agent that
    owns it, the follow-ups it has accepted (``turns``) and the last one's id and seq."""

    task: Task
    last_id: str
    seq: int
    agent: str = ""
    turns: int = 0
    accepted_id: str = ""
    accepted_seq: int = -1

    @property
    def state(self) -> TaskState:
        return self.task.status.state


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def script_source() -> str:
    """``append.lua`` with its state tables filled in from ``core.states``."""
    source = resources.files("a2a_gateway.store").joinpath("append.lua").read_text()
    for marker, states in (("TERMINAL", TERMINAL), ("INTERRUPTED", INTERRUPTED)):
        table = ", ".join(f'["{state}"] = true' for state in sorted(states))
        source = source.replace(f"--[[{marker}]]", table, 1)
    return source


def connect(url: str, max_connections: int = 1000) -> Redis:
    """A Redis client whose socket timeout outlasts every blocking read we issue, and which
    rides out a failover or restart of a few seconds: connection errors and timeouts are
    retried with jittered backoff (safe: every write is idempotent by sequence number).

    The pool blocks (up to ``POOL_WAIT_SECONDS``) for a free connection when all
    ``max_connections`` are in use, instead of failing: the hub holds up to one blocked
    read per bucket, and a burst of requests must queue behind them, not error."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=5.0,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=10),
    )
    return Redis.from_pool(pool)


class EventLog:
    """Reads and writes task logs on one Redis (or cluster) connection pool."""

    def __init__(
        self,
        redis: Redis,
        *,
        ttl_seconds: int,
        maxlen: int,
        buckets: int = 64,
        key_prefix: str = "a2a",
        terminal_ttl_seconds: int | None = None,
    ) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds
        self.terminal_ttl_seconds = terminal_ttl_seconds or ttl_seconds
        self.maxlen = maxlen
        self.buckets = buckets
        self.key_prefix = key_prefix
        self.push = PushConfigStore(redis)
        self.quotas = Quotas(redis, key_prefix)
        self.index = TaskIndex(
            redis, key_prefix, ttl_seconds, terminal_ttl_seconds=self.terminal_ttl_seconds
        )
        self._script: AsyncScript = redis.register_script(script_source())
        self._indexing: set[asyncio.Future[None]] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> EventLog:
        """An event log on a new connection pool, laid out as ``settings`` say."""
        return cls(
            # The hub may hold one blocked read per bucket: leave room beside them.
            connect(settings.redis_url, max(settings.redis_max_connections, settings.buckets + 50)),
            ttl_seconds=settings.task_ttl_seconds,
            maxlen=settings.stream_maxlen,
            buckets=settings.buckets,
            key_prefix=settings.key_prefix,
            terminal_ttl_seconds=settings.terminal_ttl_seconds,
        )

    def keys(self, principal: str, task_id: str) -> TaskKeys:
        """The keys of one task under this log's bucket count and prefix."""
        return TaskKeys.of(principal, task_id, self.buckets, self.key_prefix)

    async def _run(
        self,
        keys: TaskKeys,
        *,
        mode: str,
        seq: int,
        event: str = "",
        final: bool = False,
        state: str = "",
        status: str = "",
        task: str = "",
        extra: str = "",
        history: list[str] | None = None,
        chunks: list[str] | None = None,
    ) -> AppendResult:
        history = history or []
        args: list[Any] = [
            mode,
            seq,
            event,
            "1" if final else "0",
            state,
            status,
            len(history),
            self.ttl_seconds,
            self.maxlen,
            task,
            self.terminal_ttl_seconds,
            extra,
            *history,
            *(chunks or []),
        ]
        outcome, entry_id, current, seq_now = await self._script(
            keys=[*keys.all(), keys.outbox], args=args
        )
        return AppendResult(
            appended=int(outcome) == 1,
            entry_id=as_text(entry_id),
            state=as_text(current),
            exists=int(outcome) != -1,
            seq=int(seq_now),
        )

    async def create(self, keys: TaskKeys, task: Task, *, agent: str) -> AppendResult:
        """Create the task, owned by ``agent``, with its first event (the ``Task``) unless
        it already exists. A restored task may already carry history and artifacts."""
        body = task.dump()
        meta = {k: v for k, v in body.items() if k not in ("history", "artifacts", "status")}
        result = await self._run(
            keys,
            mode="create",
            seq=0,
            event=_dumps(body),
            state=task.status.state.value,
            status=_dumps(body["status"]),
            task=_dumps(meta),
            extra=agent,
            history=[_dumps(m) for m in body.get("history", [])],
            chunks=[_dumps({"artifact": a, "append": False}) for a in body.get("artifacts", [])],
        )
        await self._index(keys, result, task.status.timestamp, task.context_id, agent=agent)
        return result

    async def append_status(
        self, keys: TaskKeys, seq: int, event: TaskStatusUpdateEvent
    ) -> AppendResult:
        """Publish a status change; its message, if any, joins the task's history."""
        body = event.dump()
        history = [_dumps(body["status"]["message"])] if event.status.message else []
        result = await self._run(
            keys,
            mode="append",
            seq=seq,
            event=_dumps(body),
            final=event.final,
            state=event.status.state.value,
            status=_dumps(body["status"]),
            history=history,
        )
        update = self._index(keys, result, event.status.timestamp, event.context_id)
        if event.final:
            await update
        else:  # a progress update: its publisher does not wait for the index round trip
            self._in_background(update)
        if event.final or event.status.state.interrupted:
            await self._turn_ended(keys)
        return result

    async def _turn_ended(self, keys: TaskKeys) -> None:
        """The task's turn is over (final or interrupted): it no longer counts against its
        principal's ``runningTasks`` (``gateway.quota``). Derived, like the index: a failed
        release is logged, and the lease expires by itself."""
        try:
            await self.quotas.release(keys.principal, RUNNING_TASKS, keys.task_id)
        except Exception:
            log.warning("task %s: its running-task lease was not released", keys.task_id)

    async def append_artifact(
        self, keys: TaskKeys, seq: int, event: TaskArtifactUpdateEvent
    ) -> AppendResult:
        """Publish an artifact chunk; the snapshot folds chunks by ``artifactId``."""
        body = event.dump()
        chunk = {"artifact": body["artifact"], "append": bool(event.append)}
        return await self._run(
            keys, mode="append", seq=seq, event=_dumps(body), chunks=[_dumps(chunk)]
        )

    async def accept(self, keys: TaskKeys, message: Message, context_id: str) -> AppendResult:
        """Take a client's follow-up into an interrupted task, atomically: the message joins
        the history, the state becomes ``submitted`` (a status-update event at the next seq)
        and the turn count grows. Not appended (``appended`` False) unless the task is
        interrupted at this moment, so of two racing follow-ups exactly one is accepted."""
        event = status_event(keys.task_id, context_id, TaskState.SUBMITTED, None, False)
        body = event.dump()
        result = await self._run(
            keys,
            mode="accept",
            seq=-1,
            event=_dumps(body),
            state=TaskState.SUBMITTED.value,
            status=_dumps(body["status"]),
            extra=message.message_id,
            history=[_dumps(message.dump())],
        )
        await self._index(keys, result, event.status.timestamp, context_id)
        return result

    async def _index(
        self,
        keys: TaskKeys,
        result: AppendResult,
        timestamp: str | None,
        context_id: str,
        *,
        agent: str = "",
    ) -> None:
        """Put an appended status (``result``) into the task index: ``agent`` is known on
        create; a status update or an accepted follow-up takes it from the index entry the
        create wrote (no extra read), and only if that entry is gone reads the task hash.
        A create always applies; later updates only in ``seq`` order. The log is the truth
        and the index is derived from it: an index write that fails is logged, not raised
        (a retried append would be refused as a duplicate and could not repair it; the
        task's next status does). A non-final status update is indexed in the background,
        so a publisher of progress pays one round trip per event, not two; creates,
        follow-ups and final states are indexed before the append returns."""
        if not result.appended:
            return
        seq = None if agent else result.seq  # only a create knows the agent

        async def touch(owner: str) -> Touched:
            return await self.index.touch(
                keys.principal,
                keys.task_id,
                agent=owner,
                state=result.state,
                context_id=context_id,
                updated_ms=updated,
                seq=seq,
            )

        try:
            updated = epoch_ms(timestamp)
            if await touch(agent) is Touched.UNKNOWN:
                stored = await self.redis.hget(keys.task, "agent")
                if stored:
                    await touch(as_text(stored))
        except Exception:  # derived data: its failure never fails the append
            log.warning("task %s: the task index was not updated", keys.task_id, exc_info=True)

    async def snapshot(self, keys: TaskKeys) -> Snapshot | None:
        """The task and the id of the last event it reflects, or None if Redis has no such task."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.task)
            pipe.lrange(keys.history, 0, -1)
            pipe.lrange(keys.artifacts, 0, -1)
            fields, history, chunks = await pipe.execute()
        if not fields:
            return None
        fields = {as_text(k): as_text(v) for k, v in fields.items()}
        body = json.loads(fields["task"])
        body["status"] = json.loads(fields["status"])
        if history:
            body["history"] = [json.loads(m) for m in history]
        if chunks:
            body["artifacts"] = fold_artifacts(json.loads(c) for c in chunks)
        return Snapshot(
            task=Task.model_validate(body),
            last_id=fields["last_id"],
            seq=int(fields["seq"]),
            agent=fields.get("agent", ""),
            turns=int(fields.get("turns", "0")),
            accepted_id=fields.get("accepted_id", ""),
            accepted_seq=int(fields.get("accepted_seq", "-1")),
        )

    async def last_entry_id(self, keys: TaskKeys) -> str | None:
        """The id of the newest entry of the task's stream, or None if it has none."""
        return newest_id(await self.redis.xrevrange(keys.events, count=1))

    async def remember_missing(self, keys: TaskKeys, seconds: int) -> None:
        """Note for ``seconds`` that this task exists nowhere (a negative lookup cache)."""
        if seconds > 0:
            await self.redis.set(keys.miss, "1", ex=seconds)

    async def known_missing(self, keys: TaskKeys) -> bool:
        """Whether a recent lookup found this task nowhere."""
        return bool(await self.redis.exists(keys.miss))

    async def discard(self, keys: TaskKeys) -> None:
        """Delete every key of the task (used when its creation is rolled back) and its
        entry in the task index."""
        await self.redis.delete(*keys.all())
        await self.index.forget(keys.principal, [keys.task_id])

    async def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(await self.redis.ping())

    def _in_background(self, update: Coroutine[Any, Any, None]) -> None:
        """Run an index update without waiting for it (kept referenced until done; the
        update logs its own failures). ``close`` waits for the ones still running."""
        task = asyncio.ensure_future(update)
        self._indexing.add(task)
        task.add_done_callback(self._indexing.discard)

    async def indexed(self) -> None:
        """Wait until the index updates under way have landed (tests, shutdown)."""
        if self._indexing:
            await asyncio.gather(*self._indexing, return_exceptions=True)

    async def close(self) -> None:
        """Finish the index updates under way, then close the connection pool."""
        await self.indexed()
        await self.redis.aclose()

    async def read(self, keys: TaskKeys, after_id: str, *, count: int = 1000) -> list[Entry]:
        """Up to ``count`` entries strictly after ``after_id``, without waiting (following a
        stream live is the ``StreamHub``'s job)."""
        raw: Any = await self.redis.xrange(keys.events, min=f"({after_id}", count=count)
        return [entry_from(entry_id, data) for entry_id, data in raw]

    async def trimmed_after(self, keys: TaskKeys, after_id: str) -> bool:
        """Whether events after ``after_id`` may be gone; see ``trimmed_after``."""
        return await trimmed_after(self.redis, keys.events, after_id)


async def trimmed_after(redis: Redis, stream: str, after_id: str) -> bool:
    """Whether entries after ``after_id`` may be gone (trimmed, deleted or expired), so that
    a lossless read from there is impossible and the reader must start from the snapshot.
    Conservative: an id older than the oldest retained entry counts as lost unless that
    entry is the task's very first event."""
    try:
        info = await redis.xinfo_stream(stream)
    except ResponseError as exc:  # the stream itself has expired
        if "no such key" in str(exc).lower():
            return True
        raise
    deleted = as_text(info.get("max-deleted-entry-id") or "0-0")
    if entry_key(deleted) > entry_key(after_id):
        return True
    first = info.get("first-entry")
    if not first:
        return False
    first_id, fields = first
    first_seq = int(as_text(fields.get(b"seq", fields.get("seq", b"0"))))
    return entry_key(as_text(first_id)) > entry_key(after_id) and first_seq != 0


def fold_artifacts(chunks: Any) -> list[dict[str, Any]]:
    """Artifacts from their chunks, in first-seen order: ``append`` extends the parts of the
    artifact with the same id, otherwise the chunk replaces it."""
    artifacts: dict[str, dict[str, Any]] = {}
    for chunk in chunks:
        artifact = chunk["artifact"]
        artifact_id = artifact["artifactId"]
        if chunk.get("append") and artifact_id in artifacts:
            artifacts[artifact_id]["parts"].extend(artifact["parts"])
        else:
            artifacts[artifact_id] = artifact
    return list(artifacts.values())


def newest_id(reply: Any) -> str | None:
    """The entry id in an ``XREVRANGE … COUNT 1`` reply; None for an empty stream."""
    return as_text(reply[0][0]) if reply else None


def as_text(value: Any) -> str:
    """A Redis reply value (bytes or str) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def entry_from(entry_id: Any, data: dict[Any, Any]) -> Entry:
    """An ``Entry`` from a raw stream entry (id and field map, bytes or str)."""
    fields = {as_text(k): as_text(v) for k, v in data.items()}
    return Entry(
        id=as_text(entry_id), seq=int(fields["seq"]), event=fields["e"], final=fields["f"] == "1"
    )


def status_event(
    task_id: str, context_id: str, state: TaskState, message: Message | None, final: bool
) -> TaskStatusUpdateEvent:
    """A status update for ``state`` stamped now."""
    return TaskStatusUpdateEvent(
        task_id=task_id,
        context_id=context_id,
        status=TaskStatus(state=state, message=message, timestamp=now_iso()),
        final=final,
    )
