"""When a stream must end: a margin before the Lambda invocation's deadline, or after the
configured maximum stream duration, whichever comes first.

The AWS Lambda Web Adapter forwards the invocation context as JSON in the
``x-amzn-lambda-context`` header; its ``deadline`` is epoch milliseconds. Ending the stream
ourselves, cleanly and with the resume position, beats being cut off by Lambda mid-event.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from a2a_gateway.config import Settings

LAMBDA_CONTEXT_HEADER = "x-amzn-lambda-context"


def lambda_deadline_epoch(headers: Mapping[str, str]) -> float | None:
    """The invocation deadline (epoch seconds) from the adapter's header, if present."""
    raw = headers.get(LAMBDA_CONTEXT_HEADER)
    if not raw:
        return None
    try:
        context = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(context, dict):
        return None
    value = context.get("deadline", context.get("deadline_ms"))
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value) / 1000.0
    return None


def stream_deadline(headers: Mapping[str, str], settings: Settings) -> float | None:
    """The ``time.monotonic()`` instant by which a stream opened now must have ended."""
    budgets: list[float] = []
    lambda_deadline = lambda_deadline_epoch(headers)
    if lambda_deadline is not None:
        budgets.append(lambda_deadline - time.time() - settings.deadline_margin_seconds)
    if settings.max_stream_seconds > 0:
        budgets.append(settings.max_stream_seconds)
    if not budgets:
        return None
    return time.monotonic() + max(0.0, min(budgets))
