"""The ASGI app: JSON-RPC on ``POST /`` and ``POST /agents/<name>[/]``, A2A 1.0's HTTP+JSON
binding under the same base paths (``gateway.rest``), cards, health.

The same app runs under uvicorn locally and behind the Lambda Web Adapter in AWS. It
owns no task state; its Redis pool and Temporal client are made once, at start-up.

Versions: the ``A2A-Version`` header (or query parameter) picks the JSON-RPC dialect
(``protocol.negotiate``): none, ``0.2`` or ``0.3`` get the 0.2.5/0.3 methods and shapes,
``1.0`` gets 1.0's; any other is refused (-32009, HTTP 400). Both dialects reach the same
service and the same tasks.

HTTP status is 200 for every JSON-RPC answer, errors included, except: a Host this server
does not answer to (400, before anything else), an unsupported version (400), a body
whose media type is not JSON (415; browsers send ``text/plain`` and forms cross-site
without asking), a body over ``A2A_MAX_BODY_BYTES`` (413, refused before parsing), an
unknown agent path (404), and a stream or wait refused because the process is full or
draining (503, ``Retry-After``). Streaming methods answer ``text/event-stream``; an error
found before the stream starts arrives there as one JSON-RPC error event, or as a plain
JSON response to a client whose ``Accept`` excludes ``text/event-stream``.

Capacity: a stream and a waiting request (a blocking send, a cancel) each hold a hub
subscription, so together they count against ``A2A_MAX_STREAMS``. The slot is taken
before the request's first await and released on every path. A waiting request is
cancelled when its client disconnects. On SIGTERM or SIGINT the process drains: new
streams and waits get 503, open streams end with a resume frame (last id and
``retry:``), waits return, and uvicorn exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from a2a_gateway import logs, tracing
from a2a_gateway import metrics as m
from a2a_gateway.config import Settings
from a2a_gateway.core.limits import MAX_BATCH
from a2a_gateway.errors import (
    ForbiddenError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    LimitExceededError,
    LimitsUnavailableError,
    MethodNotFoundError,
    RPCError,
    UnauthenticatedError,
)
from a2a_gateway.gateway import audit, console, extended_card, guards, jsonrpc, sse
from a2a_gateway.gateway.admission import Admission, Admitted
from a2a_gateway.gateway.auth.chain import Authentication
from a2a_gateway.gateway.capacity import RETRY_AFTER_SECONDS, AtCapacity, Capacity
from a2a_gateway.gateway.card import agent_card
from a2a_gateway.gateway.deadline import stream_deadline
from a2a_gateway.gateway.disconnect import ClientGone, ClientWatch
from a2a_gateway.gateway.drain import drain_on_signals
from a2a_gateway.gateway.identity import authentication
from a2a_gateway.gateway.jwks import PublishedKeys
from a2a_gateway.gateway.protocol import negotiate
from a2a_gateway.gateway.protocol.base import (
    EXTENDED_CARD,
    Dialect,
    Method,
    failure,
    rpc_frames,
    success,
)
from a2a_gateway.gateway.protocol.legacy import LEGACY
from a2a_gateway.gateway.protocol.v1 import V1
from a2a_gateway.gateway.quota import Quota
from a2a_gateway.gateway.rest import RestApi, request_call
from a2a_gateway.gateway.runner import TaskRunner, TemporalRunner
from a2a_gateway.gateway.service import CANCEL_WAIT_SECONDS, A2AService, Call
from a2a_gateway.gateway.stream_place import StreamPlace
from a2a_gateway.metrics import Metrics
from a2a_gateway.routing import Route, Routing
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway.store.hub import StreamHub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from pydantic import BaseModel
    from starlette.requests import Request

log = logging.getLogger(__name__)
T = TypeVar("T")

WAIT_LEASE_MARGIN_SECONDS = 30.0
REFUSALS = (LimitExceededError, LimitsUnavailableError, UnauthenticatedError, ForbiddenError)
"""Errors a method may raise that answer a single request with their own HTTP status (429
or 503 with ``Retry-After``, 401 with ``WWW-Authenticate``, 403), not with 200: a limit met
(or not checkable) after admission, or an extended card asked for without credentials. In
a batch they answer their member only."""


# -- the gateway ---------------------------------------------------------------------------


class Gateway:
    """The request handlers, bound to one service, routing table and settings."""

    def __init__(
        self,
        settings: Settings,
        routing: Routing,
        service: A2AService,
        auth: Authentication | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.routing = routing
        self.service = service
        self.auth = auth or Authentication([], allow_anonymous=True)
        self.capacity = Capacity(settings.max_streams)
        self.quota = Quota(service.events.quotas, routing.limits)
        self.admission = Admission(self.auth, self.quota)
        self.metrics = metrics or Metrics("gateway")
        self.metrics.gauge(m.STREAMS_ACTIVE, lambda: self.capacity.streams)
        self.metrics.gauge(m.HUB_READERS, lambda: service.hub.readers)
        self.metrics.gauge(m.HUB_SUBSCRIPTIONS, lambda: service.hub.subscriptions)
        self.published_keys = PublishedKeys(service.events.redis, settings.key_prefix)
        self.rest = RestApi(
            service,
            routing,
            settings,
            self.capacity,
            self.admission,
            extended_card=self.extended_card_of,
            metrics=self.metrics,
        )

    def _route(self, request: Request) -> Route | None:
        return self.routing.get(request.path_params.get("agent"))

    def _base_url(self, request: Request) -> str:
        return guards.public_base_url(request, self.settings)

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

    def extended_card_of(
        self, admitted: Admitted, route: Route, version: str, base_url: str
    ) -> Any:
        """The extended card of ``route`` for an admitted caller, or the ``RPCError`` that
        refuses it (``extended_card``)."""
        refused = extended_card.refusal(admitted.identity, self.settings.auth_modes, version)
        if refused is not None:
            raise refused
        card = agent_card(self.routing, route, base_url, self.settings)
        return extended_card.extended(card, route)

    async def extended_card(self, request: Request) -> Response:
        """0.3's ``GET …/agent/authenticatedExtendedCard`` (errors as JSON-RPC error
        objects, with their HTTP status; 404 when no authentication is configured)."""
        route = self._route(request)
        entry = audit.record(request.state)
        entry.note(method="agent/authenticatedExtendedCard", agent=route.name if route else "")
        try:
            admitted = await self.admission.admit(request.headers, route, entry)
            if route is None:
                raise MethodNotFoundError(f"No agent named {request.path_params.get('agent')!r}")
            card = self.extended_card_of(admitted, route, "0.3", self._base_url(request))
        except RPCError as err:
            entry.note(code=err.code)
            status = 404 if err.code == -32007 else err.http_status
            body = {"error": err.to_dict()}
            if err.http_status in (401, 403, 429, 503):
                return self.admission.refuse(body, err)
            return JSONResponse(body, status_code=status)
        return JSONResponse(card)

    async def jwks(self, request: Request) -> Response:
        """``/.well-known/jwks.json`` (``gateway.jwks``)."""
        return await self.published_keys.endpoint(request)

    async def prometheus(self, request: Request) -> Response:
        """``GET /metrics``: the Prometheus text (only when ``A2A_METRICS_ENDPOINT`` is on;
        it tells whoever reads it the load)."""
        body, media_type = self.metrics.exposition()
        return Response(body, media_type=media_type)

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
        try:
            version = negotiate.requested(request.headers, request.query_params)
        except RPCError as err:
            return JSONResponse(failure(V1, None, err), status_code=400)
        dialect: Dialect = V1 if version == "1.0" else LEGACY
        entry = audit.record(request.state)
        entry.note(agent=route.name if route else "", version=version)
        try:
            admitted = await self.admission.admit(request.headers, route, entry)
        except RPCError as err:
            entry.note(code=err.code)
            return self.admission.refuse(failure(dialect, None, err), err)
        if route is None:
            error: RPCError = MethodNotFoundError(
                f"No agent named {request.path_params.get('agent')!r}"
            )
            return JSONResponse(failure(dialect, None, error), status_code=404)
        if not guards.is_json(request.headers.get("content-type")):
            error = InvalidRequestError(
                "The request body must be JSON-RPC sent as Content-Type: application/json "
                "(or application/a2a+json)"
            )
            return JSONResponse(failure(dialect, None, error), status_code=415)
        try:
            body = await guards.read_body(request, self.settings.max_body_bytes)
        except guards.BodyTooLarge:
            error = InvalidRequestError(
                f"The request body exceeds {self.settings.max_body_bytes} bytes"
            )
            return JSONResponse(failure(dialect, None, error), status_code=413)
        try:
            data = jsonrpc.decode(body)
        except jsonrpc.WithId as err:
            return JSONResponse(failure(dialect, err.request_id, err.error))
        except RPCError as err:
            return JSONResponse(failure(dialect, None, err))
        exchange = Exchange(
            dialect, route, version, request, admitted, entry, self._base_url(request)
        )
        async with ClientWatch(request.receive) as watch:
            if isinstance(data, list):
                entry.note(method="batch")
                return await self._batch(data, exchange, watch)
            return await self._single(data, exchange, watch)

    async def _single(self, data: Any, exchange: Exchange, watch: ClientWatch) -> Response:
        dialect = exchange.dialect
        try:
            rpc_request = jsonrpc.parse_request(data)
        except jsonrpc.WithId as err:
            return JSONResponse(failure(dialect, err.request_id, err.error))
        except RPCError as err:
            return JSONResponse(failure(dialect, None, err))
        call = exchange.call(stream_deadline(exchange.request.headers, self.settings))
        method = dialect.methods.get(rpc_request.method)
        exchange.audit.note(method=rpc_request.method, task_id=_task_id(rpc_request.params))
        try:
            if rpc_request.is_notification:
                await self._notify(rpc_request, call, exchange)
                return Response(status_code=204)
            if method is not None and method.streaming:
                return await self._stream(method, rpc_request, call, exchange)
            answer = await self._answer(method, rpc_request, call, exchange, watch)
        except AtCapacity as full:
            exchange.audit.note(code=full.error.code)
            return _at_capacity(failure(dialect, rpc_request.id, full.error))
        except REFUSALS as refused:
            exchange.audit.note(code=refused.code)
            return self.admission.refuse(failure(dialect, rpc_request.id, refused), refused)
        exchange.audit.note(code=_code(answer))
        return JSONResponse(answer)

    async def _batch(self, items: list[Any], exchange: Exchange, watch: ClientWatch) -> Response:
        """JSON-RPC 2.0 batch: members run concurrently; answers for all but notifications,
        in request order; an empty batch is one invalid request. Streaming methods need a
        response of their own, so in a batch they are invalid requests. A member that
        would wait when no slot is free is answered with the capacity error."""
        dialect = exchange.dialect
        if not items:
            error = InvalidRequestError("An empty batch is not a valid request")
            return JSONResponse(failure(dialect, None, error))
        if len(items) > MAX_BATCH:
            error = InvalidRequestError(f"A batch may hold at most {MAX_BATCH} requests")
            return JSONResponse(failure(dialect, None, error))
        call = exchange.call(None)
        try:  # the batch's first member was paid for on admission
            await self.quota.admit(exchange.admitted.identity, call.limits, cost=len(items) - 1)
        except LimitExceededError as over:
            exchange.audit.note(code=over.code)
            return self.admission.refuse(failure(dialect, None, over), over)

        async def one(item: Any) -> dict[str, Any] | None:
            try:
                rpc_request = jsonrpc.parse_request(item)
            except jsonrpc.WithId as err:
                return failure(dialect, err.request_id, err.error)
            except RPCError as err:
                return failure(dialect, None, err)
            method = dialect.methods.get(rpc_request.method)
            try:
                if rpc_request.is_notification:
                    await self._notify(rpc_request, call, exchange)
                    return None
                if method is not None and method.streaming:
                    error = InvalidRequestError(f"{rpc_request.method} cannot be part of a batch")
                    return failure(dialect, rpc_request.id, error)
                return await self._answer(method, rpc_request, call, exchange, watch)
            except (AtCapacity, *REFUSALS) as refused:
                if rpc_request.is_notification:
                    return None
                shown = refused.error if isinstance(refused, AtCapacity) else refused
                return failure(dialect, rpc_request.id, shown)

        answers = [a for a in await asyncio.gather(*(one(i) for i in items)) if a is not None]
        return JSONResponse(answers) if answers else Response(status_code=204)

    async def _notify(self, rpc_request: jsonrpc.Request, call: Call, exchange: Exchange) -> None:
        """Run a notification for its side effect only. Its outcome is not reported, and
        a client that hangs up does not cancel it (it expects no answer)."""
        name, dialect = rpc_request.method, exchange.dialect
        method = dialect.notified[name] if name in dialect.notified else dialect.methods.get(name)
        if method is not None:
            await self._answer(method, rpc_request, call, exchange, None)

    def _handler(self, method: Method, exchange: Exchange) -> Callable[[Call, Any], Awaitable[Any]]:
        """The service call of ``method``; the extended card is the gateway's own."""
        if method.handler != EXTENDED_CARD:
            handler: Callable[[Call, Any], Awaitable[Any]] = getattr(self.service, method.handler)
            return handler

        async def card(call: Call, params: Any) -> Any:
            return self.extended_card_of(
                exchange.admitted, call.route, call.version, exchange.base_url
            )

        return card

    async def _answer(
        self,
        method: Method | None,
        rpc_request: jsonrpc.Request,
        call: Call,
        exchange: Exchange,
        watch: ClientWatch | None,
    ) -> dict[str, Any]:
        """The response object of a non-streaming request. Raises nothing but
        ``AtCapacity`` and the ``REFUSALS`` (answered with their HTTP status): a call that
        waits takes a slot and a lease first, and with a ``watch`` it is cancelled when its
        client disconnects."""
        dialect = exchange.dialect
        try:
            method, params = _resolve(method, rpc_request, dialect)
            handler = self._handler(method, exchange)
            if not method.waits(params):
                result = await handler(call, params)
            else:
                slot = self.capacity.take("wait")
                try:
                    lease = await self.quota.hold(
                        exchange.admitted.identity, call.limits, "waits", self._wait_lease()
                    )
                    try:
                        work = handler(call, params)
                        result = await (watch.run(work) if watch is not None else work)
                    finally:
                        await lease.release()
                finally:
                    slot.release()
            return success(rpc_request.id, method.render(result))
        except (AtCapacity, *REFUSALS):
            raise
        except ClientGone:
            log.info("client left while %s waited; the wait was cancelled", rpc_request.method)
            return failure(dialect, rpc_request.id, InternalError("The client disconnected"))
        except RPCError as err:
            return failure(dialect, rpc_request.id, err)
        except Exception:
            log.exception("internal error in %s", rpc_request.method)
            return failure(dialect, rpc_request.id, InternalError())

    async def _stream(
        self, method: Method, rpc_request: jsonrpc.Request, call: Call, exchange: Exchange
    ) -> Response:
        """The stream's response. Its slot is taken before the first await (``AtCapacity``
        if none is free) and given back when the response ends, however it ends. An error
        before the stream starts is one JSON-RPC error event for clients that accept SSE,
        and a JSON response for those that do not."""
        dialect, started = exchange.dialect, time.monotonic()
        place = await StreamPlace.take(
            self.capacity, self.quota, exchange.admitted.identity, call.limits, self.metrics
        )
        try:
            method, params = _resolve(method, rpc_request, dialect)
            items = await getattr(self.service, method.handler)(call, params)
        except REFUSALS:
            await place.give_back()
            raise
        except Exception as err:
            await place.give_back()
            if not isinstance(err, RPCError):
                log.exception("internal error in %s", rpc_request.method)
            answer = failure(dialect, rpc_request.id, _shown(err))
            exchange.audit.note(code=_code(answer))
            if not guards.accepts_event_stream(exchange.request.headers.get("accept")):
                return JSONResponse(answer)
            return sse.EventStreamResponse(_one(answer))
        except BaseException:  # cancelled: the place is given back all the same
            await place.give_back()
            raise
        body = place.serve(
            lambda measured: rpc_frames(dialect, rpc_request.id, measured),
            items,
            started,
            resumed=bool(call.last_event_id),
        )
        return sse.EventStreamResponse(
            body,
            on_close=place.slot.release,
            on_error=lambda err: _error_event(dialect, rpc_request.id, err),
        )

    def _wait_lease(self) -> float:
        """How long a wait's lease lives: the longest any wait may take, and a margin."""
        longest = max(self.settings.blocking_timeout_seconds, CANCEL_WAIT_SECONDS)
        return longest + WAIT_LEASE_MARGIN_SECONDS


