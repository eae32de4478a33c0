"""Server-Sent Events on raw ASGI: every frame is flushed as its own body chunk.

``EventStreamResponse`` runs the frame iterator and a disconnect watcher side by side:
when the client goes away the iterator is cancelled at once (so a blocked Redis read is
abandoned and its connection released), instead of at the next write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from starlette.responses import Response

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import Receive, Scope, Send

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


def event(data: str, event_id: str | None = None) -> bytes:
    """One SSE event; ``data`` must be a single line (compact JSON is)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}data: {data}\n\n".encode()


def comment(text: str) -> bytes:
    """An SSE comment line: ignored by clients, keeps proxies from timing the stream out."""
    return f": {text}\n\n".encode()


class EventStreamResponse(Response):
    """An ASGI response that streams ``frames`` until they end or the client disconnects."""

    def __init__(self, frames: AsyncIterator[bytes], status_code: int = 200) -> None:
        self.frames = frames
        self.status_code = status_code
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = {"type": "http.response.start", "status": self.status_code, "headers": HEADERS}
        await send(start)
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        group.cancel_scope.cancel()
                        return

            group.start_soon(watch_disconnect)
            try:
                async for frame in self.frames:
                    await send({"type": "http.response.body", "body": frame, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:  # the transport closed under us
                pass
            finally:
                group.cancel_scope.cancel()
                aclose = getattr(self.frames, "aclose", None)
                if aclose is not None:
                    with anyio.CancelScope(shield=True):
                        await aclose()
