"""``A2AClient``: an async client for A2A servers that follows a stream to its end.

It speaks A2A's JSON-RPC binding in the 0.3 dialect (no ``A2A-Version`` header), which
the gateway serves on every agent URL, as do 0.2.5 and 0.3 servers elsewhere; or in the
1.0 dialect (``client.v1``) for a server that speaks only 1.0. ``protocol="auto"`` (the
default) reads the agent card once and picks 0.3 when the card offers it, 1.0 when it
offers only 1.0's JSON-RPC. Either way results come back in 0.3's shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx

from a2a_gateway.client import v1
from a2a_gateway.client.errors import (
    A2AClientError,
    A2AError,
    A2AHTTPError,
    ResumeFailed,
    StreamDeadlineExceeded,
)
from a2a_gateway.client.resume import Dedupe, RetryPolicy, retry_after_seconds, sse_blocks
from a2a_gateway.client.types import (
    AgentCard,
    Event,
    Message,
    Resumed,
    StreamItem,
    StreamResult,
    Task,
)

if TYPE_CHECKING:
    import random
    from collections.abc import AsyncIterator
    from types import TracebackType

DEFAULT_TIMEOUT = httpx.Timeout(30.0)
"""Connect, read, write and pool timeouts. The read timeout also notices a silent dead
connection on a stream (the gateway sends a keep-alive every ``A2A_HEARTBEAT_SECONDS``)."""

# Answers that say "not now, nothing was done": retried, honouring Retry-After.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class _Refused(Exception):
    """The server refused the request (``RETRYABLE_STATUSES``): nothing was done, so it can
    be repeated (``reason`` says why), after ``retry_after`` seconds when the server said
    so; ``error`` is what to raise when the retries run out."""

    def __init__(self, response: httpx.Response) -> None:
        self.reason = f"http-{response.status_code}"
        super().__init__(self.reason)
        self.retry_after = retry_after_seconds(response.headers.get("retry-after"))
        self.error = A2AHTTPError(response.status_code, response.text)


def make_message(
    text_or_message: str | Message | dict[str, Any],
    *,
    task_id: str | None = None,
    context_id: str | None = None,
) -> dict[str, Any]:
    """A user ``Message`` from text, or a copy of ``message`` with a ``messageId`` (kept
    when given, so a retry is recognised) and the task and context ids."""
    if isinstance(text_or_message, str):
        message: dict[str, Any] = {
            "kind": "message",
            "role": "user",
            "parts": [{"kind": "text", "text": text_or_message}],
        }
    else:
        message = dict(text_or_message)
        message.setdefault("kind", "message")
        message.setdefault("role", "user")
    message.setdefault("messageId", str(uuid.uuid4()))
    if task_id is not None:
        message["taskId"] = task_id
    if context_id is not None:
        message["contextId"] = context_id
    return message


Protocol = Literal["auto", "0.3", "1.0"]
PROTOCOLS: tuple[Protocol, ...] = ("auto", "0.3", "1.0")


def _rpc(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}


def protocol_of(card: Any) -> Literal["0.3", "1.0"]:
    """The dialect to speak to the agent of ``card``: 0.3 when the card offers it (a 0.x
    ``protocolVersion``, or a JSON-RPC interface of a 0.x version), else 1.0 when it
    offers 1.0's JSON-RPC (``supportedInterfaces``), else 0.3."""
    if not isinstance(card, dict):
        return "0.3"
    if str(card.get("protocolVersion", "")).startswith("0."):
        return "0.3"
    interfaces = card.get("supportedInterfaces")
    versions = [
        str(i.get("protocolVersion", ""))
        for i in (interfaces if isinstance(interfaces, list) else [])
        if isinstance(i, dict) and str(i.get("protocolBinding", "")).upper() == "JSONRPC"
    ]
    if any(v.startswith("0.") for v in versions) or not any(v.startswith("1.") for v in versions):
        return "0.3"
    return "1.0"


