"""The audit log: one JSON line per protocol request, on standard output.

Each line holds ``time`` (UTC, ISO 8601, when the request arrived), ``requestId`` (the
Lambda request id when the adapter forwards one, else a fresh UUID; also sent back as
``X-Request-Id``), ``principal`` and ``scheme`` (who called, and how they proved it),
``agent``, ``method`` (the JSON-RPC method, ``batch``, or the HTTP+JSON operation),
``taskId`` (when the request names one), ``version``, ``status`` (HTTP), ``code`` (the
JSON-RPC error code the request was answered with, 0 for a result) and ``durationMs``
(until the response ended: a stream's line is written when the stream closes).

Never in it: a credential, a token, a header value, a message, or anything of a task's
content. Fields a client chose (method, task id) are cut to ``FIELD_LIMIT`` characters;
the JSON encoder escapes control characters, so a hostile value cannot forge a line.

Not protocol requests, so neither audited nor counted: cards, ``/healthz``, ``/metrics``,
``/.well-known/jwks.json`` and the console (``unaudited``). The logger is
``a2a_gateway.audit``; it does not propagate, so the server's own log configuration
neither duplicates nor drops it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from a2a_gateway import metrics as m
from a2a_gateway.logs import CORRELATION_KEYS, correlate

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from a2a_gateway.metrics import Metrics

LOGGER = "a2a_gateway.audit"
FIELD_LIMIT = 128
UNAUDITED_PATHS = frozenset({"/healthz", "/metrics", "/.well-known/jwks.json", "/console"})
"""Health checks, scrapes, the push-notification keys and the console's redirect: polled
or fetched as files, they would drown the log and ``Requests``."""
UNAUDITED_PREFIXES = ("/console/",)
UNAUDITED_SUFFIXES = ("/.well-known/agent.json", "/.well-known/agent-card.json")
"""The cards, the default agent's and each named agent's."""

log = logging.getLogger(LOGGER)


@dataclass
class Record:
    """What one request did; handlers fill it in as they learn it (``record``)."""

    time: str
    request_id: str
    principal: str = ""
    scheme: str = ""
    agent: str = ""
    method: str = ""
    task_id: str = ""
    version: str = ""
    status: int = 0
    code: int = 0
    duration_ms: float = 0.0

    def line(self) -> str:
        """The JSON line, with the field names of the module docstring."""
        fields = {_camel(k): v for k, v in asdict(self).items()}
        return json.dumps(fields, separators=(",", ":"))

    def note(self, **fields: Any) -> None:
        """Set fields, cutting strings a client chose to ``FIELD_LIMIT`` characters; the
        ids among them also go on every log line of the request (``logs.correlate``)."""
        ids: dict[str, str] = {}
        for name, value in fields.items():
            value = value[:FIELD_LIMIT] if isinstance(value, str) else value  # noqa: PLW2901
            setattr(self, name, value)
            if name in CORRELATION_KEYS and isinstance(value, str):
                ids[name] = value
        if ids:
            correlate(**ids)


def record(scope_state: Any) -> Record:
    """The request's record (from ``request.state``); a detached one outside the
    middleware, so handlers never need to check."""
    found = getattr(scope_state, "audit", None)
    return found if isinstance(found, Record) else Record(time="", request_id="")


def configure() -> None:
    """Give the audit logger its handler (once): JSON lines on standard output."""
    if log.handlers:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def unaudited(path: str) -> bool:
    """Whether a request for ``path`` is left out of the log and the metrics."""
    return (
        path in UNAUDITED_PATHS
        or path.startswith(UNAUDITED_PREFIXES)
        or path.endswith(UNAUDITED_SUFFIXES)
    )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-amzn-lambda-context":
            try:
                found = json.loads(value).get("request_id")
            except (ValueError, AttributeError):
                break
            if isinstance(found, str) and 0 < len(found) <= FIELD_LIMIT and found.isprintable():
                return found
            break
    return str(uuid.uuid4())


class AuditMiddleware:
    """Writes one line per audited request when its response has ended, however it ends,
    and counts it in ``metrics`` (requests by status class, errors by JSON-RPC code)."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or unaudited(path):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        entry = Record(time=datetime.now(UTC).isoformat(), request_id=_request_id(scope))
        correlate(request_id=entry.request_id)
        scope.setdefault("state", {})["audit"] = entry
        request_id = entry.request_id.encode()

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            entry.duration_ms = round((time.monotonic() - started) * 1000, 1)
            if entry.status == 0:
                entry.status = 500
            log.info(entry.line())
            if self.metrics is not None:
                self.metrics.record(m.REQUESTS, Status=f"{entry.status // 100}xx")
                if entry.code:
                    self.metrics.record(m.RPC_ERRORS, Code=str(entry.code))
