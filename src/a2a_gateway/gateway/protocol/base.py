"""What every JSON-RPC dialect (one per protocol version) gives the dispatcher.

A ``Method`` parses its params into the internal model, names the service call, and
renders the call's result in the dialect's shapes. A ``Dialect`` holds its methods, renders
errors and stream items, and frames them as SSE. The dispatcher (``gateway.app``) owns the
HTTP side: capacity, disconnects, batches and notifications, the same for every version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from a2a_gateway.gateway import sse
from a2a_gateway.gateway.events import Cut, KeepAlive, TaskSnapshot

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from a2a_gateway.errors import RPCError
    from a2a_gateway.gateway.events import Entry, StreamItem

RETRY_HINT_MS = 1000


def never(params: Any) -> bool:
    return False


def blocking(params: Any) -> bool:
    """A send waits for the task unless told not to (0.2.5 ``blocking: false``, 1.0
    ``returnImmediately: true``, both parsed into ``configuration.blocking``)."""
    config = getattr(params, "configuration", None)
    return config is None or config.blocking is not False


def unanswered(result: Any) -> None:
    """A notification's result is not rendered: nobody receives it."""


def always(params: Any) -> bool:
    return True


@dataclass(frozen=True)
class Method:
    """A method: its params parser (raises ``InvalidParamsError``), the service call, how
    its result is rendered, whether it streams, and whether a call with the given params
    waits on the task (and so holds a hub subscription, counted like a stream)."""

    parse: Callable[[Any], BaseModel]
    handler: str
    render: Callable[[Any], Any]
    streaming: bool = False
    waits: Callable[[Any], bool] = never
    params_optional: bool = False


EXTENDED_CARD = "extended_card"
"""The handler name of the extended-card methods: answered by the gateway, which knows the
caller and the cards, not by the task service."""


class NoParams(BaseModel):
    """The params of a method that takes none (extra members are ignored)."""


def no_params(params: Any) -> BaseModel:
    return NoParams()


def as_is(result: Any) -> Any:
    return result


class Dialect(Protocol):
    """One protocol version's JSON-RPC binding."""

    version: str
    methods: dict[str, Method]
    # Methods as a notification runs them (side effect only): None means "do nothing".
    notified: dict[str, Method | None]

    def unknown_method(self, name: str) -> RPCError:
        """The error for a method this dialect does not have."""
        ...

    def error(self, err: RPCError) -> dict[str, Any]:
        """The JSON-RPC ``error`` object for ``err``."""
        ...

    def item(self, item: TaskSnapshot | Entry) -> str:
        """The JSON of a stream item's ``result``."""
        ...

    resume_hint: str


def failure(dialect: Dialect, request_id: Any, err: RPCError) -> dict[str, Any]:
    """A JSON-RPC error response in ``dialect``'s error shape."""
    return {"jsonrpc": "2.0", "id": request_id, "error": dialect.error(err)}


def success(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def rpc_frames(
    dialect: Dialect, request_id: Any, items: AsyncIterator[StreamItem]
) -> AsyncIterator[bytes]:
    """A JSON-RPC stream: each item's result in a success envelope to ``request_id`` (the
    result JSON is spliced in, so stored events are framed without being parsed again)."""
    return sse_frames(items, dialect.item, dialect.resume_hint, sse.result_framer(request_id))


def resume_frame(cut: Cut, hint: str) -> bytes:
    """Tells the client the stream ended early and where to resume (SSE id and retry)."""
    return (f"id: {cut.last_id}\nretry: {RETRY_HINT_MS}\n: {cut.reason}; {hint}\n\n").encode()


async def sse_frames(
    items: AsyncIterator[StreamItem],
    body: Callable[[TaskSnapshot | Entry], str],
    resume_hint: str,
    frame: Callable[[str, str | None], bytes] = sse.event,
) -> AsyncIterator[bytes]:
    """Each stream item as an SSE frame (``frame`` of its ``body`` JSON: bare, or in an
    envelope): events with their stream id as the SSE ``id``,
    keep-alive comments, and the resume frame of a cut. Closing this closes ``items``."""
    try:
        async for item in items:
            if isinstance(item, KeepAlive):
                yield sse.comment("keep-alive")
            elif isinstance(item, Cut):
                yield resume_frame(item, resume_hint)
            else:
                event_id = item.event_id if isinstance(item, TaskSnapshot) else item.id
                yield frame(body(item), event_id)
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
