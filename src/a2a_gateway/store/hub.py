"""The stream hub: one blocking Redis read per key bucket, fanned out to every subscriber.

A gateway process must not hold one blocked Redis connection per SSE client (brief,
decision 4). The hub runs at most one reader per bucket (``a2a:{b17}:…``); each reader
issues ``XREAD BLOCK`` over the streams of its bucket that someone watches, which stays
in one hash slot and so works on ElastiCache Serverless, and puts each entry, decoded
once, on the bounded queue of every subscriber of that stream.

Contract:

* **The hub reads from where a stream is, never from where a subscriber is.** When the
  hub starts watching a stream, its reader *resolves* the stream's position (its last
  entry id, ``XREVRANGE key + - COUNT 1``, or ``0-0`` if there is no such key; one
  pipeline for every new stream of the bucket) and follows the stream from there. A
  subscriber's own position only filters what it is given, so a position far in the
  future (or beyond the largest possible id) gets that subscriber nothing until entries
  pass it, and no subscriber can hold back, or break, the read of anyone else.
* **Exactly once, in order.** A subscriber gets every entry after its position once.
  It first catches up on its own, paging through the stream with ``XRANGE`` from its
  position (so a late or resuming subscriber holds nobody back and a backlog never
  crowds its queue); when a page comes back short it is live, and takes entries from
  its queue (duplicates dropped by id). A short page makes it live only if the page was
  requested after the stream was *following* (its position resolved, an
  ``asyncio.Event`` per stream); an earlier short page makes it wait for that event and
  read one more page. Why that loses nothing: let ``P`` be the position the reader
  resolved. A subscriber present when the reader set ``P`` (the reply is handled and the
  event set without an await in between) gets every entry after ``P`` offered to its
  queue, since the reader reads from ``P`` on and dispatches to every current subscriber;
  one that subscribed later, when the reader had dispatched up to ``Q``, gets every entry
  after ``Q`` (dispatch and the position advance together, synchronously). A page
  requested after both the resolution and the subscription is served after the
  ``XREVRANGE`` that found ``P`` (and after ``Q`` was read), so a short one holds every
  entry up to ``P`` (or ``Q``) that is after the subscriber's position; the queue holds
  the rest. A short page requested before the resolution proves nothing: entries
  appended between it and ``P`` would be in neither. The queue is emptied before each
  page, because the page covers all it held.
* **No waiting for a block timeout.** Each bucket also watches a *wake* stream in the
  same slot; subscribing to a stream the bucket did not follow appends to it, which
  ends the current block so the next read includes the new stream.
* **Backpressure.** A queue holds ``queue_size`` live entries. A subscriber too slow to
  keep up overflows it and falls back to paging from its own position, so memory stays
  bounded (one queue, one page) and nothing is lost. Only if the entries after its
  position have been trimmed away does it end (``Overflow``, with its resume position):
  the client resumes from there and gets the task snapshot.
* **Failures.** A reader whose read fails on the connection retries from the same
  positions with backoff. A read refused by Redis (``ResponseError``) is probed stream by
  stream (a non-blocking ``XREAD`` each, beside a check that the bucket itself answers);
  the streams that fail on their own (say a key of the wrong type) are dropped, their
  subscribers end with ``StreamFailed``, one warning is logged per stream, and the other
  streams of the bucket are read on at once. A subscriber whose own page is refused
  ends with ``StreamFailed`` too.
* **Draining.** ``drain`` (graceful shutdown) ends every subscription: a pending or later
  ``next`` raises ``Drained`` promptly, even one blocked on an empty queue or held by a
  full one, and ``subscribe`` raises ``Drained`` from then on.
* **Ends carry the resume position.** ``Overflow``, ``StreamFailed`` and ``Drained`` are
  ``SubscriptionEnded`` errors whose ``args[0]`` (also ``.last``) is the id of the last
  entry the subscriber was given (its starting position if none), for a resume frame.
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

from redis.exceptions import RedisError, ResponseError

from a2a_gateway.core.ids import MAX_ID_PART
from a2a_gateway.store.eventlog import (
    MAX_BLOCK_MS,
    Entry,
    as_text,
    entry_from,
    entry_key,
    newest_id,
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
MAX_ID_KEY = (MAX_ID_PART, MAX_ID_PART)  # no stream entry can follow this position
_WAKE_UP = Entry(id="0-0", seq=0, event="", final=False)  # wakes a blocked ``next``


class SubscriptionEnded(Exception):
    """A subscription ended early; ``args[0]`` is the id to resume after."""

    @property
    def last(self) -> str:
        """The id of the last entry the subscriber was given (or its starting position)."""
        return str(self.args[0])


class Overflow(SubscriptionEnded):
    """The subscriber fell so far behind that the stream no longer holds its position."""


class StreamFailed(SubscriptionEnded):
    """Redis refuses to read the stream (for example, its key holds another type)."""


class Drained(SubscriptionEnded):
    """The hub is draining for shutdown: the client should resume elsewhere."""


@dataclass(eq=False)
class Subscription:
    """One reader's view of one task stream. Iterate with ``next``; always ``close``.

    ``following`` is the stream's event, set once the hub follows the stream (or once the
    subscription has ended); ``settling`` means the last page came back short before it
    was set, so one more page is due after it."""

    hub: StreamHub
    keys: TaskKeys
    last: str
    queue: asyncio.Queue[Entry]
    following: asyncio.Event
    backlog: list[Entry] = field(default_factory=list)
    overflowed: bool = False
    paging: bool = True
    settling: bool = False
    ended: type[SubscriptionEnded] | None = None

    async def next(self, within: float) -> Entry | None:
        """The next entry, or None if none came ``within`` seconds.

        Raises ``Overflow``, ``StreamFailed`` or ``Drained`` (with ``self.last``) when the
        subscription has ended."""
        while True:
            if self.ended is not None:
                raise self.ended(self.last)
            if self.backlog:
                entry = self.backlog.pop(0)
            elif self.paging:
                if self.settling and not self.following.is_set():
                    if not await self._followed(within):
                        return None
                    continue  # (it may have ended meanwhile)
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

    async def _followed(self, within: float) -> bool:
        """Wait at most ``within`` seconds for the hub to follow the stream."""
        try:
            async with asyncio.timeout(within):
                await self.following.wait()
        except TimeoutError:
            return False
        return True

    async def _page(self) -> None:
        """Read the next page from Redis. The queue is emptied first: the page covers all
        it held, so only what arrives after this read counts against its bound. A short
        page ends paging only if the stream was followed before it was requested."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False
        if entry_key(self.last) >= MAX_ID_KEY:  # nothing can follow: live, and given nothing
            self.backlog, self.paging, self.settling = [], False, False
            return
        followed = self.following.is_set()
        redis, stream = self.hub.redis, self.keys.events
        try:
            raw: Any = await redis.xrange(stream, min=f"({self.last}", count=PAGE_SIZE)
            if raw and await trimmed_after(redis, stream, self.last):
                raise Overflow(self.last)
        except ResponseError as err:
            log.info("subscription to %s failed: %s", stream, err)
            raise StreamFailed(self.last) from err
        self.backlog = [entry_from(entry_id, data) for entry_id, data in raw]
        short = len(raw) < PAGE_SIZE
        self.paging = not (short and followed)
        self.settling = short and not followed

    def offer(self, entry: Entry) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.overflowed = True

    def end(self, reason: type[SubscriptionEnded]) -> None:
        """End the subscription: its pending or next ``next`` raises ``reason(last)``.

        Wakes a ``next`` blocked on the queue (which is then empty, so the wake-up entry
        fits) or on ``following`` (no longer needed by anyone: every subscriber of the
        stream is ending, or the stream was dropped)."""
        if self.ended is None:
            self.ended = reason
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(_WAKE_UP)
        self.following.set()

    async def close(self) -> None:
        self.hub.unsubscribe(self)


