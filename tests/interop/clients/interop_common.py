"""What the Python interop clients share: one JSON line per operation, timings, checks.

Standard library only: every client script runs in its own environment (its own a2a-sdk
line), and each imports this module from its own folder.

Output protocol (stdout, one JSON object per line):

* ``{"client", "version", "operation", "ok", "detail"}`` per operation: ``ok`` is true,
  false, or null when the client line does not have the operation (detail then starts
  with ``not in this version``);
* ``{"client", "created": {...}}`` for ids a cross-version phase hands to the next one.

Authentication (``--auth APIKEY_BASE JWT_BASE``): the credentials come from the
environment (:data:`CREDENTIALS_ENV`, JSON ``{"apikey": ..., "jwt": ...}``); each script
gives them only to its line's own auth hook and reports :data:`AUTH_OPERATIONS`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

# What every client line is asked to do (a line that cannot says why: harness.LINES).
OPERATIONS = (
    "card",
    "send",
    "stream",
    "get",
    "cancel",
    "resubscribe",
    "multi-turn",
    "push-set",
    "push-get",
    "push-list",
    "push-delete",
    "list-tasks",
)

# Against the gateways that refuse anonymous callers (``A2A_AUTH=apikey``, ``=jwt``), each
# line authenticating through its own auth hook; reported by the ``--auth`` run.
AUTH_OPERATIONS = ("auth-apikey", "auth-jwt")
CREDENTIALS_ENV = "A2A_INTEROP_CREDENTIALS"
# What each mode's card must declare, and the header the hook must then send.
API_KEY_HEADER = "X-API-Key"
AUTH_STREAM_STEPS, AUTH_STREAM_INTERVAL = 4, 0.25

NOT_IN_VERSION = "not in this version"
OPERATION_TIMEOUT = 45.0

# The workloads, the same for every client line.
ECHO_TEXT = "interop echo works"
STREAM_STEPS, STREAM_INTERVAL = 5, 0.4
LONG_TASK = "steps=60 interval=0.25"  # about 15 s: cancelled long before its end
RESUBSCRIBE_STEPS, RESUBSCRIBE_INTERVAL = 6, 0.3
ASK_ROUNDS = 2
PUSH_URL = "http://127.0.0.1:9/a2a-interop-push"  # never called: delivery is off


class Failed(Exception):
    """An operation's outcome is not what the protocol promises."""


class Absent(Exception):
    """The client line has no such operation."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise Failed(message)


def agent_urls(base: str) -> dict[str, str]:
    """The agent URLs as the gateway publishes them (a trailing slash on each)."""
    base = base.rstrip("/")
    return {
        "echo": f"{base}/",
        "progress": f"{base}/agents/progress/",
        "ask": f"{base}/agents/ask/",
    }


class Arrivals:
    """Arrival times of a stream's events, relative to the request."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.events: list[tuple[float, str]] = []

    def mark(self, kind: str) -> None:
        self.events.append((time.monotonic() - self.start, kind))

    def first_before_last_by(self, seconds: float) -> None:
        """Events arrived live: the first at least ``seconds`` before the last."""
        expect(len(self.events) >= 2, f"only {len(self.events)} event(s): {self.summary()}")
        first, last = self.events[0][0], self.events[-1][0]
        expect(
            last - first >= seconds,
            f"events not live: first at {first:.2f} s, last at {last:.2f} s "
            f"(expected a spread of at least {seconds:.2f} s): {self.summary()}",
        )

    def summary(self) -> str:
        if not self.events:
            return "no events"
        kinds = ",".join(kind for _, kind in self.events)
        return (
            f"{len(self.events)} events [{kinds}] first at {self.events[0][0]:.2f} s, "
            f"last at {self.events[-1][0]:.2f} s"
        )


class Report:
    """Runs operations, each under a timeout, and prints one JSON line for each."""

    def __init__(self, client: str, version: str) -> None:
        self.client = client
        self.version = version
        self.state: dict[str, Any] = {}

    def emit(self, operation: str, ok: bool | None, detail: str) -> None:
        line = {
            "client": self.client,
            "version": self.version,
            "operation": operation,
            "ok": ok,
            "detail": detail,
        }
        print(json.dumps(line), flush=True)

    def created(self, ids: dict[str, str]) -> None:
        print(json.dumps({"client": self.client, "created": ids}), flush=True)

    def absent(self, operation: str, why: str) -> None:
        self.emit(operation, None, f"{NOT_IN_VERSION}: {why}")

    async def run(
        self,
        operation: str,
        body: Callable[[], Awaitable[str]],
        timeout: float = OPERATION_TIMEOUT,
    ) -> bool:
        started = time.monotonic()
        try:
            detail = await asyncio.wait_for(body(), timeout)
        except Absent as exc:
            self.absent(operation, str(exc))
            return False
        except Failed as exc:
            ok, detail = False, str(exc)
        except TimeoutError:
            ok, detail = False, f"timed out after {timeout:.0f} s"
        except Exception as exc:  # any client error is this operation's failure
            ok, detail = False, describe(exc)
        else:
            ok = True
        self.emit(operation, ok, f"{detail} ({time.monotonic() - started:.2f} s)")
        return ok

    def needs(self, key: str) -> Any:
        if key not in self.state:
            raise Failed(f"needs the result of an earlier operation ({key}), which failed")
        return self.state[key]


def describe(exc: BaseException) -> str:
    """An exception as one line, with its causes (SDK errors often wrap the real one)."""
    parts = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 4:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    text = " <- ".join(parts)
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = frames[-1]
        text += f" [at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}]"
    return text[:2000]


def cli(argv: list[str]) -> tuple[str, list[str]]:
    """``(mode, arguments)``: ``BASE PUSH_BASE`` runs the suite; ``--cross-...`` modes run a
    step of the cross-version scenario."""
    if len(argv) >= 2 and argv[1].startswith("--"):
        return argv[1][2:], argv[2:]
    return "main", argv[1:]


def credentials() -> dict[str, str]:
    """The credentials the harness handed over: ``{"apikey": key, "jwt": token}``."""
    raw = os.environ.get(CREDENTIALS_ENV)
    if not raw:
        die(f"{CREDENTIALS_ENV} is not set")
    found = json.loads(str(raw))
    if not isinstance(found, dict) or set(found) != {"apikey", "jwt"}:
        die(f"{CREDENTIALS_ENV} must be a JSON object with apikey and jwt")
    return {str(k): str(v) for k, v in found.items()}


def refused(exc: BaseException) -> bool:
    """Whether a client error, or one it wraps, carries the gateway's HTTP 401 (as a
    ``status_code``, or an httpx error's ``response``)."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if 401 in (getattr(seen, "status_code", None), getattr(response, "status_code", None)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def die(message: str) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(2)
