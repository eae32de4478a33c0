"""Seeded fault injection: each scenario runs several times with cut points drawn from a
seeded RNG, and asserts that the sequence of events a client assembled (across cuts and
resumes) is exactly the sequence the task produced: its Redis stream, read at the end.
Zero lost, zero duplicated, same order, same bytes.

``A2A_FAULT_SEED`` reproduces a run; ``A2A_FAULT_RUNS`` multiplies the runs (``make soak``).
Each test adds its counts to ``.run/reliability.json`` for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from redis.asyncio import Redis

from a2a_gateway_dev.devstack import Managed, free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import frames, message, rpc
from tests.e2e.test_faults import durable_valkey
from tests.e2e.test_worker_restart import routes_file

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from a2a_gateway_dev.devstack import Stack

SEED = int(os.environ.get("A2A_FAULT_SEED", "20261124"))
SCALE = int(os.environ.get("A2A_FAULT_RUNS", "1"))
REPORT = Path(os.environ.get("A2A_FAULT_REPORT", ".run/reliability.json"))

Event = tuple[str, dict[str, Any]]


def record(scenario: str, runs: int, events: int, lost: int, duplicated: int) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    data[scenario] = {
        "seed": SEED,
        "runs": runs,
        "events": events,
        "lost": lost,
        "duplicated": duplicated,
    }
    REPORT.write_text(json.dumps(data, indent=2))


async def produced(redis: Redis, task_id: str, principal: str = "anonymous") -> list[Event]:
    """The task's own sequence: every entry of its Redis stream, in order (``principal``
    as in the key, a glob pattern)."""
    (key,) = await redis.keys(f"a2a:*:events:{principal}:{task_id}")
    return [
        (entry_id.decode(), json.loads(fields[b"e"]))
        for entry_id, fields in await redis.xrange(key)
    ]


def compare(assembled: list[Event], expected: list[Event]) -> tuple[int, int]:
    """(lost, duplicated), after asserting the exact sequence."""
    ids = [i for i, _ in assembled]
    duplicated = len(ids) - len(set(ids))
    lost = len({i for i, _ in expected} - set(ids))
    assert assembled == expected, (lost, duplicated)
    return lost, duplicated


async def assemble(
    client: httpx.AsyncClient,
    url: str,
    first: dict[str, Any],
    cut: Callable[[int], bool],
    between: Callable[[], Awaitable[None]] | None = None,
    headers: dict[str, str] | None = None,
) -> list[Event]:
    """Stream ``first``; whenever ``cut(n)`` says so after the n-th event of a connection,
    drop it and resubscribe with Last-Event-ID. Returns every (id, result) received, in
    order, until the final event."""
    assembled: list[Event] = []
    request, headers, task_id = first, headers or {}, None
    for _connection in range(200):
        count = 0
        try:
            async for frame in frames(client, url, request, headers):
                if frame.comment is not None:
                    continue
                if frame.data is None:  # resume marker (deadline or overflow): reconnect
                    break
                result = frame.result
                task_id = task_id or result.get("id") or result.get("taskId")
                assembled.append((str(frame.id), result))
                count += 1
                if result.get("final") is True:
                    return assembled
                if cut(count):
                    break
        except httpx.HTTPError:
            pass  # the server side died under us: resume elsewhere or later
        if between is not None:
            await between()
        request = rpc("tasks/resubscribe", {"id": task_id})
        headers = {"Last-Event-ID": assembled[-1][0]}
    raise AssertionError("the task never reached a final event")


@pytest.fixture
async def client() -> httpx.AsyncClient:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        yield http  # type: ignore[misc]


async def test_client_cuts_at_random_points(
    client: httpx.AsyncClient, gateway_url: str, redis: Redis
) -> None:
    rng = random.Random(SEED)
    runs, events, lost, duplicated = 12 * SCALE, 0, 0, 0
    for _ in range(runs):
        agent = rng.choice(["", "/agents/progress"])
        text = "a b c d e f g h i j" if not agent else f"steps={rng.randint(3, 8)} interval=0.02"
        assembled = await assemble(
            client,
            gateway_url + agent,
            rpc("message/stream", message(text)),
            cut=lambda n: rng.random() < 0.35,
        )
        expected = await produced(redis, assembled[0][1]["id"])
        one_lost, one_duplicated = compare(assembled, expected)
        events, lost, duplicated = (
            events + len(expected),
            lost + one_lost,
            duplicated + one_duplicated,
        )
    record("client connection cut at random points", runs, events, lost, duplicated)


async def stalled_stream(port: int, path: str, body: dict[str, Any], stall: float) -> bytes:
    """POST ``body`` from a socket with a tiny receive buffer, read nothing for ``stall``
    seconds (so the server's writes back up), then read the whole response body."""
    loop = asyncio.get_running_loop()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        await loop.sock_sendall(sock, head.encode() + payload)
        await asyncio.sleep(stall)
        received = []
        while data := await loop.sock_recv(sock, 65536):
            received.append(data)
    _, _, chunked = b"".join(received).partition(b"\r\n\r\n")
    content = b""
    while chunked:
        size_line, _, rest = chunked.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        content, chunked = content + rest[:size], rest[size + 2 :]
    return content


def sse_events(content: bytes) -> tuple[list[Event], list[str]]:
    """(events with data, ids of data-less resume markers) of an SSE body."""
    events: list[Event] = []
    markers: list[str] = []
    for block in content.decode().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "data" in fields:
            events.append((fields["id"], json.loads(fields["data"])["result"]))
        elif "id" in fields:
            markers.append(fields["id"])
    return events, markers


async def test_stalled_client_gets_everything_from_bounded_buffers(
    start_gateway: Callable[..., str], redis: Redis
) -> None:
    """The client stops reading while ~1000 events are produced, so the server's writes
    back up (tiny receive buffer) and its 4-entry queue overflows; the hub then serves it
    from Redis at its own pace: one connection, every event, nothing cut."""
    rng = random.Random(SEED + 1)
    base = start_gateway(A2A_SUBSCRIBER_QUEUE="4")
    port = int(base.rsplit(":", 1)[1])
    runs, events = 2 * SCALE, 0
    for _ in range(runs):
        steps = rng.randint(800, 1200)
        body = rpc("message/stream", message(f"steps={steps} interval=0"))
        received, markers = sse_events(await stalled_stream(port, "/agents/progress", body, 2.0))
        assert markers == []
        assert received[-1][1]["status"]["state"] == "completed"
        expected = await produced(redis, received[0][1]["id"])
        compare(received, expected)
        events += len(expected)
    record("client stalls while ~1000 events are produced (4-event queue)", runs, events, 0, 0)


async def test_worker_killed_at_random_points(stack: Stack, tmp_path: Path, redis: Redis) -> None:
    rng = random.Random(SEED + 2)
    env = {**GATEWAY_ENV, "A2A_ROUTES_FILE": str(routes_file(tmp_path, f"rel-{uuid.uuid4()}"))}
    gateway = stack.gateway(free_port(), env=env)
    workers: list[Managed] = []
    runs, events = 3 * SCALE, 0

    def new_worker() -> Managed:
        proc = stack.worker(env, name=f"worker-{len(workers)}")
        workers.append(proc)
        proc.start(tmp_path)
        return proc

    try:
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        current = new_worker()
        url = f"http://127.0.0.1:{gateway.port}/agents/progress"
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
            for _ in range(runs):
                kill_at = rng.randint(2, 6)

                def cut(n: int, kill_at: int = kill_at) -> bool:
                    nonlocal current
                    if n == kill_at and current.alive():
                        current.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
                        current.process.wait()  # type: ignore[union-attr]
                        current = new_worker()
                    return False

                assembled = await assemble(
                    client, url, rpc("message/stream", message("steps=8 interval=0.2")), cut
                )
                expected = await produced(redis, assembled[0][1]["id"])
                compare(assembled, expected)
                events += len(expected)
    finally:
        for proc in [*workers, gateway]:
            proc.stop()
    assert len(workers) == runs + 1
    record("worker killed (SIGKILL) mid-task", runs, events, 0, 0)


async def test_gateway_killed_at_random_points(
    stack: Stack, worker: None, tmp_path: Path, redis: Redis
) -> None:
    rng = random.Random(SEED + 3)
    gateways: list[Managed] = []
    runs, events = 3 * SCALE, 0

    def new_gateway() -> Managed:
        proc = stack.gateway(free_port(), env=GATEWAY_ENV)
        proc.name = f"gateway-{len(gateways)}"
        gateways.append(proc)
        proc.start(tmp_path)
        proc.wait_ready(30)
        return proc

    try:
        current = new_gateway()
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
            for _ in range(runs):
                kill_at = rng.randint(2, 6)
                urls = {"now": f"http://127.0.0.1:{current.port}/agents/progress"}

                def cut(n: int, kill_at: int = kill_at) -> bool:
                    if n == kill_at:
                        current.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
                        current.process.wait()  # type: ignore[union-attr]
                        return True
                    return False

                async def between(urls: dict[str, str] = urls) -> None:
                    nonlocal current
                    if not current.alive():
                        current = new_gateway()
                        urls["now"] = f"http://127.0.0.1:{current.port}/agents/progress"

                body = rpc("message/stream", message("steps=8 interval=0.1"))
                assembled = await assemble_moving(client, urls, body, cut, between)
                expected = await produced(redis, assembled[0][1]["id"])
                compare(assembled, expected)
                events += len(expected)
    finally:
        for proc in gateways:
            proc.stop()
    record("gateway killed (SIGKILL) mid-stream; another resumes", runs, events, 0, 0)


async def assemble_moving(
    client: httpx.AsyncClient,
    urls: dict[str, str],
    first: dict[str, Any],
    cut: Callable[[int], bool],
    between: Callable[[], Awaitable[None]],
) -> list[Event]:
    """``assemble`` where the URL may change between connections (a new gateway)."""
    assembled: list[Event] = []
    request: dict[str, Any] = first
    headers: dict[str, str] = {}
    for _connection in range(50):
        count = 0
        try:
            async for frame in frames(client, urls["now"], request, headers):
                if frame.comment is not None or frame.data is None:
                    continue
                assembled.append((str(frame.id), frame.result))
                count += 1
                if frame.result.get("final") is True:
                    return assembled
                if cut(count):
                    break
        except httpx.HTTPError:
            pass
        await between()
        request = rpc("tasks/resubscribe", {"id": assembled[0][1]["id"]})
        headers = {"Last-Event-ID": assembled[-1][0]}
    raise AssertionError("the task never reached a final event")


async def test_cache_restarted_at_random_points(stack: Stack, tmp_path: Path) -> None:
    rng = random.Random(SEED + 4)
    port = free_port()
    env = {
        **GATEWAY_ENV,
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "A2A_ROUTES_FILE": str(routes_file(tmp_path, f"cache-{uuid.uuid4()}")),
    }
    caches = [durable_valkey(port, tmp_path)]
    worker = stack.worker(env, name="worker-cache")
    gateway = stack.gateway(free_port(), env=env)
    runs, events = 3 * SCALE, 0
    try:
        caches[0].start(tmp_path)
        caches[0].wait_ready(20)
        worker.start(tmp_path)
        gateway.start(tmp_path)
        gateway.wait_ready(30)
        url = f"http://127.0.0.1:{gateway.port}/agents/progress"
        async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
            for _ in range(runs):
                restart_at = rng.randint(2, 6)

                def cut(n: int, restart_at: int = restart_at, done: list[bool] = []) -> bool:  # noqa: B006
                    if n == restart_at and not done:
                        done.append(True)
                        caches[-1].stop()
                        fresh = durable_valkey(port, tmp_path)
                        caches.append(fresh)
                        fresh.start(tmp_path)
                        fresh.wait_ready(20)
                    return False

                assembled = await assemble(
                    client, url, rpc("message/stream", message("steps=8 interval=0.2")), cut
                )
                private = Redis.from_url(env["REDIS_URL"])
                expected = await produced(private, assembled[0][1]["id"])
                await private.aclose()
                compare(assembled, expected)
                events += len(expected)
    finally:
        gateway.stop()
        worker.stop()
        for cache in caches:
            cache.stop()
    record("cache (Valkey) restarted mid-task", runs, events, 0, 0)
