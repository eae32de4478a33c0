"""OpenTelemetry tracing: one trace per task, from the HTTP request that starts it through
Temporal to each agent turn and each event-log append.

What a task's trace holds (parent first)::

    POST /agents/{agent}               gateway, SERVER (``TracingMiddleware``)
      StartWorkflow:A2ATask            gateway, CLIENT (Temporal's ``TracingInterceptor``)
        RunWorkflow:A2ATask            worker: the workflow's spans are zero-length marks
        StartActivity:run_turn         worker, one per turn
          RunActivity:run_turn         worker, SERVER, one per attempt
            eventlog snapshot          worker, CLIENT (Redis)
            invoke_agent {agent}       worker: the agent turn (gen_ai conventions)
              eventlog append          worker, CLIENT (Redis): one per event
        StartActivity:publish_final    worker: a final status the workflow publishes
          RunActivity:publish_final
            eventlog append
        CompleteWorkflow:A2ATask

A follow-up (``message/send`` with a ``taskId``) has a trace of its own, ending in its
``SignalWorkflow``; the workflow's ``HandleSignal`` and the turn it causes are in the
task's trace (Temporal runs everything of a workflow under the context it was started
with), and ``HandleSignal`` links to the follow-up's span. An incoming W3C ``traceparent``
is continued, so a caller's own trace can include the gateway's.

Switching it on (standard OpenTelemetry environment, read by ``configure``):

- ``OTEL_SDK_DISABLED=true``: off, whatever else is set.
- ``OTEL_TRACES_EXPORTER``: comma-separated ``otlp``, ``console``, ``none``.
- otherwise ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``
  set means ``otlp``; with neither, tracing is off.
- ``OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL``: ``http/protobuf``, the default and the only
  one this package ships an exporter for (collectors, ADOT's included, take it on 4318).
- ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER[_ARG]``,
  ``OTEL_BSP_*``, ``OTEL_EXPORTER_OTLP_HEADERS`` and the rest are the SDK's own.

A tracer provider installed before ``configure`` by someone else (``opentelemetry-
instrument``, the ADOT Lambda layer) is used as it is. Off, nothing of the SDK, the
exporter or the instrumentation is imported: the middleware hands requests straight to
the app, Temporal clients get no interceptor, and ``span`` is a shared null context.

Never recorded: credentials, headers (unless ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*``
asks), principals, messages, artifacts, exception messages (only their type, as
``error.type``; the logs keep the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import TYPE_CHECKING, Any

from a2a_gateway.config import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from opentelemetry.trace import Span, Tracer, TracerProvider
    from opentelemetry.util.types import AttributeValue
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
    from temporalio.client import Client, Interceptor

log = logging.getLogger(__name__)

TRACER_NAME = "a2a_gateway"
UNTRACED_PATHS = frozenset({"/healthz", "/metrics", "/.well-known/jwks.json", "/console"})
UNTRACED_PREFIXES = ("/console/",)
"""Paths without a server span: health checks, Prometheus scrapes, the push-notification
keys and the console's files are polled or fetched, not protocol requests, and would drown
the traces."""

_NULL = contextlib.nullcontext()
_provider: TracerProvider | None = None
_tracer: Tracer | None = None
_configured = False


def configure(service_name: str) -> None:
    """Install a tracer provider exporting as the environment says (module docstring),
    once per process; later calls do nothing. ``service_name`` is the resource's
    ``service.name`` unless ``OTEL_SERVICE_NAME`` is set. Raises ``ConfigError`` for an
    exporter or protocol this process cannot serve."""
    global _configured  # noqa: PLW0603 - one provider per process
    if _configured:
        return
    _configured = True
    exporters = _exporters_from_env(os.environ)
    from opentelemetry import trace  # noqa: PLC0415 - imported only when asked for

    existing = trace.get_tracer_provider()
    if not isinstance(existing, (trace.ProxyTracerProvider, trace.NoOpTracerProvider)):
        log.info("tracing: using the tracer provider already installed")
        use_provider(existing)
        return
    if not exporters:
        return
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(exporter)))
    trace.set_tracer_provider(provider)
    use_provider(provider)
    log.info("tracing: exporting spans (%s)", ", ".join(exporters))


def use_provider(provider: TracerProvider | None) -> None:
    """Trace through ``provider`` from now on (``None``: tracing off). ``configure`` calls
    it; tests call it with a provider of their own, without touching the global one.
    Clients and apps already built keep what they were built with."""
    global _provider, _tracer  # noqa: PLW0603
    _provider = provider
    _tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None


def enabled() -> bool:
    """Whether spans are being recorded (a provider is in use)."""
    return _tracer is not None


def interceptors() -> list[Interceptor]:
    """Temporal's ``TracingInterceptor`` when tracing is on, else nothing. It belongs on
    the client (``Client.connect(interceptors=...)``, or ``traced_client``): workers
    built on that client inherit it, and must not be given it again."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor  # noqa: PLC0415

    return [TracingInterceptor(_provider.get_tracer(TracingInterceptor.__module__))]


def traced_client(client: Client) -> Client:
    """``client`` with ``interceptors()`` added (the same connection), or ``client`` itself
    when tracing is off or it already traces."""
    extra = interceptors()
    if not extra:
        return client
    from temporalio.client import Client  # noqa: PLC0415
    from temporalio.contrib.opentelemetry import TracingInterceptor  # noqa: PLC0415

    config = client.config()
    if any(isinstance(i, TracingInterceptor) for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], *extra]
    return Client(**config)


