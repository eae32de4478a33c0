"""Fault injection on the real stack: the cache restarts mid-task and nothing is lost."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

import httpx

from a2a_gateway_dev.devstack import Managed, free_port, valkey_binary
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import Frame, frames, kinds, message, rpc, step_texts
from tests.e2e.test_worker_restart import routes_file

if TYPE_CHECKING:
    from pathlib import Path

    from a2a_gateway_dev.devstack import Stack


def durable_valkey(port: int, directory: Path) -> Managed:
    """A Valkey that writes every command to its append-only file before answering."""
    argv = [valkey_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(directory)]
    return Managed(f"valkey-{uuid.uuid4().hex[:6]}", argv, port=port)


async def test_cache_restart_mid_stream_loses_and_repeats_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    cache = durable_valkey(port, tmp_path)
    env = {
        **GATEWAY_ENV,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "A2A_ROUTES_FILE": str(routes_file(tmp_path, f"faults-{uuid.uuid4()}")),
    }
    worker = stack.worker(env, name="worker-faults")
    gateway = stack.gateway(free_port(), env=env)
    restarted = durable_valkey(port, tmp_path)
    started = [cache, worker, gateway]
    received: list[Frame] = []
    comments: list[str] = []
    try:
        cache.start(tmp_path)
        cache.wait_ready(20)
        worker.start(tmp_path)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        url = f"http://127.0.0.1:{gateway.port}/agents/progress"
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
            stream = frames(client, url, rpc("message/stream", message("steps=6 interval=0.4")))
            async for frame in stream:
                if frame.comment is not None:
                    comments.append(frame.comment)
                    continue
                received.append(frame)
                status = frame.result.get("status", {})
                if status.get("message", {}).get("parts", [{}])[0].get("text") == "step 2/6":
                    cache.stop()
                    await asyncio.sleep(1.0)
                    started.append(restarted)
                    restarted.start(tmp_path)
                    restarted.wait_ready(20)
    finally:
        for proc in reversed(started):
            proc.stop()

    assert "keep-alive" in comments, "the stream stayed open through the outage"
    assert kinds(received)[-1] == "status:completed"
    steps = step_texts([f.result for f in received])
    assert steps == [f"step {i}/6" for i in range(1, 7)]
    ids = [f.id for f in received]
    assert len(ids) == len(set(ids))


async def test_gateway_killed_mid_stream_another_instance_resumes(
    stack: Stack, worker: None, tmp_path: Path
) -> None:
    first = stack.gateway(free_port(), env=GATEWAY_ENV)
    first.name = "gateway-killed"
    second = stack.gateway(free_port(), env=GATEWAY_ENV)
    second.name = "gateway-survivor"
    received: list[Frame] = []
    try:
        for proc in (first, second):
            proc.start(tmp_path)
            proc.wait_ready(30)
        body = rpc("message/stream", message("steps=5 interval=0.3"))
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
            try:
                async for frame in frames(
                    client, f"http://127.0.0.1:{first.port}/agents/progress", body
                ):
                    if frame.comment is None:
                        received.append(frame)
                    if len(received) == 3:
                        first.process.kill()  # type: ignore[union-attr]
            except httpx.HTTPError:
                pass  # the connection died with the gateway
            assert first.process is not None and first.process.wait(5) == -9
            cut = len(received)
            resumed = [
                f
                async for f in frames(
                    client,
                    f"http://127.0.0.1:{second.port}/agents/progress",
                    rpc("tasks/resubscribe", {"id": received[0].result["id"]}),
                    headers={"Last-Event-ID": str(received[-1].id)},
                )
                if f.comment is None
            ]
    finally:
        first.stop()
        second.stop()
    assert cut >= 3
    whole = received + resumed
    assert kinds(whole)[-1] == "status:completed"
    steps = step_texts([f.result for f in whole])
    assert steps == [f"step {i}/5" for i in range(1, 6)]
    assert len({f.id for f in whole}) == len(whole)


async def test_with_the_cache_down_limits_are_refused_not_skipped(
    stack: Stack, tmp_path: Path
) -> None:
    """Per-principal limits live in Redis: while it is down a request cannot be counted, so
    it is refused with 503 and Retry-After (never let through unchecked, never a 500 or a
    traceback); when it is back, requests are admitted again."""
    port = free_port()
    cache = durable_valkey(port, tmp_path)
    env = {**GATEWAY_ENV, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    gateway = stack.gateway(free_port(), env=env)
    gateway.name = "gateway-cacheless"
    restarted = durable_valkey(port, tmp_path)
    started = [cache, gateway]
    try:
        cache.start(tmp_path)
        cache.wait_ready(20)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        url = f"http://127.0.0.1:{gateway.port}/"
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
            body = rpc("tasks/get", {"id": "nope"})
            assert (await client.post(url, json=body)).json()["error"]["code"] == -32001
            cache.stop()
            for request in (
                client.post(url, json=body),
                client.post(url, json=rpc("message/stream", message("hi"))),
                client.get(url + "tasks/nope"),
            ):
                refused = await request
                assert refused.status_code == 503, refused.text
                assert refused.headers["retry-after"] == "1"
            started.append(restarted)
            restarted.start(tmp_path)
            restarted.wait_ready(20)
            for _ in range(50):
                again = await client.post(url, json=body)
                if again.status_code == 200:
                    break
                await asyncio.sleep(0.2)
            assert again.json()["error"]["code"] == -32001
    finally:
        for proc in reversed(started):
            proc.stop()
    log = (tmp_path / "gateway-cacheless.log").read_text()
    assert "Traceback" not in log