@dataclass(frozen=True)
class Exchange:
    """One HTTP request's JSON-RPC context: its dialect, agent, version, headers, admitted
    caller and audit record."""

    dialect: Dialect
    route: Route
    version: str
    request: Request
    admitted: Admitted
    audit: audit.Record
    base_url: str

    def call(self, deadline: float | None) -> Call:
        return request_call(
            self.request,
            self.admitted,
            self.route,
            self.version,
            deadline=deadline,
            base_url=self.base_url,
        )


def _resolve(
    method: Method | None, rpc_request: jsonrpc.Request, dialect: Dialect
) -> tuple[Method, BaseModel]:
    """The method and its parsed params, or the ``RPCError`` that answers the call."""
    if method is None:
        raise dialect.unknown_method(rpc_request.method)
    params = rpc_request.params
    if params is None and method.params_optional:
        params = {}
    if not isinstance(params, dict):
        raise InvalidParamsError("'params' must be an object")
    return method, method.parse(params)


def _task_id(params: Any) -> str:
    """The task a request's params name, for the audit log ('' if none or not a string)."""
    if not isinstance(params, dict):
        return ""
    found = params.get("id", params.get("taskId"))
    message = params.get("message")
    if found is None and isinstance(message, dict):
        found = message.get("taskId")
    return found if isinstance(found, str) else ""


