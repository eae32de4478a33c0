"""Server-Sent Events on raw ASGI: every frame is flushed as its own body chunk.

``EventStreamResponse`` runs the frame iterator and a disconnect watcher side by side:
when the client goes away the iterator is cancelled at once (so a blocked Redis read is
abandoned and its connection released), instead of at the next write.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import anyio
from starlette.responses import Response

from a2a_gateway.errors import RPCError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.types import Receive, Scope, Send

log = logging.getLogger(__name__)

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]


# Characters that ``str.splitlines`` (and some SSE parsers) treat as line breaks but that
# compact JSON may carry raw inside strings: escaped in every frame, so a data line stays one
# line for every client. (JSON escapes the C0 controls itself; these are outside C0.)
_LINE_SAFE = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def event(data: str, event_id: str | None = None) -> bytes:
    """One SSE event. ``data`` must be compact JSON (no raw CR or LF); the other line
    separators it may hold inside strings are escaped here, for every frame alike."""
    head = f"id: {event_id}\n" if event_id else ""
    if "\u2028" in data or "\u2029" in data or "\x85" in data:  # rare: scans are cheap
        data = data.translate(_LINE_SAFE)
    return f"{head}data: {data}\n\n".encode()


def result_framer(request_id: str | int | None) -> Callable[[str, str | None], bytes]:
    """Frames JSON-RPC success responses to ``request_id``, each carrying a ``result``
    that is already JSON (the event log stores results as JSON, so they are framed without
    being parsed again). The envelope is built once per stream, not once per event."""
    head = '{"jsonrpc":"2.0","id":' + json.dumps(request_id) + ',"result":'

    def frame(result: str, event_id: str | None = None) -> bytes:
        return event(head + result + "}", event_id)

    return frame


def comment(text: str) -> bytes:
    """An SSE comment line: ignored by clients, keeps proxies from timing the stream out.

    One line, with no blank line after it: a blank line ends an event, and parsers that
    keep the last event id across events (httpx-sse, used by the official Python clients)
    turn a comment block that follows an event with an ``id`` into an event with empty
    data, which those clients then fail to parse."""
    return f": {text}\n".encode()


class EventStreamResponse(Response):
    """An ASGI response that streams ``frames`` until they end or the client disconnects.

    Contract: however the response ends (the frames end, the client disconnects, the
    transport fails, the frames raise, the task is cancelled), the frames are closed
    (``aclose``, shielded from cancellation) and then ``on_close`` runs, exactly once,
    even if the response never got to send a byte. An exception from the frames ends the
    stream cleanly: an ``RPCError`` is logged as one line at INFO, anything else with its
    stack; ``on_error`` may turn it into a last frame (the JSON-RPC error event); nothing
    escapes to the server.
    """

    def __init__(
        self,
        frames: AsyncIterator[bytes],
        status_code: int = 200,
        on_close: Callable[[], None] | None = None,
        on_error: Callable[[Exception], bytes] | None = None,
    ) -> None:
        self.frames = frames
        self.status_code = status_code
        self.on_close = on_close
        self.on_error = on_error
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            # A copy: middleware (CORS) adds its headers to the list it is given.
            start = {"type": "http.response.start", "status": self.status_code}
            await send({**start, "headers": list(HEADERS)})
            async with anyio.create_task_group() as group:
                group.start_soon(_watch_disconnect, receive, group.cancel_scope)
                try:
                    await self._relay(send)
                finally:
                    group.cancel_scope.cancel()
        except OSError:  # the transport closed under us
            pass
        finally:
            await self._close()

    async def _relay(self, send: Send) -> None:
        """Send every frame, then the end of the body. An exception from the frames ends
        the body early (logged, then ``on_error``'s frame); one from the transport
        (``OSError``) propagates."""
        frames = aiter(self.frames)
        while True:
            try:
                frame = await anext(frames)
            except StopAsyncIteration:
                break
            except Exception as err:
                if isinstance(err, RPCError):
                    log.info("stream ended by error %s: %s", err.code, err.message)
                else:
                    log.exception("stream ended by an unexpected error")
                if self.on_error is not None:
                    last = self.on_error(err)
                    await send({"type": "http.response.body", "body": last, "more_body": True})
                break
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _close(self) -> None:
        try:
            aclose = getattr(self.frames, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
        except Exception:
            log.exception("closing a stream failed")
        finally:
            on_close, self.on_close = self.on_close, None
            if on_close is not None:
                on_close()


async def _watch_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    """Cancel ``scope`` when the client disconnects."""
    while True:
        try:
            message = await receive()
        except OSError:
            message = {"type": "http.disconnect"}
        if message["type"] == "http.disconnect":
            scope.cancel()
            return
