"""Structured logs: every line one JSON object (Powertools' formatter), with the ids that
tie it to a request or a task.

``configure(service, level)`` sends the root logger and uvicorn's own loggers to standard
output through one handler, so the gateway's, the worker's and uvicorn's lines share one
format (CloudWatch Logs Insights reads their fields as they are). ``correlate(**ids)``
sets the ids of the work in progress (``request_id``, ``principal``, ``agent``,
``method``, ``task_id``) for the current asyncio task and those it starts; every line
logged meanwhile carries them. The audit log (``gateway.audit``) is separate: one line
per request, written by its own handler.
"""

from __future__ import annotations

import contextvars
import logging
import sys

from a2a_gateway import tracing

CORRELATION_KEYS = ("request_id", "principal", "agent", "method", "task_id")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

_ids: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "a2a_log_ids", default=None
)


def correlate(**ids: str) -> None:
    """Add ``ids`` (empty values are left out) to those of the current work."""
    current = dict(_ids.get() or {})
    current.update({k: v for k, v in ids.items() if v})
    _ids.set(current)


def correlation() -> dict[str, str]:
    """The ids of the current work."""
    return dict(_ids.get() or {})


class _Correlated(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_ids.get() or {}).items():
            setattr(record, key, value)
        for key, value in tracing.current_ids().items():  # when tracing is on
            setattr(record, key, value)
        return True


def configure(service: str, level: str = "INFO") -> logging.Handler:
    """JSON lines on standard output for the root logger and uvicorn's (idempotent: a
    second call replaces the handler it installed). Returns the handler."""
    from aws_lambda_powertools.logging.formatter import (  # noqa: PLC0415 - at start-up only
        LambdaPowertoolsFormatter,
    )

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(LambdaPowertoolsFormatter(service=service))
    handler.addFilter(_Correlated())
    handler.set_name("a2a-json")
    root = logging.getLogger()
    _replace(root, handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        _replace(logger, handler)
        logger.propagate = False
    return handler


def _replace(logger: logging.Logger, handler: logging.Handler) -> None:
    """Put ``handler`` in place of this module's earlier one and of plain console handlers
    (uvicorn's, ``basicConfig``'s), which would print each line a second time; handlers
    writing elsewhere (files, pytest's capture) stay."""

    def console(h: logging.Handler) -> bool:
        stream = getattr(h, "stream", None)
        return type(h) is logging.StreamHandler and stream in (sys.stdout, sys.stderr)

    kept = [h for h in logger.handlers if h.get_name() != handler.get_name() and not console(h)]
    logger.handlers = [*kept, handler]
