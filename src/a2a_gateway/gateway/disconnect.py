"""Ending a waiting request when its client leaves (as ``sse.EventStreamResponse`` does
for streams), so that a blocking wait never outlives the caller who asked for it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from starlette.types import Receive

T = TypeVar("T")


class ClientGone(Exception):
    """The client disconnected while its request waited; the waiting work was cancelled."""


class ClientWatch:
    """Watches one request's ASGI ``receive`` for ``http.disconnect`` (from the first
    ``run`` until ``aclose``), so that waiting work ends when its client leaves, as
    ``sse.EventStreamResponse`` does for streams. Use only after the body was read."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._gone = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ClientWatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _watch(self) -> None:
        with contextlib.suppress(OSError):
            while (await self._receive())["type"] != "http.disconnect":
                pass
        self._gone.set()

    async def run(self, work: Awaitable[T]) -> T:
        """``work``'s result. If the client disconnects first, ``work`` is cancelled and
        awaited (its ``finally`` blocks close what it holds, such as a hub subscription)
        and ``ClientGone`` is raised."""
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        task = asyncio.ensure_future(work)
        gone = asyncio.create_task(self._gone.wait())
        try:
            await asyncio.wait((task, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait((task,))
        if task.cancelled():
            raise ClientGone
        return task.result()

    async def aclose(self) -> None:
        """Stop watching (waits for the watcher, never raises)."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.wait((self._watcher,))
