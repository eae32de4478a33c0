"""The push sender Lambda, run by the push state machine (``statemachine/push.asl.json``).

All the code is ``src/a2a_gateway/push/sender.py`` (its docstring has the input contract),
which the Makefile copies beside this file as ``sender.py``: the package is these two
files and the standard library. In a checkout the same module comes from the installed
``a2a_gateway``. Errors are ``PushRejected`` (never retried) and ``PushDeliveryFailed``
(retried), which the state machine matches by name.
"""

from __future__ import annotations

import logging
from typing import Any

try:  # the Lambda package: sender.py beside this file
    from sender import PushDeliveryFailed, PushRejected, Sender
except ModuleNotFoundError:  # a checkout, with a2a-gateway installed
    from a2a_gateway.push.sender import PushDeliveryFailed, PushRejected, Sender

__all__ = ["SENDER", "PushDeliveryFailed", "PushRejected", "Sender", "handler"]

logging.getLogger().setLevel(logging.INFO)

SENDER = Sender.from_env()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deliver one notification; raise ``PushRejected`` or ``PushDeliveryFailed`` otherwise."""
    return SENDER.send(event)
