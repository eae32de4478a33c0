"""The ASGI app: JSON-RPC on ``POST /`` and ``POST /agents/<name>``, cards, health.

The same app runs under uvicorn locally and behind the Lambda Web Adapter in AWS. It
owns no task state; its Redis pool and Temporal client are made once, at start-up.

HTTP status is 200 for every JSON-RPC answer, errors included, except a body over
``A2A_MAX_BODY_BYTES`` (413, refused before parsing) and an unknown agent path (404).
Streaming methods always answer ``text/event-stream``; an error found after the request
was parsed arrives there as one JSON-RPC error event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from a2a_gateway.config import Settings
from a2a_gateway.errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    InternalError,
    InvalidRequestError,
    MethodNotFoundError,
    RPCError,
)
from a2a_gateway.gateway import jsonrpc, sse
from a2a_gateway.gateway.card import agent_card
from a2a_gateway.gateway.deadline import stream_deadline
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
    from collections.abc import AsyncIterator

    from pydantic import BaseModel
    from starlette.requests import Request

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Method:
    """A JSON-RPC method: its params model, the service call, and whether it streams."""

    params: type[BaseModel] | None
    handler: str
    streaming: bool = False


METHODS: dict[str, Method] = {
    "message/send": Method(MessageSendParams, "send"),
    "message/stream": Method(MessageSendParams, "stream", streaming=True),
    "tasks/get": Method(TaskQueryParams, "get"),
    "tasks/cancel": Method(TaskIdParams, "cancel"),
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
# A notification gets no response (JSON-RPC 2.0 §4.1), so a streaming method sent as one
# only does its side effect: message/stream submits the message, resubscribe does nothing.
NOTIFIED: dict[str, Method | None] = {
    "message/stream": Method(MessageSendParams, "submit"),
    "tasks/resubscribe": None,
}
MAX_BATCH = 100
RETRY_AFTER_SECONDS = 1
WWW_AUTHENTICATE = 'Bearer realm="a2a-gateway"'


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Gateway:
    """The request handlers, bound to one service, routing table and settings."""

    def __init__(self, settings: Settings, routing: Routing, service: A2AService) -> None:
        self.settings = settings
        self.routing = routing
        self.service = service
        self.active_streams = 0

    def _route(self, request: Request) -> Route | None:
        return self.routing.get(request.path_params.get("agent"))

    def _base_url(self, request: Request) -> str:
        return self.settings.public_url or str(request.base_url)

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
        try:
            await self.service.events.redis.ping()
        except Exception:
            log.warning("health check: redis unreachable", exc_info=True)
            return JSONResponse({"status": "unavailable", "redis": "unreachable"}, 503)
        hub = self.service.hub
        return JSONResponse(
            {
                "status": "ok",
                "streams": self.active_streams,
                "subscriptions": hub.subscriptions,
                "readers": hub.readers,
            }
        )

    async def rpc(self, request: Request) -> Response:
        route = self._route(request)
        if route is None:
            error: RPCError = MethodNotFoundError(
                f"No agent named {request.path_params.get('agent')!r}"
            )
            return JSONResponse(jsonrpc.failure(None, error), status_code=404)
        try:
            body = await read_body(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            error = InvalidRequestError(
                f"The request body exceeds {self.settings.max_body_bytes} bytes"
            )
            return JSONResponse(jsonrpc.failure(None, error), status_code=413)
        try:
            data = jsonrpc.decode(body)
        except RPCError as err:
            return JSONResponse(jsonrpc.failure(None, err))
        last_event_id = request.headers.get("last-event-id")
        if isinstance(data, list):
            return await self._batch(data, route, last_event_id)
        deadline = stream_deadline(request.headers, self.settings)
        try:
            rpc_request = jsonrpc.parse_request(data)
        except jsonrpc.WithId as err:
            return JSONResponse(jsonrpc.failure(err.request_id, err.error))
        except RPCError as err:
            return JSONResponse(jsonrpc.failure(None, err))
        call = Call(ANONYMOUS, route, rpc_request.id, last_event_id, deadline)
        method = METHODS.get(rpc_request.method)
        if rpc_request.is_notification:
            await self._notify(rpc_request, call)
            return Response(status_code=204)
        if method is not None and method.streaming:
            if self.active_streams >= self.settings.max_streams:
                return self._at_capacity(rpc_request.id)
            return await self._stream(method, rpc_request, call)
        return JSONResponse(await self._answer(method, rpc_request, call))

    async def _batch(self, items: list[Any], route: Route, last_event_id: str | None) -> Response:
        """JSON-RPC 2.0 batch: members run concurrently; answers for all but notifications,
        in request order; an empty batch is one invalid request. Streaming methods need a
        response of their own, so in a batch they are invalid requests."""
        if not items:
            error = InvalidRequestError("An empty batch is not a valid request")
            return JSONResponse(jsonrpc.failure(None, error))
        if len(items) > MAX_BATCH:
            error = InvalidRequestError(f"A batch may hold at most {MAX_BATCH} requests")
            return JSONResponse(jsonrpc.failure(None, error))

        async def one(item: Any) -> dict[str, Any] | None:
            try:
                rpc_request = jsonrpc.parse_request(item)
            except jsonrpc.WithId as err:
                return jsonrpc.failure(err.request_id, err.error)
            except RPCError as err:
                return jsonrpc.failure(None, err)
            method = METHODS.get(rpc_request.method)
            if rpc_request.is_notification:
                await self._notify(rpc_request, Call(ANONYMOUS, route, None, last_event_id))
                return None
            if method is not None and method.streaming:
                error = InvalidRequestError(f"{rpc_request.method} cannot be part of a batch")
                answer = jsonrpc.failure(rpc_request.id, error)
            else:
                call = Call(ANONYMOUS, route, rpc_request.id, last_event_id)
                answer = await self._answer(method, rpc_request, call)
            return None if rpc_request.is_notification else answer

        answers = [a for a in await asyncio.gather(*(one(i) for i in items)) if a is not None]
        return JSONResponse(answers) if answers else Response(status_code=204)

    async def _notify(self, rpc_request: jsonrpc.Request, call: Call) -> None:
        """Run a notification for its side effect only; its outcome is not reported."""
        name = rpc_request.method
        method = NOTIFIED[name] if name in NOTIFIED else METHODS.get(name)
        if method is not None:
            await self._answer(method, rpc_request, call)

    async def _answer(
        self, method: Method | None, rpc_request: jsonrpc.Request, call: Call
    ) -> dict[str, Any]:
        """The response object of a non-streaming request; never raises."""
        try:
            if method is None:
                raise MethodNotFoundError(data={"method": rpc_request.method})
            result = await self._call(method, rpc_request, call)
        except RPCError as err:
            return jsonrpc.failure(rpc_request.id, err)
        except Exception:
            log.exception("internal error in %s", rpc_request.method)
            return jsonrpc.failure(rpc_request.id, InternalError())
        return jsonrpc.success(rpc_request.id, result)

    async def _call(self, method: Method, rpc_request: jsonrpc.Request, call: Call) -> Any:
        if method.params is None:
            raise AuthenticatedExtendedCardNotConfiguredError(
                data={"reason": "no authentication is configured on this deployment"}
            )
        params = jsonrpc.validate(method.params, rpc_request.params)
        return await getattr(self.service, method.handler)(call, params)

    def _at_capacity(self, request_id: jsonrpc.RequestId) -> Response:
        """503 at once, existing streams untouched: another instance may have room."""
        error = InternalError(
            f"This gateway instance is serving its maximum of {self.settings.max_streams} "
            f"streams; retry in {RETRY_AFTER_SECONDS} s",
            data={"retryAfter": RETRY_AFTER_SECONDS},
        )
        return JSONResponse(
            jsonrpc.failure(request_id, error),
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    async def _stream(
        self, method: Method, rpc_request: jsonrpc.Request, call: Call
    ) -> sse.EventStreamResponse:
        try:
            frames: AsyncIterator[bytes] = await self._call(method, rpc_request, call)
        except RPCError as err:
            frames = _one(jsonrpc.failure(rpc_request.id, err))
        except Exception:
            log.exception("internal error in %s", rpc_request.method)
            frames = _one(jsonrpc.failure(rpc_request.id, InternalError()))
        return sse.EventStreamResponse(self._counted(frames))

    async def _counted(self, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``frames``, holding one capacity slot from the first frame until the stream ends
        (however it ends: completion, disconnect, deadline or error)."""
        self.active_streams += 1
        try:
            async for frame in frames:
                yield frame
        finally:
            try:
                aclose = getattr(frames, "aclose", None)
                if aclose is not None:
                    await aclose()
            finally:
                self.active_streams -= 1


async def _one(answer: dict[str, Any]) -> AsyncIterator[bytes]:
    yield sse.event(json.dumps(answer, separators=(",", ":")))


def create_app(
    settings: Settings | None = None,
    routing: Routing | None = None,
    runner: TaskRunner | None = None,
) -> Starlette:
    """The gateway app; Redis and Temporal connections are opened in its lifespan."""
    settings = settings or Settings.from_env()
    routing = routing or Routing.load(settings.routes_file)
    events = EventLog.from_settings(settings)
    holder: dict[str, Gateway] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task_runner = runner or await TemporalRunner.connect(settings)
        hub = StreamHub(events.redis, queue_size=settings.subscriber_queue)
        service = A2AService(events, hub, task_runner, settings)
        holder["gateway"] = Gateway(settings, routing, service)
        try:
            yield
        finally:
            await hub.close()
            await events.redis.aclose()

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
    return Starlette(routes=routes, lifespan=lifespan)