def _code(answer: dict[str, Any]) -> int:
    """The JSON-RPC error code of an answer, 0 for a result."""
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else 0
    return code if isinstance(code, int) else 0


def _shown(error: Exception) -> RPCError:
    """What a client is told of ``error``: its own code for an ``RPCError``, an internal
    error (nothing of it shown) otherwise."""
    return error if isinstance(error, RPCError) else InternalError()


def _at_capacity(answer: dict[str, Any]) -> Response:
    """503 at once, existing streams untouched: another instance may have room."""
    return JSONResponse(answer, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _error_event(dialect: Dialect, request_id: jsonrpc.RequestId, error: Exception) -> bytes:
    """The one JSON-RPC error event that ends a stream whose frames raised."""
    answer = failure(dialect, request_id, _shown(error))
    return sse.event(json.dumps(answer, separators=(",", ":")))


async def _one(answer: dict[str, Any]) -> AsyncIterator[bytes]:
    yield sse.event(json.dumps(answer, separators=(",", ":")))


async def _flush_every(metrics: Metrics, seconds: float) -> None:
    """Write the buffered metrics every ``seconds`` (EMF; a no-op without it)."""
    while True:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(metrics.flush)


def create_app(
    settings: Settings | None = None,
    routing: Routing | None = None,
    runner: TaskRunner | None = None,
) -> Starlette:
    """The gateway app; Redis and Temporal connections are opened in its lifespan, and
    SIGTERM/SIGINT drain it while it serves."""
    settings = settings or Settings.from_env()
    routing = routing or Routing.load(settings.routes_file)
    logs.configure("gateway", settings.log_level)
    tracing.configure("a2a-gateway")
    metrics = Metrics(
        "gateway",
        prometheus=settings.metrics_endpoint,
        emf=settings.metrics_emf,
        cloudwatch=settings.metrics_cloudwatch,
        namespace=settings.metrics_namespace,
    )
    middleware = [
        Middleware(tracing.TracingMiddleware),  # outermost: its span covers the rest
        *guards.middleware(settings),
        Middleware(audit.AuditMiddleware, metrics=metrics),
    ]
    audit.configure()
    events = EventLog.from_settings(settings)
    auth = authentication(settings)
    holder: dict[str, Gateway] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task_runner = runner or await TemporalRunner.connect(settings)
        hub = StreamHub(events.redis, queue_size=settings.subscriber_queue)
        service = A2AService(events, hub, task_runner, settings)
        gateway = holder["gateway"] = Gateway(settings, routing, service, auth, metrics)
        flusher = asyncio.create_task(_flush_every(metrics, settings.metrics_flush_seconds))
        try:
            with drain_on_signals(gateway.drain):
                yield
        finally:
            flusher.cancel()
            await asyncio.to_thread(metrics.flush)
            await hub.close()
            await events.close()

    def bound_rest(name: str) -> Any:
        async def endpoint(request: Request) -> Response:
            response: Response = await getattr(holder["gateway"].rest, name)(request)
            return response

        return endpoint

    def bound(name: str) -> Any:
        async def endpoint(request: Request) -> Response:
            handler = getattr(holder["gateway"], name)
            response: Response = await handler(request)
            return response

        return endpoint

    routes = [
        HttpRoute("/", bound("rpc"), methods=["POST"]),
        HttpRoute("/agents/{agent}", bound("rpc"), methods=["POST"]),
        HttpRoute("/agents/{agent}/", bound("rpc"), methods=["POST"]),
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
        *(
            [HttpRoute("/.well-known/jwks.json", bound("jwks"), methods=["GET"])]
            if settings.push_notifications
            else []
        ),
        *(
            [HttpRoute("/metrics", bound("prometheus"), methods=["GET"])]
            if settings.metrics_endpoint
            else []
        ),
        *RestApi.routes_for(bound_rest),
        *(console.routes(routing, settings) if settings.console else []),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