def _result(body: Any) -> Any:
    if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
        raise A2AClientError(f"not a JSON-RPC response: {str(body)[:200]}")
    error = body.get("error")
    if isinstance(error, dict):
        raise A2AError(int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
    if "result" not in body:
        raise A2AClientError("a JSON-RPC response without result or error")
    return body["result"]


class A2AClient:
    """An async client for one A2A agent at ``url`` (the URL its card names, e.g.
    ``http://127.0.0.1:8000/agents/progress``).

    ``auth`` is any httpx ``Auth`` (``BearerAuth``, ``ApiKeyAuth``, ``SigV4Auth``).
    ``http`` is an ``httpx.AsyncClient`` to use (not closed by this client); without it
    one is made with ``timeout``. ``retry`` says how streams are resumed
    (``RetryPolicy``); ``rng`` draws the jitter (for tests). ``protocol`` is the JSON-RPC
    dialect: ``"0.3"``, ``"1.0"`` or ``"auto"`` (from the card, at the first call; a card
    that cannot be read means 0.3).

    Use it as ``async with A2AClient(url) as client: ...``.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: httpx.Auth | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        rng: random.Random | None = None,
        protocol: Protocol = "auto",
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
        self.url = url.rstrip("/")
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.headers = dict(headers or {})
        self.protocol: Protocol = protocol
        self._rng = rng
        self._owned = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> A2AClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()

    @property
    def _auth(self) -> Any:
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT

    async def dialect(self) -> Literal["0.3", "1.0"]:
        """The dialect in use; ``"auto"`` is settled here, once, from the card."""
        if self.protocol == "auto":
            try:
                card = await self.card()
            except (A2AClientError, httpx.HTTPError, ValueError):
                card = None
            self.protocol = protocol_of(card)
        return self.protocol

    async def _envelope(
        self, method: str, params: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The JSON-RPC body and the extra headers of the call ``method`` (a 0.3 name)."""
        if await self.dialect() == "1.0":
            return _rpc(v1.METHODS[method], v1.params_to_v1(method, params)), v1.VERSION_HEADER
        return _rpc(method, params), {}

    def _decode(self, method: str, result: Any) -> Any:
        """A result of ``method`` in 0.3's shape (``_envelope``'s dialect, settled)."""
        return v1.result_from_v1(method, result) if self.protocol == "1.0" else result

    # -- unary calls --------------------------------------------------------------------

    async def card(self) -> AgentCard:
        """The agent card (``/.well-known/agent-card.json``, else ``agent.json``)."""
        response = None
        for name in ("agent-card.json", "agent.json"):
            response = await self._http.get(
                f"{self.url}/.well-known/{name}", headers=self.headers, auth=self._auth
            )
            if response.status_code != 404:
                break
        assert response is not None
        if response.status_code != 200:
            raise A2AHTTPError(response.status_code, response.text)
        return cast("AgentCard", response.json())

    async def send(
        self,
        text_or_message: str | Message | dict[str, Any],
        *,
        task_id: str | None = None,
        context_id: str | None = None,
        blocking: bool = True,
    ) -> Task | Message:
        """``message/send``: the ``Task`` (once final or interrupted when ``blocking``,
        at once ``submitted`` otherwise) or the agent's ``Message``."""
        message = make_message(text_or_message, task_id=task_id, context_id=context_id)
        params = {"message": message, "configuration": {"blocking": blocking}}
        return cast("Task | Message", await self._call("message/send", params))

    async def get(self, task_id: str, *, history_length: int | None = None) -> Task:
        """``tasks/get``."""
        params: dict[str, Any] = {"id": task_id}
        if history_length is not None:
            params["historyLength"] = history_length
        return cast("Task", await self._call("tasks/get", params))

    async def cancel(self, task_id: str) -> Task:
        """``tasks/cancel``: the task, ``canceled``."""
        return cast("Task", await self._call("tasks/cancel", {"id": task_id}))

    async def _call(self, method: str, params: dict[str, Any]) -> Any:
        """One JSON-RPC call; refused ones (503, 429, …, or no connection) are retried
        after ``Retry-After`` or the backoff, at most ``retry.max_attempts`` times. The
        gateway refuses before doing anything, and repeats of the same ``messageId`` are
        recognised, so this is safe for every method."""
        body, extra = await self._envelope(method, params)
        for attempt in range(self.retry.max_attempts + 1):
            wait: float | None = None
            try:
                response = await self._http.post(
                    self.url, json=body, headers={**self.headers, **extra}, auth=self._auth
                )
                return self._decode(method, _answer(response))
            except httpx.ConnectError:
                if attempt == self.retry.max_attempts:
                    raise
            except _Refused as refused:
                if attempt == self.retry.max_attempts:
                    raise refused.error from None
                wait = refused.retry_after
            await asyncio.sleep(wait if wait is not None else self.retry.delay(attempt, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- streams ------------------------------------------------------------------------

    def stream(
        self,
        text_or_message: str | Message | dict[str, Any],
        *,
        task_id: str | None = None,
        context_id: str | None = None,
        deadline: float | None = None,
    ) -> AsyncIterator[StreamItem]:
        """``message/stream``, followed to its final event: yields each ``Event`` once,
        in order, and a ``Resumed`` marker whenever it reconnected (see ``_follow``).
        ``deadline`` (seconds) overrides ``retry.deadline``."""
        message = make_message(text_or_message, task_id=task_id, context_id=context_id)
        return self._follow(
            ("message/stream", {"message": message}),
            task_id=task_id,
            last_event_id=None,
            deadline=deadline,
            repeatable=task_id is not None,
        )

    def resubscribe(
        self, task_id: str, *, last_event_id: str | None = None, deadline: float | None = None
    ) -> AsyncIterator[StreamItem]:
        """``tasks/resubscribe``, followed to its final event: with ``last_event_id`` the
        events after it, without it the current ``Task`` first, then what follows."""
        return self._follow(
            None, task_id=task_id, last_event_id=last_event_id, deadline=deadline, repeatable=True
        )

    async def _follow(  # noqa: PLR0915 (one loop, read top to bottom)
        self,
        first: tuple[str, dict[str, Any]] | None,
        *,
        task_id: str | None,
        last_event_id: str | None,
        deadline: float | None,
        repeatable: bool,
    ) -> AsyncIterator[StreamItem]:
        """Reads streams until the final event. A connection that ends before it (a
        transport error, the gateway's resume frame, the end of the body, HTTP 503/429/
        502/504) is replaced by ``tasks/resubscribe`` with ``Last-Event-ID`` of the last
        event yielded, after the backoff (or ``Retry-After``). Events are de-duplicated
        by id (``Dedupe``). ``first`` (a ``message/stream``) is repeated instead while the
        task is unknown, when nothing was done (a refusal, no connection) or ``repeatable``
        (the message names its task, so the server recognises the retry)."""
        total = deadline if deadline is not None else self.retry.deadline
        ends = None if total is None else time.monotonic() + total
        seen = Dedupe(last_event_id)
        attempt = 0  # reconnections since the last progress
        received = False  # any event at all, so the task is known and the request taken
        reason: str | None = None  # why the last connection or attempt ended
        cause: str | None = None  # why the stream was first interrupted, for ``Resumed``
        retry_after: float | None = None
        while True:
            if reason is not None:
                if attempt >= self.retry.max_attempts:
                    raise ResumeFailed(
                        f"gave up after {attempt} reconnections without progress ({reason})",
                        last_event_id=seen.last_id,
                        task_id=task_id,
                    )
                pause = (
                    retry_after if retry_after is not None else self.retry.delay(attempt, self._rng)
                )
                if ends is not None and time.monotonic() + pause >= ends:
                    raise StreamDeadlineExceeded(
                        f"stream deadline of {total}s exceeded ({reason})",
                        last_event_id=seen.last_id,
                        task_id=task_id,
                    )
                await asyncio.sleep(pause)
                attempt += 1
            headers = {**self.headers, "Accept": "text/event-stream"}
            if first is not None and not received:
                method, params = first
            else:
                assert task_id is not None
                method, params = "tasks/resubscribe", {"id": task_id}
                if seen.last_id is not None:
                    headers["Last-Event-ID"] = seen.last_id
            body, extra = await self._envelope(method, params)
            headers.update(extra)
            resume_frame = False
            try:
                async with _within(ends, seen, task_id):
                    response = await self._http.send(
                        self._http.build_request("POST", self.url, json=body, headers=headers),
                        auth=self._auth,
                        stream=True,
                    )
                try:
                    if not _is_event_stream(response):
                        async with _within(ends, seen, task_id):
                            await response.aread()
                        _answer(response)  # raises for a refusal or an error
                        raise A2AClientError(f"expected an event stream, got {response.text[:200]}")
                    if cause is not None:
                        yield Resumed(attempt, seen.last_id, cause)
                        cause = None
                    blocks = sse_blocks(response.aiter_lines())
                    while True:
                        async with _within(ends, seen, task_id):
                            block = await anext(blocks, None)
                        if block is None:
                            break
                        if not block.has_data:
                            resume_frame = True  # ``id:`` and ``retry:``: the server ends here
                            continue
                        result = self._decode(method, _result(block.data))
                        event = Event(block.id, cast("StreamResult", result))
                        received = True
                        task_id = task_id or event.task_id
                        if not seen.accept(event.id, event.result):
                            continue
                        attempt = 0
                        yield event
                        if event.final:
                            return
                finally:
                    await response.aclose()
            except _Refused as refused:  # nothing was done: the request can be repeated
                reason, retry_after = refused.reason, refused.retry_after
                cause = cause or reason
                continue
            except (httpx.TransportError, httpx.StreamError) as err:
                reason, retry_after = f"disconnected: {type(err).__name__}", None
                nothing_sent = isinstance(err, httpx.ConnectError)
            else:
                reason = "resume-frame" if resume_frame else "ended-early"
                retry_after, nothing_sent = None, False
            cause = cause or reason
            if first is not None and not received and not (nothing_sent or repeatable):
                raise ResumeFailed(
                    f"the stream ended before its first event ({reason}); repeating the message "
                    "could start a second task (give it a task_id to make it repeatable)",
                    last_event_id=None,
                    task_id=task_id,
                )
            if task_id is None:
                raise ResumeFailed(
                    f"the stream ended before its task was known ({reason})",
                    last_event_id=seen.last_id,
                    task_id=None,
                )


@contextlib.asynccontextmanager
async def _within(ends: float | None, seen: Dedupe, task_id: str | None) -> AsyncIterator[None]:
    """A block of code bounded by the follow's deadline (``ends``, ``time.monotonic``),
    whose expiry is a ``StreamDeadlineExceeded``."""
    if ends is None:
        yield
        return
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + (ends - time.monotonic())):
            yield
    except TimeoutError as err:
        raise StreamDeadlineExceeded(
            "stream deadline exceeded", last_event_id=seen.last_id, task_id=task_id
        ) from err


def _is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return response.status_code == 200 and content_type.startswith("text/event-stream")


def _answer(response: httpx.Response) -> Any:
    """The JSON-RPC result of a response that is not an event stream (its body read).
    Raises ``_Refused`` for a refusal (``RETRYABLE_STATUSES``), ``A2AHTTPError`` for any
    other status but 200, ``A2AError`` for a JSON-RPC error and ``A2AClientError`` for a
    body that is no JSON-RPC response."""
    if response.status_code in RETRYABLE_STATUSES:
        raise _Refused(response)
    if response.status_code != 200:
        raise A2AHTTPError(response.status_code, response.text)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return _result(body)