def span(
    name: str, attributes: Mapping[str, AttributeValue] | None = None, *, client: bool = False
) -> contextlib.AbstractContextManager[Any]:
    """A span around a block, child of the current one (``client``: a call to another
    service, such as Redis). An exception marks it failed with its type only; a
    cancellation does not. Off, a shared null context."""
    if _tracer is None:
        return _NULL
    return _recording(_tracer, name, attributes, client)


def annotate(attributes: Mapping[str, AttributeValue]) -> None:
    """Set attributes on the current span, if tracing is on and one is recording."""
    if _tracer is None:
        return
    from opentelemetry import trace  # noqa: PLC0415

    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(attributes)


def current_ids() -> dict[str, str]:
    """``trace_id`` and ``span_id`` (hex, as OTLP backends show them) of the current span,
    for log lines that link to their trace; empty when tracing is off or nothing records."""
    if _tracer is None:
        return {}
    from opentelemetry import trace  # noqa: PLC0415

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {
        "trace_id": trace.format_trace_id(context.trace_id),
        "span_id": trace.format_span_id(context.span_id),
    }


@contextlib.contextmanager
def _recording(
    tracer: Tracer, name: str, attributes: Mapping[str, AttributeValue] | None, client: bool
) -> Iterator[Span]:
    from opentelemetry.trace import SpanKind, Status, StatusCode  # noqa: PLC0415

    kind = SpanKind.CLIENT if client else SpanKind.INTERNAL
    with tracer.start_as_current_span(
        name,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except asyncio.CancelledError:
            current.set_attribute("a2a.cancelled", True)
            raise
        except Exception as exc:
            current.set_attribute("error.type", _qualified(type(exc)))
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


class TracingMiddleware:
    """ASGI middleware for the server span of each HTTP request, by
    ``opentelemetry-instrumentation-asgi`` (HTTP semantic conventions, ``traceparent``
    continued, no per-message spans, so a long stream is one span). Once the app has
    routed the request the span is named ``{method} {route}`` and gets ``http.route`` and
    what the audit record knows: ``a2a.method``, ``a2a.task_id``, ``a2a.agent``,
    ``a2a.version``, ``a2a.request_id``, ``rpc.jsonrpc.error_code``. A request that
    starts a task gets ``a2a.task_id`` from the runner. Off (decided when the middleware
    stack is built, after ``configure``), it hands requests straight to the app.

    Outermost in the app's middleware list, so the span covers every other middleware
    and sees the audit record they leave in the request's state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._traced = _server_spans(app, _provider) if _provider is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._traced is None or _untraced(scope.get("path", "")):
            await self.app(scope, receive, send)
        else:
            await self._traced(scope, receive, send)


def _untraced(path: str) -> bool:
    return path in UNTRACED_PATHS or path.startswith(UNTRACED_PREFIXES)


def _server_spans(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware  # noqa: PLC0415

    middleware: ASGIApp = OpenTelemetryMiddleware(
        _RequestAttributes(app),
        default_span_details=_method_only,
        tracer_provider=provider,
        exclude_spans=["receive", "send"],
    )
    return middleware


def _method_only(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The span's name until the route is known: the method alone (an unrouted path
    would give the span an unbounded set of names)."""
    return str(scope.get("method") or "HTTP"), {}


class _RequestAttributes:
    """Inside the server span: names it after the route and copies the audit record's
    A2A fields onto it as the response starts and as it ends (the instrumentation ends
    the span with the last body message), or when the app fails without a response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def described(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start" or (
                kind == "http.response.body" and not message.get("more_body", False)
            ):
                _describe_request(scope)
            await send(message)

        try:
            await self.app(scope, receive, described)
        finally:
            _describe_request(scope)  # a no-op once the span has ended


_AUDIT_FIELDS = (
    ("a2a.method", "method"),
    ("a2a.task_id", "task_id"),
    ("a2a.agent", "agent"),
    ("a2a.version", "version"),
    ("a2a.request_id", "request_id"),
)


def _describe_request(scope: Scope) -> None:
    from opentelemetry import trace  # noqa: PLC0415

    current = trace.get_current_span()
    if not current.is_recording():
        return
    route = getattr(scope.get("route"), "path", None)
    if isinstance(route, str) and route:
        current.set_attribute("http.route", route)
        current.update_name(f"{scope.get('method') or 'HTTP'} {route}")
    state = scope.get("state")
    record = state.get("audit") if isinstance(state, dict) else None
    if record is None:
        return
    for attribute, field in _AUDIT_FIELDS:
        value = getattr(record, field, "")
        if isinstance(value, str) and value:
            current.set_attribute(attribute, value)
    code = getattr(record, "code", 0)
    if isinstance(code, int) and code:
        current.set_attribute("rpc.jsonrpc.error_code", code)


def _exporters_from_env(env: Mapping[str, str]) -> list[str]:
    """The exporters the environment asks for (module docstring)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        exporters = [e.strip() for e in named.split(",") if e.strip()]
        unknown = sorted(set(exporters) - {"otlp", "console", "none"})
        if unknown:
            raise ConfigError(
                f"OTEL_TRACES_EXPORTER: {', '.join(unknown)} is not one of otlp, console, none"
            )
        return [] if "none" in exporters else list(dict.fromkeys(exporters))
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return ["otlp"] if endpoint else []


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415

        return ConsoleSpanExporter()
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    raise ConfigError(
        f"OTLP protocol {protocol!r}: only http/protobuf is supported (a collector's port 4318)"
    )


def _qualified(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
