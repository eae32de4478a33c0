"""A worker killed mid-task loses nothing: Temporal retries the turn on a new worker, the
idempotent append drops what was already published, and the reader sees each event once."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import httpx

from a2a_gateway.routing import builtin
from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV, routes_with_limits
from tests.e2e.sse import Frame, frames, kinds, message, rpc, step_texts

if TYPE_CHECKING:
    from pathlib import Path

    from a2a_gateway_dev.devstack import Stack


def routes_file(directory: Path, queue: str) -> Path:
    """The built-in routes with every agent on ``queue`` (so only our worker serves it)."""
    agents = [
        {"name": r.name, "entrypoint": r.entrypoint, "taskQueue": queue}
        for r in builtin().routes.values()
    ]
    path = directory / f"routes-{queue}.json"
    path.write_text(routes_with_limits({"default": "echo", "agents": agents}))
    return path


async def test_worker_killed_mid_task_task_completes_without_duplicates(
    stack: Stack, tmp_path: Path
) -> None:
    env = {**GATEWAY_ENV, "A2A_ROUTES_FILE": str(routes_file(tmp_path, f"restart-{uuid.uuid4()}"))}
    first_worker = stack.worker(env, name="worker-killed")
    second_worker = stack.worker(env, name="worker-second")
    gateway = stack.gateway(free_port(), env=env)
    started = [first_worker, gateway]
    try:
        first_worker.start(tmp_path)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        url = f"http://127.0.0.1:{gateway.port}/agents/progress"
        received: list[Frame] = []
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
            stream = frames(client, url, rpc("message/stream", message("steps=6 interval=0.4")))
            async for frame in stream:
                if frame.comment is not None:
                    continue
                received.append(frame)
                status = frame.result.get("status", {})
                if status.get("message", {}).get("parts", [{}])[0].get("text") == "step 2/6":
                    first_worker.process.kill()  # type: ignore[union-attr]
                    first_worker.process.wait()  # type: ignore[union-attr]
                    started.append(second_worker)
                    second_worker.start(tmp_path)
    finally:
        for proc in reversed(started):
            proc.stop()

    assert first_worker.process is not None and first_worker.process.returncode == -9
    assert kinds(received)[-1] == "status:completed"
    steps = step_texts([f.result for f in received])
    assert steps == [f"step {i}/6" for i in range(1, 7)]
    ids = [f.id for f in received]
    assert len(ids) == len(set(ids))
    assert kinds(received).count("status:working") == 1 + 6
    assert kinds(received).count("artifact-update") == 1
