"""A gateway told to stop drains its streams, over real HTTP against real servers.

On SIGTERM (ECS scale-in, a recycled Lambda environment, a deploy) every open stream ends
within a few seconds with a resume frame (the last ``id:`` and ``retry:``), nothing new is
accepted, and the process exits; each client then resumes on another gateway with
``tasks/resubscribe`` and ``Last-Event-ID`` and loses nothing, repeats nothing.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import events, message, rpc, step_texts

if TYPE_CHECKING:
    from pathlib import Path

    from a2a_gateway_dev.devstack import Stack

STREAMS = 4
STEPS = 10


@dataclass
class Received:
    """What one client saw of its stream: data events with their ids, and raw lines."""

    results: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    ended_at: float = 0.0

    @property
    def task_id(self) -> str:
        task_id: str = self.results[0]["id"]
        return task_id


async def follow(
    client: httpx.AsyncClient, url: str, into: Received, started: asyncio.Event
) -> None:
    """Read one message/stream to its end, keeping every line; ``started`` is set once the
    task has made progress (two steps)."""
    body = rpc("message/stream", message(f"steps={STEPS} interval=0.3"))
    async with client.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        event_id = None
        async for line in response.aiter_lines():
            into.lines.append(line)
            if line.startswith("id:"):
                event_id = line[3:].strip()
            elif line.startswith("data:"):
                into.results.append(json.loads(line[5:])["result"])
                assert event_id is not None
                into.ids.append(event_id)
                event_id = None
                if len(step_texts(into.results)) >= 2:
                    started.set()
    into.ended_at = time.monotonic()


async def test_sigterm_drains_streams_and_clients_resume_elsewhere(
    stack: Stack, worker: None, gateway_url: str, tmp_path: Path
) -> None:
    proc = stack.gateway(free_port(), env={**GATEWAY_ENV, "A2A_DRAIN_SECONDS": "3"})
    proc.name = "gateway-drained"
    url = f"http://127.0.0.1:{proc.port}/agents/progress"
    received = [Received() for _ in range(STREAMS)]
    try:
        proc.start(tmp_path)
        proc.wait_ready(30)
        assert proc.process is not None
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
            progressed = [asyncio.Event() for _ in range(STREAMS)]
            streams = [
                asyncio.create_task(follow(client, url, r, e))
                for r, e in zip(received, progressed, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in progressed)), 20)
            proc.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            late = await client_request_after_signal(client, url)
            await asyncio.wait_for(asyncio.gather(*streams), 10)
            exit_code = await asyncio.to_thread(proc.process.wait, 10)
            exited = time.monotonic()
            assert late in (503, "refused"), f"a stream opened while draining got {late}"

            resumed = []
            for r in received:
                rest = await events(
                    client,
                    gateway_url + "/agents/progress",
                    rpc("tasks/resubscribe", {"id": r.task_id}),
                    headers={"Last-Event-ID": r.ids[-1]},
                )
                resumed.append(rest)
    except subprocess.TimeoutExpired:
        raise AssertionError("the gateway did not exit after SIGTERM") from None
    finally:
        proc.stop()

    assert exit_code in (0, -signal.SIGTERM), exit_code
    assert exited - signalled < 6, "the process exits within A2A_DRAIN_SECONDS and a margin"
    for r, rest in zip(received, resumed, strict=True):
        assert r.ended_at - signalled < 3, "each stream ends within a few seconds"
        assert "retry: 1000" in r.lines, "the stream ended with a resume frame"
        resume_ids = [line[3:].strip() for line in r.lines if line.startswith("id:")]
        assert resume_ids[-1] == r.ids[-1], "the resume frame repeats the last event id"
        assert step_texts(r.results) != [f"step {i}/{STEPS}" for i in range(1, STEPS + 1)], (
            "the stream was cut by the drain, not by the task's end"
        )
        whole = r.results + [f.result for f in rest]
        ids = r.ids + [str(f.id) for f in rest]
        assert step_texts(whole) == [f"step {i}/{STEPS}" for i in range(1, STEPS + 1)]
        assert len(ids) == len(set(ids)), "no event twice"
        assert whole[-1]["status"]["state"] == "completed"
    log = (tmp_path / "gateway-drained.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


async def client_request_after_signal(client: httpx.AsyncClient, url: str) -> int | str:
    """A new stream right after the signal: refused (503 while draining, or the connection
    is no longer accepted), never served."""
    await asyncio.sleep(0.05)
    try:
        response = await client.post(url, json=rpc("message/stream", message("steps=1")))
    except httpx.TransportError:
        return "refused"
    return response.status_code
