"""The ASGI app: JSON-RPC on ``POST /`` and ``POST /agents/<name>``, cards, health.

The same app runs under uvicorn locally and behind the Lambda Web Adapter in AWS. It
owns no task state; its Redis pool and Temporal client are made once, at start-up.

HTTP status is 200 for every JSON-RPC answer, errors included, except: a Host this server
does not answer to (400, before anything else), a body whose media type is not JSON (415;
browsers send ``text/plain`` and forms cross-site without asking), a body over
``A2A_MAX_BODY_BYTES`` (413, refused before parsing), an unknown agent path (404), and a
stream or wait refused because the process is full or draining (503, ``Retry-After``).
Streaming methods always answer ``text/event-stream``; an error found after the request
was parsed arrives there as one JSON-RPC error event.

Capacity: a stream and a waiting request (a blocking ``message/send``, ``tasks/cancel``)
each hold a hub subscription, so together they count against ``A2A_MAX_STREAMS``. The
slot is taken before the request's first await and released on every path. A waiting
request is cancelled when its client disconnects. On SIGTERM or SIGINT the process
drains: new streams and waits get 503, open streams end with a resume frame (last id and
``retry:``), waits return, and uvicorn exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from a2a_gateway.config import Settings
from a2a_gateway.core.limits import MAX_BATCH
from a2a_gateway.errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    InternalError,
    InvalidRequestError,
    MethodNotFoundError,
    RPCError,
)
from a2a_gateway.gateway import guards, jsonrpc, sse
from a2a_gateway.gateway.capacity import RETRY_AFTER_SECONDS, AtCapacity, Capacity
from a2a_gateway.gateway.card import agent_card
from a2a_gateway.gateway.deadline import stream_deadline
from a2a_gateway.gateway.disconnect import ClientGone, ClientWatch
from a2a_gateway.gateway.drain import drain_on_signals
from a2a_gateway.gateway.runner import TaskRunner, TemporalRunner
from a2a_gateway.gateway.service import A2AService, Call
from a2a_gateway.models import (
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    MessageSendParams,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
)
from a2a_gateway.routing import Route, Routing
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.store.hub import StreamHub
from a2a_gateway.store.keys import ANONYMOUS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from pydantic import BaseModel
    from starlette.requests import Request

log = logging.getLogger(__name__)
T = TypeVar("T")


def _never(params: Any) -> bool:
    return False


def _always(params: Any) -> bool:
    return True


def _blocking(params: Any) -> bool:
    """``message/send`` waits for the task unless ``configuration.blocking`` is false."""
    config = params.configuration if isinstance(params, MessageSendParams) else None
    return config is None or config.blocking is not False


@dataclass(frozen=True)
class Method:
    """A JSON-RPC method: its params model, the service call, whether it streams, and
    whether a call with the given params waits on the task (and so holds a hub
    subscription, counted like a stream)."""

    params: type[BaseModel] | None
    handler: str
    streaming: bool = False
    waits: Callable[[Any], bool] = _never


METHODS: dict[str, Method] = {
    "message/send": Method(MessageSendParams, "send", waits=_blocking),
    "message/stream": Method(MessageSendParams, "stream", streaming=True),
    "tasks/get": Method(TaskQueryParams, "get"),
    "tasks/cancel": Method(TaskIdParams, "cancel", waits=_always),
    "tasks/resubscribe": Method(TaskIdParams, "resubscribe", streaming=True),
    "tasks/pushNotificationConfig/set": Method(TaskPushNotificationConfig, "push_set"),
    "tasks/pushNotificationConfig/get": Method(GetTaskPushNotificationConfigParams, "push_get"),
    "tasks/pushNotificationConfig/list": Method(TaskIdParams, "push_list"),
    "tasks/pushNotificationConfig/delete": Method(
        DeleteTaskPushNotificationConfigParams, "push_delete"
    ),
    # A2A 0.3's JSON-RPC form of the extended card; no authentication is configured yet.
    "agent/getAuthenticatedExtendedCard": Method(None, ""),
}
# A notification gets no response (JSON-RPC 2.0 §4.1), so a method that would wait for the
# task or stream it only does its side effect: message/send and message/stream submit the
# message (answered 204 at once), resubscribe does nothing.
NOTIFIED: dict[str, Method | None] = {
    "message/send": Method(MessageSendParams, "submit"),
    "message/stream": Method(MessageSendParams, "submit"),
    "tasks/resubscribe": None,
}
WWW_AUTHENTICATE = 'Bearer realm="a2a-gateway"'


# -- the gateway ---------------------------------------------------------------------------


class Gateway:
    """The request handlers, bound to one service, routing table and settings."""

    def __init__(self, settings: Settings, routing: Routing, service: A2AService) -> None:
        self.settings = settings
        self.routing = routing
        self.service = service
        self.capacity = Capacity(settings.max_streams)

    def _route(self, request: Request) -> Route | None:
        return self.routing.get(request.path_params.get("agent"))

    def _base_url(self, request: Request) -> str:
        return self.settings.public_url or str(request.base_url)

    def drain(self) -> None:
        """Begin draining (idempotent; runs on the event loop): from now on streams and
        waits get 503, and the hub ends every subscription, so open streams close with a
        resume frame and waits return with the task as it is."""
        if self.capacity.draining:
            return
        self.capacity.draining = True
        log.info(
            "draining: %d streams and %d waits open",
            self.capacity.streams,
            self.capacity.waits,
        )
        self.service.hub.drain()

    async def card(self, request: Request) -> Response:
        route = self._route(request)
        if route is None:
            return JSONResponse({"error": "no such agent"}, status_code=404)
        card = agent_card(self.routing, route, self._base_url(request), self.settings)
        return JSONResponse(card)

    async def extended_card(self, request: Request) -> Response:
        """§7.10: only for authenticated clients, and no authentication is configured yet."""
        return JSONResponse(
            {"error": "authentication required", "detail": "no authentication is configured"},
            status_code=401,
            headers={"WWW-Authenticate": WWW_AUTHENTICATE},
        )

    async def health(self, request: Request) -> Response:
        """200 with the open streams and waits; 503 when Redis does not answer or the
        process is draining."""
        try:
            await self.service.events.ping()
        except Exception:
            log.warning("health check: redis unreachable", exc_info=True)
            return JSONResponse({"status": "unavailable", "redis": "unreachable"}, 503)
        hub, capacity = self.service.hub, self.capacity
        body = {
            "status": "draining" if capacity.draining else "ok",
            "streams": capacity.streams,
            "waits": capacity.waits,
            "subscriptions": hub.subscriptions,
            "readers": hub.readers,
        }
        return JSONResponse(body, 503 if capacity.draining else 200)

    async def rpc(self, request: Request) -> Response:
        route = self._route(request)
        if route is None:
            error: RPCError = MethodNotFoundError(
                f"No agent named {request.path_params.get('agent')!r}"
            )
            return JSONResponse(jsonrpc.failure(None, error), status_code=404)
        if not guards.is_json(request.headers.get("content-type")):
            error = InvalidRequestError(
                "The request body must be JSON-RPC sent as Content-Type: application/json "
                "(or application/a2a+json)"
            )
            return JSONResponse(jsonrpc.failure(None, error), status_code=415)
        try:
            body = await guards.read_body(request, self.settings.max_body_bytes)
        except guards.BodyTooLarge:
            error = InvalidRequestError(
                f"The request body exceeds {self.settings.max_body_bytes} bytes"
            )
            return JSONResponse(jsonrpc.failure(None, error), status_code=413)
        try:
            data = jsonrpc.decode(body)
        except jsonrpc.WithId as err:
            return JSONResponse(jsonrpc.failure(err.request_id, err.error))
        except RPCError as err:
            return JSONResponse(jsonrpc.failure(None, err))
        async with ClientWatch(request.receive) as watch:
            if isinstance(data, list):
                return await self._batch(data, route, request, watch)
            return await self._single(data, route, request, watch)

    async def _single(
        self, data: Any, route: Route, request: Request, watch: ClientWatch
    ) -> Response:
        try:
            rpc_request = jsonrpc.parse_request(data)
        except jsonrpc.WithId as err:
            return JSONResponse(jsonrpc.failure(err.request_id, err.error))
        except RPCError as err:
            return JSONResponse(jsonrpc.failure(None, err))
        deadline = stream_deadline(request.headers, self.settings)
        last_event_id = request.headers.get("last-event-id")
        call = Call(ANONYMOUS, route, rpc_request.id, last_event_id, deadline)
        method = METHODS.get(rpc_request.method)
        try:
            if rpc_request.is_notification:
                await self._notify(rpc_request, call)
                return Response(status_code=204)
            if method is not None and method.streaming:
                return await self._stream(method, rpc_request, call)
            return JSONResponse(await self._answer(method, rpc_request, call, watch))
        except AtCapacity as full:
            return _at_capacity(rpc_request.id, full.error)

    async def _batch(
        self, items: list[Any], route: Route, request: Request, watch: ClientWatch
    ) -> Response:
        """JSON-RPC 2.0 batch: members run concurrently; answers for all but notifications,
        in request order; an empty batch is one invalid request. Streaming methods need a
        response of their own, so in a batch they are invalid requests. A member that
        would wait when no slot is free is answered with the capacity error."""
        if not items:
            error = InvalidRequestError("An empty batch is not a valid request")
            return JSONResponse(jsonrpc.failure(None, error))
        if len(items) > MAX_BATCH:
            error = InvalidRequestError(f"A batch may hold at most {MAX_BATCH} requests")
            return JSONResponse(jsonrpc.failure(None, error))
        last_event_id = request.headers.get("last-event-id")

        async def one(item: Any) -> dict[str, Any] | None:
            try:
                rpc_request = jsonrpc.parse_request(item)
            except jsonrpc.WithId as err:
                return jsonrpc.failure(err.request_id, err.error)
            except RPCError as err:
                return jsonrpc.failure(None, err)
            method = METHODS.get(rpc_request.method)
            call = Call(ANONYMOUS, route, rpc_request.id, last_event_id)
            try:
                if rpc_request.is_notification:
                    await self._notify(rpc_request, call)
                    return None
                if method is not None and method.streaming:
                    error = InvalidRequestError(f"{rpc_request.method} cannot be part of a batch")
                    return jsonrpc.failure(rpc_request.id, error)
                return await self._answer(method, rpc_request, call, watch)
            except AtCapacity as full:
                return (
                    None
                    if rpc_request.is_notification
                    else jsonrpc.failure(rpc_request.id, full.error)
                )

        answers = [a for a in await asyncio.gather(*(one(i) for i in items)) if a is not None]
        return JSONResponse(answers) if answers else Response(status_code=204)

    async def _notify(self, rpc_request: jsonrpc.Request, call: Call) -> None:
        """Run a notification for its side effect only. Its outcome is not reported, and
        a client that hangs up does not cancel it (it expects no answer)."""
        name = rpc_request.method
        method = NOTIFIED[name] if name in NOTIFIED else METHODS.get(name)
        if method is not None:
            await self._answer(method, rpc_request, call, None)

    async def _answer(
        self,
        method: Method | None,
        rpc_request: jsonrpc.Request,
        call: Call,
        watch: ClientWatch | None,
    ) -> dict[str, Any]:
        """The response object of a non-streaming request. Raises nothing but
        ``AtCapacity``: a call that waits takes a slot first, and with a ``watch`` it is
        cancelled when its client disconnects."""
        try:
            method, params = _resolve(method, rpc_request)
            handler = getattr(self.service, method.handler)
            if not method.waits(params):
                result = await handler(call, params)
            else:
                slot = self.capacity.take("wait")
                try:
                    work = handler(call, params)
                    result = await (watch.run(work) if watch is not None else work)
                finally:
                    slot.release()
        except AtCapacity:
            raise
        except ClientGone:
            log.info("client left while %s waited; the wait was cancelled", rpc_request.method)
            return jsonrpc.failure(rpc_request.id, InternalError("The client disconnected"))
        except RPCError as err:
            return jsonrpc.failure(rpc_request.id, err)
        except Exception:
            log.exception("internal error in %s", rpc_request.method)
            return jsonrpc.failure(rpc_request.id, InternalError())
        return jsonrpc.success(rpc_request.id, result)

    async def _stream(
        self, method: Method, rpc_request: jsonrpc.Request, call: Call
    ) -> sse.EventStreamResponse:
        """The stream's response. Its slot is taken before the first await (``AtCapacity``
        if none is free) and given back when the response ends, however it ends."""
        slot = self.capacity.take("stream")
        try:
            frames = await self._open(method, rpc_request, call)
        except BaseException:
            slot.release()
            raise
        return sse.EventStreamResponse(
            frames,
            on_close=slot.release,
            on_error=lambda err: _error_event(rpc_request.id, err),
        )

    async def _open(
        self, method: Method, rpc_request: jsonrpc.Request, call: Call
    ) -> AsyncIterator[bytes]:
        """The frames of a streaming call; an error before the first frame becomes the one
        error event of the stream."""
        try:
            method, params = _resolve(method, rpc_request)
            frames: AsyncIterator[bytes] = await getattr(self.service, method.handler)(call, params)
        except RPCError as err:
            return _one(jsonrpc.failure(rpc_request.id, err))
        except Exception:
            log.exception("internal error in %s", rpc_request.method)
            return _one(jsonrpc.failure(rpc_request.id, InternalError()))
        return frames


def _resolve(method: Method | None, rpc_request: jsonrpc.Request) -> tuple[Method, BaseModel]:
    """The method and its validated params, or the ``RPCError`` that answers the call."""
    if method is None:
        raise MethodNotFoundError(data={"method": rpc_request.method})
    if method.params is None:
        raise AuthenticatedExtendedCardNotConfiguredError(
            data={"reason": "no authentication is configured on this deployment"}
        )
    return method, jsonrpc.validate(method.params, rpc_request.params)


def _at_capacity(request_id: jsonrpc.RequestId, error: RPCError) -> Response:
    """503 at once, existing streams untouched: another instance may have room."""
    return JSONResponse(
        jsonrpc.failure(request_id, error),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _error_event(request_id: jsonrpc.RequestId, error: Exception) -> bytes:
    """The one JSON-RPC error event that ends a stream whose frames raised: the error's own
    code for an ``RPCError``, an internal error (nothing of it shown) otherwise."""
    shown = error if isinstance(error, RPCError) else InternalError()
    return sse.event(json.dumps(jsonrpc.failure(request_id, shown), separators=(",", ":")))


async def _one(answer: dict[str, Any]) -> AsyncIterator[bytes]:
    yield sse.event(json.dumps(answer, separators=(",", ":")))


def create_app(
    settings: Settings | None = None,
    routing: Routing | None = None,
    runner: TaskRunner | None = None,
) -> Starlette:
    """The gateway app; Redis and Temporal connections are opened in its lifespan, and
    SIGTERM/SIGINT drain it while it serves."""
    settings = settings or Settings.from_env()
    routing = routing or Routing.load(settings.routes_file)
    middleware = guards.middleware(settings)
    events = EventLog.from_settings(settings)
    holder: dict[str, Gateway] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task_runner = runner or await TemporalRunner.connect(settings)
        hub = StreamHub(events.redis, queue_size=settings.subscriber_queue)
        service = A2AService(events, hub, task_runner, settings)
        gateway = holder["gateway"] = Gateway(settings, routing, service)
        try:
            with drain_on_signals(gateway.drain):
                yield
        finally:
            await hub.close()
            await events.close()

    def bound(name: str) -> Any:
        async def endpoint(request: Request) -> Response:
            handler = getattr(holder["gateway"], name)
            response: Response = await handler(request)
            return response

        return endpoint

    routes = [
        HttpRoute("/", bound("rpc"), methods=["POST"]),
        HttpRoute("/agents/{agent}", bound("rpc"), methods=["POST"]),
        HttpRoute("/.well-known/agent.json", bound("card"), methods=["GET"]),
        HttpRoute("/.well-known/agent-card.json", bound("card"), methods=["GET"]),
        HttpRoute("/agents/{agent}/.well-known/agent.json", bound("card"), methods=["GET"]),
        HttpRoute("/agents/{agent}/.well-known/agent-card.json", bound("card"), methods=["GET"]),
        HttpRoute("/agent/authenticatedExtendedCard", bound("extended_card"), methods=["GET"]),
        HttpRoute(
            "/agents/{agent}/agent/authenticatedExtendedCard",
            bound("extended_card"),
            methods=["GET"],
        ),
        HttpRoute("/healthz", bound("health"), methods=["GET"]),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
