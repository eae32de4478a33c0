"""The stream hub: one blocking Redis read per key bucket, fanned out to every subscriber.

A gateway process must not hold one blocked Redis connection per SSE client (brief,
decision 4). The hub runs at most one reader per bucket (``a2a:{b17}:…``); each reader
issues ``XREAD BLOCK`` over the streams of its bucket that someone watches, which stays
in one hash slot and so works on ElastiCache Serverless, and puts each entry, decoded
once, on the bounded queue of every subscriber of that stream.

Contract:

* **Exactly once, in order.** A subscriber gets every entry after its position once.
  It first catches up on its own, paging through the stream with ``XRANGE`` from its
  position (so a late or resuming subscriber holds nobody back and a backlog never
  crowds its queue); when a page comes back short it is live, and takes entries from
  its queue, which the hub has filled since it subscribed (duplicates dropped by id).
* **No waiting for a block timeout.** Each bucket also watches a *wake* stream in the
  same slot; subscribing to a stream the bucket did not follow appends to it, which
  ends the current block so the next read includes the new stream.
* **Backpressure.** A queue holds ``queue_size`` live entries. A subscriber too slow to
  keep up overflows it and falls back to paging from its own position, so memory stays
  bounded (one queue, one page) and nothing is lost. Only if the entries after its
  position have been trimmed away does it end (``Overflow``, with its resume position):
  the client resumes from there and gets the task snapshot.
* **Failures.** A reader whose read fails retries from the same positions with backoff.
* **Stopping.** A bucket left with no subscriber is woken through its wake stream and its
  reader returns, handing its connection back to the pool: readers are never cancelled
  in the middle of a read, which would leave a half-read connection behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from a2a_gateway.store.eventlog import (
    MAX_BLOCK_MS,
    Entry,
    as_text,
    entry_from,
    entry_key,
    trimmed_after,
)

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from redis.asyncio import Redis

    from a2a_gateway.store.keys import TaskKeys

log = logging.getLogger(__name__)
READ_COUNT = 500
PAGE_SIZE = 200
BACKOFF_START = 0.1
BACKOFF_MAX = 2.0


class Overflow(Exception):
    """The subscriber fell so far behind that the stream no longer holds its position."""


@dataclass(eq=False)
class Subscription:
    """One reader's view of one task stream. Iterate with ``next``; always ``close``."""

    hub: StreamHub
    keys: TaskKeys
    last: str
    queue: asyncio.Queue[Entry]
    backlog: list[Entry] = field(default_factory=list)
    overflowed: bool = False
    paging: bool = True

    async def next(self, within: float) -> Entry | None:
        """The next entry, or None if none came ``within`` seconds."""
        while True:
            if self.backlog:
                entry = self.backlog.pop(0)
            elif self.paging:
                await self._page()
                continue
            elif self.overflowed:
                self.paging = True  # the queue dropped entries: read them from Redis
                continue
            elif self.queue.empty():
                try:
                    async with asyncio.timeout(within):
                        entry = await self.queue.get()
                except TimeoutError:
                    return None
            else:
                entry = self.queue.get_nowait()  # the common case: no timer, no task
            if entry_key(entry.id) > entry_key(self.last):
                self.last = entry.id
                return entry

    async def _page(self) -> None:
        """Read the next page from Redis. The queue is emptied first: the page covers all
        it held, so only what arrives after this read counts against its bound."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False
        redis, stream = self.hub.redis, self.keys.events
        raw: Any = await redis.xrange(stream, min=f"({self.last}", count=PAGE_SIZE)
        if raw and await trimmed_after(redis, stream, self.last):
            raise Overflow(self.last)
        self.backlog = [entry_from(entry_id, data) for entry_id, data in raw]
        self.paging = len(raw) == PAGE_SIZE

    def offer(self, entry: Entry) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.overflowed = True

    async def close(self) -> None:
        self.hub.unsubscribe(self)


class StreamHub:
    """Follows the task streams that local subscribers watch; see the module docstring."""

    def __init__(self, redis: Redis, *, block_ms: int = MAX_BLOCK_MS, queue_size: int = 1000):
        self.redis = redis
        self.block_ms = min(block_ms, MAX_BLOCK_MS)
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._positions: dict[str, str] = {}
        self._buckets: dict[str, set[str]] = defaultdict(set)  # wake key -> stream keys
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self.reads = 0  # XREAD calls issued, for tests and the benchmark

    @property
    def subscriptions(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    @property
    def readers(self) -> int:
        return len(self._readers)

    async def subscribe(self, keys: TaskKeys, after: str) -> Subscription:
        """Entries of ``keys.events`` after ``after``, from now until ``close``.

        Registration is atomic (nothing here awaits), so a caller cancelled around this
        call either holds a subscription to close or left nothing behind."""
        if self._closed:
            raise RuntimeError("the hub is closed")
        stream = keys.events
        sub = Subscription(self, keys, after, asyncio.Queue(self.queue_size))
        self._subscribers[stream].add(sub)
        if stream not in self._positions:
            self._positions[stream] = after
            self._buckets[keys.wake].add(stream)
            self._ensure_reader(keys.wake)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget ``sub``; a bucket left with no stream has its reader woken to return."""
        stream, wake = sub.keys.events, sub.keys.wake
        subs = self._subscribers.get(stream)
        if subs is None:
            return
        subs.discard(sub)
        if subs:
            return
        del self._subscribers[stream]
        self._positions.pop(stream, None)
        bucket = self._buckets.get(wake)
        if bucket is not None:
            bucket.discard(stream)
            if not bucket and wake in self._readers:
                self._background(self._wake(wake))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wake(self, wake: str) -> None:
        """End the bucket's current block (its reader then re-reads its watched set)."""
        try:
            await self.redis.xadd(wake, {"w": "1"}, maxlen=16, approximate=True)
        except RedisError as err:  # the reader ends at its block timeout instead
            log.warning("could not wake %s: %s", wake, err)

    def _ensure_reader(self, wake: str) -> None:
        reader = self._readers.get(wake)
        if reader is None or reader.done():
            self._readers[wake] = asyncio.create_task(self._read(wake), name=f"hub:{wake}")
        else:
            self._background(self._wake(wake))  # so that its next read includes the stream

    async def _read(self, wake: str) -> None:
        """One bucket's reader: block on its watched streams until none is left."""
        wake_at: str | None = None
        backoff = BACKOFF_START
        while self._buckets.get(wake):
            try:
                if wake_at is None:
                    wake_at = await self._wake_position(wake)
                streams: dict[Any, Any] = {s: self._positions[s] for s in self._buckets[wake]}
                streams[wake] = wake_at
                self.reads += 1
                response: Any = await self.redis.xread(
                    streams, count=READ_COUNT, block=self.block_ms
                )
            except RedisError as err:
                log.warning("hub read of %s failed (%s); retrying in %.1fs", wake, err, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            backoff = BACKOFF_START
            for raw_stream, raw_entries in response or []:
                stream = as_text(raw_stream)
                if stream == wake:
                    wake_at = as_text(raw_entries[-1][0])
                    continue
                self._dispatch(stream, [entry_from(i, d) for i, d in raw_entries])
        # No await between the loop's test and here: a subscriber arriving now finds no
        # reader and starts a new one.
        if self._readers.get(wake) is asyncio.current_task():
            del self._readers[wake]
        if not self._buckets.get(wake):
            self._buckets.pop(wake, None)

    async def _wake_position(self, wake: str) -> str:
        last: Any = await self.redis.xrevrange(wake, count=1)
        return as_text(last[0][0]) if last else "0-0"

    def _dispatch(self, stream: str, entries: list[Entry]) -> None:
        if stream not in self._positions:
            return  # nobody watches it any more
        self._positions[stream] = entries[-1].id
        for sub in list(self._subscribers.get(stream, ())):
            for entry in entries:
                sub.offer(entry)

    async def close(self) -> None:
        """Stop every reader (subscribers see no further entries): wake them to return, and
        cancel only one that has not returned after a block timeout."""
        self._closed = True
        readers = dict(self._readers)
        for bucket in self._buckets.values():
            bucket.clear()
        await asyncio.gather(*(self._wake(wake) for wake in readers))
        if readers:
            _, late = await asyncio.wait(readers.values(), timeout=self.block_ms / 1000 + 1)
            for reader in late:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        self._readers.clear()
