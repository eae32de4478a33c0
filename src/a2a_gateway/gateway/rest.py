"""A2A 1.0's HTTP+JSON binding (§11) under each agent's base path.

``POST …/message:send`` and ``…/message:stream``, ``GET …/tasks`` and ``…/tasks/{id}``,
``POST …/tasks/{id}:cancel``, ``GET|POST …/tasks/{id}:subscribe``, the push-notification
config resources and ``GET …/extendedAgentCard``, where ``…`` is the agent's base path
(empty for the default agent, ``/agents/<name>`` otherwise). Bodies and results are 1.0's
ProtoJSON shapes (``protocol.v1_parse``, ``protocol.v1_render``); errors are
``google.rpc.Status`` bodies with the HTTP status of §5.4. Streams are SSE whose ``data``
is a ``StreamResponse`` and whose ``id`` is the Redis entry id, so ``…:subscribe`` with
``Last-Event-ID`` resumes exactly.

Version: this binding exists only in 1.0 here (0.3's HTTP+JSON paths, under ``/v1``, are
not served), so a request without ``A2A-Version`` is served as 1.0; one naming another
version is refused with ``VersionNotSupportedError``. Capacity, disconnects and draining
work as for JSON-RPC: a stream or a waiting call holds a slot (503 with ``Retry-After``
when none is free).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from a2a_gateway.core import extensions
from a2a_gateway.errors import (
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    LimitExceededError,
    LimitsUnavailableError,
    MethodNotFoundError,
    RPCError,
    VersionNotSupportedError,
)
from a2a_gateway.gateway import audit, guards, jsonrpc, sse
from a2a_gateway.gateway.capacity import RETRY_AFTER_SECONDS, AtCapacity
from a2a_gateway.gateway.deadline import stream_deadline
from a2a_gateway.gateway.disconnect import ClientGone, ClientWatch
from a2a_gateway.gateway.protocol import negotiate, v1_parse, v1_render
from a2a_gateway.gateway.protocol.base import blocking, sse_frames
from a2a_gateway.gateway.protocol.v1 import stream_result
from a2a_gateway.gateway.quota import LEASE_SECONDS
from a2a_gateway.gateway.service import V1, Call
from a2a_gateway.gateway.stream_place import StreamPlace

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from starlette.requests import Request

    from a2a_gateway.config import Settings
    from a2a_gateway.gateway.admission import Admission, Admitted
    from a2a_gateway.gateway.capacity import Capacity
    from a2a_gateway.gateway.service import A2AService
    from a2a_gateway.metrics import Metrics
    from a2a_gateway.routing import Route, Routing

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/json"
RESUME_HINT = "resume with POST tasks/{id}:subscribe and Last-Event-ID"


class PayloadTooLarge(InvalidRequestError):
    http_status = 413


class UnsupportedMediaType(InvalidRequestError):
    http_status = 415


def error_response(err: RPCError, headers: dict[str, str] | None = None) -> Response:
    status, body = v1_render.rest_error(err)
    if isinstance(err, (LimitExceededError, LimitsUnavailableError)) and headers is None:
        headers = {"Retry-After": str(err.retry_after)}
    return JSONResponse(body, status_code=status, headers=headers)


def request_call(
    request: Request,
    admitted: Admitted,
    route: Route,
    version: str,
    *,
    deadline: float | None,
    base_url: str,
) -> Call:
    """The service call of an admitted request, in either binding: its caller and limits,
    ``Last-Event-ID`` and the extensions its headers activate."""
    return Call(
        admitted.identity.principal,
        route,
        version,
        request.headers.get("last-event-id"),
        deadline,
        admitted.limits,
        base_url,
        extensions.activated(request.headers),
    )


class RestApi:
    """The HTTP+JSON endpoints, bound to the service, the routing table, the settings, the
    process's capacity and the admission of callers (shared with the JSON-RPC endpoints),
    and the gateway's extended cards (``extended_card(admitted, route, version,
    base_url)``)."""

    def __init__(
        self,
        service: A2AService,
        routing: Routing,
        settings: Settings,
        capacity: Capacity,
        admission: Admission,
        *,
        extended_card: Callable[[Admitted, Route, str, str], Any],
        metrics: Metrics,
    ) -> None:
        self.service = service
        self.routing = routing
        self.settings = settings
        self.capacity = capacity
        self.admission = admission
        self.quota = admission.quota
        self.extended_card_of = extended_card
        self.metrics = metrics

    # -- plumbing -------------------------------------------------------------------------

    def _call(self, request: Request, route: Route) -> Call:
        """The call of an admitted request (``_admit`` ran first)."""
        deadline = stream_deadline(request.headers, self.settings)
        base_url = guards.public_base_url(request, self.settings)
        admitted: Admitted = request.state.admitted
        return request_call(request, admitted, route, V1, deadline=deadline, base_url=base_url)

    async def _admit(self, request: Request, operation: str, task_id: str = "") -> Response | None:
        """Admit the caller (kept on ``request.state``), or the response refusing it; the
        audit record learns the operation, the agent and the task."""
        entry = audit.record(request.state)
        route = self.routing.get(request.path_params.get("agent"))
        entry.note(method=operation, task_id=task_id, version=V1)
        entry.note(agent=route.name if route else "")
        try:
            request.state.admitted = await self.admission.admit(request.headers, route, entry)
        except RPCError as err:
            entry.note(code=err.code)
            _, body = v1_render.rest_error(err)
            return self.admission.refuse(body, err)
        return None

    def _route(self, request: Request) -> Route:
        route = self.routing.get(request.path_params.get("agent"))
        if route is None:
            raise MethodNotFoundError(f"No agent named {request.path_params.get('agent')!r}")
        return route

    @staticmethod
    def _check_version(request: Request) -> None:
        version = negotiate.requested(request.headers, request.query_params, default=V1)
        if version != V1:
            raise VersionNotSupportedError(
                f"The HTTP+JSON binding is served in A2A 1.0 only, not {version}",
                data={"requested": version, "supported": [V1]},
            )

    async def _body(self, request: Request) -> dict[str, Any]:
        """The JSON object in the body (an empty body is ``{}``, for the verbs whose body is
        optional); a non-empty body must be sent as JSON."""
        try:
            raw = await guards.read_body(request, self.settings.max_body_bytes)
        except guards.BodyTooLarge:
            raise PayloadTooLarge(
                f"The request body exceeds {self.settings.max_body_bytes} bytes"
            ) from None
        if not raw.strip():
            return {}
        if not guards.is_json(request.headers.get("content-type")):
            raise UnsupportedMediaType(
                "The request body must be JSON sent as Content-Type: application/a2a+json "
                "(or application/json)"
            )
        data = jsonrpc.decode(raw)
        if not isinstance(data, dict):
            raise InvalidParamsError("The request body must be a JSON object")
        return data

    async def _unary(
        self,
        request: Request,
        work: Callable[[Route], Awaitable[Any]],
        *,
        operation: str,
        task_id: str = "",
        status: int = 200,
    ) -> Response:
        """Run one non-streaming operation and answer its result (a JSON-ready value)."""
        entry = audit.record(request.state)
        try:
            self._check_version(request)
            refused = await self._admit(request, operation, task_id)
            if refused is not None:
                return refused
            result = await work(self._route(request))
        except AtCapacity as full:
            entry.note(code=full.error.code)
            return error_response(full.error, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        except ClientGone:
            log.info("client left while %s waited; the wait was cancelled", request.url.path)
            return error_response(InternalError("The client disconnected"))
        except RPCError as err:
            entry.note(code=err.code)
            return error_response(err)
        except Exception:
            log.exception("internal error in %s %s", request.method, request.url.path)
            entry.note(code=InternalError.code)
            return error_response(InternalError())
        if result is None:
            return Response(status_code=status)
        return JSONResponse(result, status_code=status, media_type=MEDIA_TYPE)

    async def _wait(self, request: Request, work: Coroutine[Any, Any, Any]) -> Any:
        """``work``, which waits on a task: it holds a slot (``AtCapacity`` if none is
        free), and is cancelled when the client disconnects (``ClientGone``)."""
        try:
            slot = self.capacity.take("wait")
        except AtCapacity:
            work.close()
            raise
        try:
            admitted: Admitted = request.state.admitted
            seconds = self.settings.blocking_timeout_seconds + LEASE_SECONDS
            try:
                lease = await self.quota.hold(admitted.identity, admitted.limits, "waits", seconds)
            except BaseException:
                work.close()
                raise
            try:
                async with ClientWatch(request.receive) as watch:
                    return await watch.run(work)
            finally:
                await lease.release()
        finally:
            slot.release()

    async def _stream(
        self,
        request: Request,
        open_items: Callable[[Route, Call], Awaitable[Any]],
        *,
        operation: str,
        task_id: str = "",
    ) -> Response:
        """An SSE stream of ``StreamResponse`` objects; errors before it starts are plain
        error responses (HTTP status and ``google.rpc.Status`` body)."""
        entry, started = audit.record(request.state), time.monotonic()
        try:
            self._check_version(request)
            refused = await self._admit(request, operation, task_id)
            if refused is not None:
                return refused
            route = self._route(request)
            admitted: Admitted = request.state.admitted
            place = await StreamPlace.take(
                self.capacity, self.quota, admitted.identity, admitted.limits, self.metrics
            )
        except AtCapacity as full:
            entry.note(code=full.error.code)
            return error_response(full.error, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        except RPCError as err:  # refused, over a limit, or the limit cannot be checked
            entry.note(code=err.code)
            return error_response(err)
        call = self._call(request, route)
        try:
            items = await open_items(route, call)
        except Exception as err:
            await place.give_back()
            if not isinstance(err, RPCError):
                log.exception("internal error in %s %s", request.method, request.url.path)
                err = InternalError()
            entry.note(code=err.code)
            return error_response(err)
        except BaseException:
            await place.give_back()
            raise
        body = place.serve(
            lambda measured: sse_frames(measured, stream_result, RESUME_HINT),
            items,
            started,
            resumed=bool(call.last_event_id),
        )
        return sse.EventStreamResponse(body, on_close=place.slot.release, on_error=_error_event)

    # -- endpoints ------------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        async def work(route: Route) -> Any:
            params = v1_parse.parse_send(await self._body(request))
            sent = self.service.send(self._call(request, route), params)
            task = await (self._wait(request, sent) if blocking(params) else sent)
            return v1_render.send_result(task)

        return await self._unary(request, work, operation="SendMessage")

    async def stream(self, request: Request) -> Response:
        async def items(route: Route, call: Call) -> Any:
            params = v1_parse.parse_send(await self._body(request))
            return await self.service.stream(call, params)

        return await self._stream(request, items, operation="SendStreamingMessage")

    async def list_tasks(self, request: Request) -> Response:
        async def work(route: Route) -> Any:
            params = v1_parse.parse_list(v1_parse.list_query(request.query_params))
            page = await self.service.list_tasks(self._call(request, route), params)
            return v1_render.task_page(
                page.tasks, page.next_page_token, page.page_size, page.total_size
            )

        return await self._unary(request, work, operation="ListTasks")

    async def task(self, request: Request) -> Response:
        """``GET tasks/{id}``; also ``tasks/{id}:cancel`` and ``:subscribe``, whose paths
        end in a verb after a colon (task ids never hold one)."""
        task_id, _, verb = request.path_params["task"].partition(":")
        if verb == "subscribe":
            return await self._subscribe(request, task_id)
        if verb == "cancel" and request.method == "POST":
            return await self._cancel(request, task_id)
        if verb or request.method != "GET":
            return error_response(
                MethodNotFoundError(f"No operation {request.method} {request.url.path}")
            )

        async def work(route: Route) -> Any:
            query = {**v1_parse.get_query(request.query_params), "id": task_id}
            params = v1_parse.parse_get(query)
            return v1_render.task(await self.service.get(self._call(request, route), params))

        return await self._unary(request, work, operation="GetTask", task_id=task_id)

    async def _cancel(self, request: Request, task_id: str) -> Response:
        async def work(route: Route) -> Any:
            params = v1_parse.parse_cancel({**(await self._body(request)), "id": task_id})
            cancel = self.service.cancel(self._call(request, route), params)
            return v1_render.task(await self._wait(request, cancel))

        return await self._unary(request, work, operation="CancelTask", task_id=task_id)

    async def _subscribe(self, request: Request, task_id: str) -> Response:
        async def items(route: Route, call: Call) -> Any:
            params = v1_parse.parse_subscribe({"id": task_id})
            return await self.service.resubscribe(call, params)

        return await self._stream(request, items, operation="SubscribeToTask", task_id=task_id)

    async def push_configs(self, request: Request) -> Response:
        """``POST`` creates a config, ``GET`` lists them."""
        task_id = request.path_params["task"]
        service = self.service
        if request.method == "POST":

            async def create(route: Route) -> Any:
                body = {**(await self._body(request)), "taskId": task_id}
                params = v1_parse.parse_push_create(body)
                stored = await service.push_set(self._call(request, route), params)
                return v1_render.push_config(stored.task_id, stored.push_notification_config)

            return await self._unary(
                request, create, operation="CreateTaskPushNotificationConfig", task_id=task_id
            )

        async def listed(route: Route) -> Any:
            params = v1_parse.parse_push_list({"taskId": task_id})
            found = await service.push_list(self._call(request, route), params)
            configs = [c.push_notification_config for c in found]
            return v1_render.push_config_list(task_id, configs)

        return await self._unary(
            request, listed, operation="ListTaskPushNotificationConfigs", task_id=task_id
        )

    async def push_config(self, request: Request) -> Response:
        """``GET`` one config, ``DELETE`` it (idempotent; 204)."""
        ids = {"taskId": request.path_params["task"], "id": request.path_params["config"]}
        service = self.service
        if request.method == "DELETE":

            async def delete(route: Route) -> Any:
                params = v1_parse.parse_push_delete(ids)
                await service.push_delete(self._call(request, route), params)

            return await self._unary(
                request,
                delete,
                operation="DeleteTaskPushNotificationConfig",
                task_id=ids["taskId"],
                status=204,
            )

        async def get(route: Route) -> Any:
            stored = await service.push_get(
                self._call(request, route), v1_parse.parse_push_get(ids)
            )
            return v1_render.push_config(stored.task_id, stored.push_notification_config)

        return await self._unary(
            request, get, operation="GetTaskPushNotificationConfig", task_id=ids["taskId"]
        )

    async def extended_card(self, request: Request) -> Response:
        """``GET …/extendedAgentCard``: the agent's extended card for an admitted,
        authenticated caller (``gateway.extended_card``)."""

        async def work(route: Route) -> Any:
            base_url = guards.public_base_url(request, self.settings)
            return self.extended_card_of(request.state.admitted, route, V1, base_url)

        return await self._unary(request, work, operation="GetExtendedAgentCard")

    @staticmethod
    def routes_for(bound: Callable[[str], Any]) -> list[HttpRoute]:
        """The binding's routes under the default agent (no prefix) and each named agent."""
        table = [
            ("/message:send", "send", ["POST"]),
            ("/message:stream", "stream", ["POST"]),
            ("/tasks", "list_tasks", ["GET"]),
            ("/tasks/{task}/pushNotificationConfigs", "push_configs", ["GET", "POST"]),
            ("/tasks/{task}/pushNotificationConfigs/{config}", "push_config", ["GET", "DELETE"]),
            ("/tasks/{task}", "task", ["GET", "POST"]),
            ("/extendedAgentCard", "extended_card", ["GET"]),
        ]
        routes = []
        for prefix in ("", "/agents/{agent}"):
            for path, name, methods in table:
                routes.append(HttpRoute(prefix + path, bound(name), methods=methods))
        return routes


def _error_event(error: Exception) -> bytes:
    """The one event that ends a stream whose items raised: a ``google.rpc.Status``."""
    shown = error if isinstance(error, RPCError) else InternalError()
    _, body = v1_render.rest_error(shown)
    return sse.event(json.dumps(body, separators=(",", ":")))
