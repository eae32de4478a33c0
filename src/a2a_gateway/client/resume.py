"""The pure parts of following a stream: event id order, de-duplication, backoff with
full jitter, ``Retry-After``, and an SSE parser over lines."""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from a2a_gateway.core.ids import entry_key, is_entry_id

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def parse_event_id(value: str | None) -> tuple[int, int] | None:
    """A Redis stream id ``ms-seq`` as ``(ms, seq)``, compared numerically (so
    ``10-0`` comes after ``9-5``); ``None`` for anything else, an opaque id: what the
    event log takes for a stream id (``core.ids``), nothing more (no spaces around it, no
    part above 2^64-1)."""
    if value is None or not is_entry_id(value):
        return None
    return entry_key(value)


# How many id-less events ``Dedupe`` remembers by content (a digest each): a bound on a
# stream's memory, larger than any replay a server sends after a reconnection.
CONTENT_MEMORY = 10_000


@dataclass
class Dedupe:
    """Which events are new. Stream ids must be above the highest seen (a repeat or an
    out-of-order replay is dropped); opaque ids must not have been seen. An event without
    an id (a server that numbers nothing, so a resumption cannot say where it was) is new
    unless its content, the ``result`` compared as canonical JSON, is one of the last
    ``CONTENT_MEMORY`` such events: a replay of what was already yielded is dropped, which
    is all that can be de-duplicated without ids."""

    last_id: str | None = None
    _last: tuple[int, int] | None = None
    _opaque: set[str] = field(default_factory=set)
    _contents: dict[bytes, None] = field(default_factory=dict)  # ordered: oldest first

    def __post_init__(self) -> None:
        self._last = parse_event_id(self.last_id)
        if self.last_id is not None and self._last is None:
            self._opaque.add(self.last_id)

    def accept(self, event_id: str | None, result: Any = None) -> bool:
        """Whether the event with ``event_id`` (and, without one, ``result``) is new; if
        so it becomes the position."""
        if event_id is None:
            return self._new_content(result)
        position = parse_event_id(event_id)
        if position is not None:
            if self._last is not None and position <= self._last:
                return False
            self._last = position
        elif event_id in self._opaque:
            return False
        else:
            self._opaque.add(event_id)
        self.last_id = event_id
        return True

    def _new_content(self, result: Any) -> bool:
        canonical = json.dumps(result, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(canonical.encode()).digest()
        if digest in self._contents:
            return False
        self._contents[digest] = None
        if len(self._contents) > CONTENT_MEMORY:
            del self._contents[next(iter(self._contents))]
        return True


@dataclass(frozen=True)
class RetryPolicy:
    """How a stream is resumed. The n-th reconnection in a row without progress
    (``attempt`` 0, 1, …) waits ``uniform(0, min(cap, base * 2**attempt))`` seconds (full
    jitter), or the server's ``Retry-After`` for a 503 or 429 when it sent one; an event
    yielded resets the count. ``max_attempts`` reconnections in a row without progress
    give up (``ResumeFailed``); ``deadline`` (seconds, ``None`` for none) bounds the whole
    follow (``StreamDeadlineExceeded``), and can be set per call."""

    base: float = 0.2
    cap: float = 10.0
    max_attempts: int = 10
    deadline: float | None = None

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 62))
        return (rng or random).uniform(0, ceiling)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date (``now`` is a
    POSIX time, for tests); ``None`` when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now is None:
        now = time.time()
    return max(0.0, when.timestamp() - now)


@dataclass
class SSEBlock:
    """One SSE block: ``data`` decoded as JSON (``None`` when the block had no data),
    its ``id`` and ``retry`` fields."""

    id: str | None = None
    data: Any = None
    retry: int | None = None
    has_data: bool = False


async def sse_blocks(lines: AsyncIterator[str]) -> AsyncIterator[SSEBlock]:
    """SSE blocks from lines (comments such as ``: keep-alive`` skipped). A block with
    ``id:`` or ``retry:`` and no data is yielded too: the gateway's resume frame."""
    block = SSEBlock()
    data: list[str] = []
    seen = False
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if line == "":
            if data:
                block.data, block.has_data = json.loads("\n".join(data)), True
            if seen:
                yield block
            block, data, seen = SSEBlock(), [], False
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
            seen = True
        elif name == "id":
            block.id, seen = value, True
        elif name == "retry" and value.isdigit():
            block.retry, seen = int(value), True
    # A block the stream did not end with a blank line is incomplete: dropped (SSE).