class StreamHub:
    """Follows the task streams that local subscribers watch; see the module docstring."""

    def __init__(self, redis: Redis, *, block_ms: int = MAX_BLOCK_MS, queue_size: int = 1000):
        self.redis = redis
        self.block_ms = min(block_ms, MAX_BLOCK_MS)
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._following: dict[str, asyncio.Event] = {}  # watched stream -> resolved yet
        self._positions: dict[str, str] = {}  # followed stream -> last id read
        self._buckets: dict[str, set[str]] = defaultdict(set)  # wake key -> stream keys
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        self._drained = False
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
        call either holds a subscription to close or left nothing behind. ``after`` never
        becomes the hub's read position (see the module docstring). Raises ``Drained``
        after ``drain``, ``RuntimeError`` after ``close``."""
        if self._drained:
            raise Drained(after)
        if self._closed:
            raise RuntimeError("the hub is closed")
        stream = keys.events
        following = self._following.get(stream)
        if following is None:
            following = self._following[stream] = asyncio.Event()
            self._buckets[keys.wake].add(stream)
            self._ensure_reader(keys.wake)
        sub = Subscription(self, keys, after, asyncio.Queue(self.queue_size), following)
        self._subscribers[stream].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forget ``sub``; a bucket left with no stream has its reader woken to return."""
        stream = sub.keys.events
        subs = self._subscribers.get(stream)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            self._forget(sub.keys.wake, stream)

    def drain(self) -> None:
        """End every subscription with ``Drained`` and refuse new ones (graceful shutdown).

        Readers go on until the ended subscriptions are closed, or until ``close``."""
        self._drained = True
        for subs in self._subscribers.values():
            for sub in subs:
                sub.end(Drained)

    def _forget(self, wake: str, stream: str) -> set[Subscription]:
        """Stop watching ``stream``; return its subscribers. A bucket left with no stream
        has its reader woken to return."""
        subs = self._subscribers.pop(stream, set())
        self._following.pop(stream, None)
        self._positions.pop(stream, None)
        bucket = self._buckets.get(wake)
        if bucket is not None:
            bucket.discard(stream)
            if not bucket and wake in self._readers:
                self._background(self._wake(wake))
        return subs

    def _fail(self, wake: str, stream: str, err: Exception) -> None:
        """Drop a stream that Redis refuses to read; its subscribers end (``StreamFailed``)."""
        log.warning("hub stops following %s: %s", stream, err)
        for sub in self._forget(wake, stream):
            sub.end(StreamFailed)

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
                wake_at = await self._resolve(wake, wake_at)
                if not self._buckets.get(wake):
                    break  # every stream it watched failed to resolve
                response = await self._read_once(wake, wake_at)
            except RedisError as err:
                if isinstance(err, ResponseError) and await self._isolate(wake):
                    continue  # the failing streams are dropped: read the others at once
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

    async def _resolve(self, wake: str, wake_at: str | None) -> str:
        """Resolve the position of each watched stream of the bucket not followed yet (and
        the wake stream's, the first time), then set its ``following`` event. Repeats until
        none is left, so that the read issued right after (no await between) covers every
        watched stream. Returns the wake stream's position."""
        while True:
            new = [s for s in self._buckets.get(wake, ()) if s not in self._positions]
            if not new and wake_at is not None:
                return wake_at
            pipe = self.redis.pipeline(transaction=False)
            pipe.xrevrange(wake, count=1)  # also shows that the bucket itself answers
            for stream in new:
                pipe.xrevrange(stream, count=1)
            replies: list[Any] = await pipe.execute(raise_on_error=False)
            if isinstance(replies[0], Exception):
                raise replies[0]
            if wake_at is None:
                wake_at = newest_id(replies[0]) or "0-0"
            for stream, reply in zip(new, replies[1:], strict=True):
                if stream not in self._following or stream in self._positions:
                    continue  # unsubscribed meanwhile
                if isinstance(reply, ResponseError):
                    self._fail(wake, stream, reply)
                elif isinstance(reply, Exception):
                    raise reply
                else:
                    self._positions[stream] = newest_id(reply) or "0-0"
                    self._following[stream].set()

    async def _read_once(self, wake: str, wake_at: str) -> Any:
        """One ``XREAD BLOCK`` over the bucket's followed streams and its wake stream."""
        streams: dict[Any, Any] = {s: self._positions[s] for s in self._buckets.get(wake, ())}
        streams[wake] = wake_at
        self.reads += 1
        return await self.redis.xread(streams, count=READ_COUNT, block=self.block_ms)

    async def _isolate(self, wake: str) -> bool:
        """After Redis refused the bucket's read: probe each followed stream on its own (a
        non-blocking ``XREAD`` from its position) and drop those refused, provided the
        bucket itself answers. Whether any was dropped."""
        probes = {
            s: self._positions[s] for s in self._buckets.get(wake, ()) if s in self._positions
        }
        pipe = self.redis.pipeline(transaction=False)
        pipe.xlen(wake)
        for stream, position in probes.items():
            pipe.xread({stream: position}, count=1)
        try:
            replies: list[Any] = await pipe.execute(raise_on_error=False)
        except RedisError:
            return False
        if isinstance(replies[0], Exception):
            return False  # the bucket as a whole is refused: back off and retry
        dropped = False
        for stream, reply in zip(probes, replies[1:], strict=True):
            if isinstance(reply, ResponseError) and stream in self._positions:
                self._fail(wake, stream, reply)
                dropped = True
        return dropped

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
