"""The floor: a bare uvicorn + Starlette SSE endpoint that relays a counter.

No Redis, no JSON-RPC, no validation: what any SSE server on this stack costs at least.
``GET /sse?steps=N&interval=S&run=R`` sends a hello event at once, waits for
``POST /bench/go?run=R`` (the runner's start signal), then sends N counter events shaped
like status updates (with ``status.timestamp`` stamped when each is produced) and a
final one, paced ``interval`` seconds apart from a random phase (0: as fast as possible).
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request

MAX_WAIT_SECONDS = 900.0


class Signals:
    """Start signals by run id: ``go`` releases the run, ``abort`` ends it quietly."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}
        self.aborted: set[str] = set()

    def event(self, run: str) -> asyncio.Event:
        return self.events.setdefault(run, asyncio.Event())

    async def wait(self, run: str) -> bool:
        """Wait for the run's signal; False when it was aborted or never came."""
        try:
            await asyncio.wait_for(self.event(run).wait(), MAX_WAIT_SECONDS)
        except TimeoutError:
            return False
        return run not in self.aborted

    def fire(self, run: str, *, abort: bool = False) -> None:
        if abort:
            self.aborted.add(run)
        self.event(run).set()


async def paced(steps: int, interval: float) -> AsyncIterator[int]:
    """1..steps, ``interval`` apart from a random phase (back to back when 0)."""
    if interval <= 0:
        for step in range(1, steps + 1):
            yield step
            await asyncio.sleep(0)
        return
    begin = time.monotonic() + random.uniform(0, interval)
    for step in range(1, steps + 1):
        delay = begin + (step - 1) * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        yield step


def frame(n: int, final: bool) -> bytes:
    stamp = datetime.now(UTC).isoformat()
    data = (
        f'{{"kind":"status-update","n":{n},"status":{{"state":"working",'
        f'"timestamp":"{stamp}"}},"final":{"true" if final else "false"}}}'
    )
    return f"id: {n}\ndata: {data}\n\n".encode()


def create_app() -> Starlette:
    signals = Signals()

    async def sse(request: Request) -> Response:
        steps = int(request.query_params.get("steps", "5"))
        interval = float(request.query_params.get("interval", "1"))
        run = request.query_params.get("run", "")

        async def frames() -> AsyncIterator[bytes]:
            yield b'id: 0\ndata: {"kind":"hello"}\n\n'
            if run and not await signals.wait(run):
                yield frame(0, True)
                return
            async for step in paced(steps, interval):
                yield frame(step, False)
            yield frame(steps + 1, True)

        return StreamingResponse(
            frames(), media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    async def go(request: Request) -> Response:
        signals.fire(request.query_params["run"], abort="abort" in request.query_params)
        return Response(status_code=204)

    return Starlette(
        routes=[Route("/sse", sse, methods=["GET"]), Route("/bench/go", go, methods=["POST"])]
    )
