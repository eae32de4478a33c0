"""``a2a_gateway.client`` against the real stack: every way a stream ends early (the
gateway's deadline, a drain, a killed gateway, a cut connection, 503 at capacity) is
followed by the client itself, and what it yields is exactly the task's own sequence (its
Redis stream, read at the end): same ids, same events, same order, each once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any, cast

import httpx
import pytest

from a2a_gateway.client import (
    A2AClient,
    A2AError,
    Event,
    Resumed,
    RetryPolicy,
    StreamDeadlineExceeded,
    StreamItem,
)
from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.e2e.sse import message, rpc
from tests.e2e.test_reliability import produced
from tests.interop import envs

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from redis.asyncio import Redis

    from a2a_gateway_dev.devstack import Stack

# Fast retries (the gateway's own Retry-After still applies), bounded by a deadline.
POLICY = RetryPolicy(base=0.05, cap=0.5, max_attempts=20, deadline=30)


class Proxy:
    """A TCP proxy on a free port in the test's event loop: each connection goes to the
    first upstream port that accepts it (a load balancer whose dead targets refuse);
    ``cut()`` drops every open connection at once, mid-stream."""

    def __init__(self, upstreams: list[int]) -> None:
        self.upstreams = upstreams
        self.port = 0
        self.cuts = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for port in self.upstreams:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                continue
        else:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}

    def cut(self) -> None:
        self.cuts += 1
        for writer in list(self._open):
            writer.transport.abort()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        if self._server is not None:
            await self._server.wait_closed()


@pytest.fixture
async def proxies() -> AsyncIterator[Callable[[list[int]], Any]]:
    started: list[Proxy] = []

    async def start(upstreams: list[int]) -> tuple[Proxy, str]:
        proxy = Proxy(upstreams)
        started.append(proxy)
        return proxy, await proxy.start()

    yield start
    for proxy in started:
        await proxy.close()


def port_of(url: str) -> int:
    return httpx.URL(url).port or 80


def status_texts(events: list[Event]) -> list[str]:
    """The text of each event's status message (a task's or an update's), where it has one."""
    texts = []
    for event in events:
        message = cast("dict[str, Any]", event.result).get("status", {}).get("message")
        if isinstance(message, dict) and message.get("parts"):
            texts.append(str(message["parts"][0].get("text", "")))
    return texts


def steps(events: list[Event]) -> list[str]:
    return [
        e.result["status"]["message"]["parts"][0]["text"]
        for e in events
        if e.kind == "status-update" and "message" in e.result["status"]  # type: ignore[typeddict-item]
    ]


async def assert_exact(redis: Redis, items: list[StreamItem], count: int) -> list[Resumed]:
    """The events among ``items`` are the task's whole sequence, each once, in order, every
    step of a ``steps=count`` task and ending completed; returns the resume markers."""
    events = [i for i in items if isinstance(i, Event)]
    task_id = events[0].task_id
    assert task_id is not None
    expected = await produced(redis, task_id)
    assert [(e.id, e.result) for e in events] == expected
    assert steps(events) == [f"step {i}/{count}" for i in range(1, count + 1)]
    assert events[-1].state == "completed" and events[-1].final
    return [i for i in items if isinstance(i, Resumed)]


async def test_client_follows_a_stream_past_the_gateway_deadline(
    start_gateway: Callable[..., str], redis: Redis
) -> None:
    url = start_gateway(A2A_MAX_STREAM_SECONDS="1") + "/agents/progress"
    async with A2AClient(url, retry=POLICY) as client:
        items = [i async for i in client.stream("steps=8 interval=0.3")]
    resumed = await assert_exact(redis, items, 8)
    assert resumed, "the 1 s stream cap ended the stream at least once"
    assert {r.reason for r in resumed} == {"resume-frame"}
    assert all(r.after_id is not None for r in resumed)


async def test_client_follows_the_1_0_dialect_past_the_gateway_deadline(
    start_gateway: Callable[..., str], redis: Redis
) -> None:
    """The same in 1.0's JSON-RPC (SendStreamingMessage, SubscribeToTask with
    Last-Event-ID): every entry of the task's stream once, in order, read back in 0.3's
    shapes; ``auto`` picks 0.3 here, since the gateway's card offers it."""
    url = start_gateway(A2A_MAX_STREAM_SECONDS="1") + "/agents/progress"
    async with A2AClient(url, retry=POLICY, protocol="1.0") as client:
        items = [i async for i in client.stream("steps=8 interval=0.3")]
        task_id = next(i for i in items if isinstance(i, Event)).task_id
        assert task_id is not None
        got = await client.get(task_id)
    events = [i for i in items if isinstance(i, Event)]
    expected = await produced(redis, task_id)
    assert [(e.id, e.kind, e.state) for e in events] == [
        (i, r["kind"], r.get("status", {}).get("state")) for i, r in expected
    ]
    assert steps(events) == [f"step {i}/8" for i in range(1, 9)]
    assert events[-1].final and got["status"]["state"] == "completed"
    assert got["artifacts"][0]["parts"] == [{"kind": "text", "text": "finished 8 steps"}]
    resumed = [i for i in items if isinstance(i, Resumed)]
    assert resumed and {r.reason for r in resumed} == {"resume-frame"}
    async with A2AClient(url, retry=POLICY) as auto:
        assert await auto.dialect() == "0.3"


async def test_client_resumes_across_connection_cuts(
    gateway_url: str, proxies: Callable[[list[int]], Any], redis: Redis
) -> None:
    proxy, base = await proxies([port_of(gateway_url)])
    items: list[StreamItem] = []
    async with A2AClient(base + "/agents/progress", retry=POLICY) as client:
        async for item in client.stream("steps=8 interval=0.15"):
            items.append(item)
            if isinstance(item, Event) and steps([item]) in (["step 2/8"], ["step 5/8"]):
                proxy.cut()  # mid-stream: the client sees an incomplete chunked body
    resumed = await assert_exact(redis, items, 8)
    assert proxy.cuts == 2
    assert len(resumed) == 2
    assert all(r.reason.startswith("disconnected") for r in resumed), resumed


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["drained", "killed"])
async def test_client_resumes_on_another_gateway_when_one_stops(
    how: signal.Signals,
    stack: Stack,
    worker: None,
    gateway_url: str,
    proxies: Callable[[list[int]], Any],
    redis: Redis,
    tmp_path: Path,
) -> None:
    """Behind a balancer: the first gateway is drained (SIGTERM) or killed (SIGKILL) mid-
    stream; the client resumes through the same URL on the other, which keeps serving."""
    proc = stack.gateway(free_port(), env={**GATEWAY_ENV, "A2A_DRAIN_SECONDS": "2"})
    proc.name = "gateway-stopped"
    try:
        proc.start(tmp_path)
        proc.wait_ready(30)
        assert proc.process is not None
        _proxy, base = await proxies([proc.port, port_of(gateway_url)])
        items: list[StreamItem] = []
        signalled = 0.0
        async with A2AClient(base + "/agents/progress", retry=POLICY) as client:
            async for item in client.stream("steps=10 interval=0.2"):
                items.append(item)
                if isinstance(item, Event) and steps([item]) == ["step 3/10"]:
                    proc.process.send_signal(how)
                    signalled = time.monotonic()
        finished = time.monotonic()
        await asyncio.to_thread(proc.process.wait, 10)
    finally:
        proc.stop()
    resumed = await assert_exact(redis, items, 10)
    assert resumed
    # A drain ends the stream with a resume frame; a killed process just drops it.
    cause = "resume-frame" if how == signal.SIGTERM else "disconnected"
    assert resumed[0].reason.startswith(cause), resumed
    assert finished - signalled < 8


async def test_client_waits_out_503_at_capacity(
    start_gateway: Callable[..., str], redis: Redis
) -> None:
    """The only stream slot is held for two seconds; the client is refused (503,
    ``Retry-After: 1``) and gets in by waiting what the server said. Its own backoff could
    not: ten attempts at most 0.05 s apart (half a second in all) would give up
    (``ResumeFailed``) while the slot is still held."""
    url = start_gateway(A2A_MAX_STREAMS="1") + "/agents/progress"
    holding = asyncio.Event()
    impatient = RetryPolicy(base=0.01, cap=0.05, max_attempts=10, deadline=30)

    async def hold() -> None:
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream(
                "POST", url, json=rpc("message/stream", message("steps=4 interval=0.5"))
            ) as response,
        ):
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    holding.set()

    holder = asyncio.create_task(hold())
    try:
        await asyncio.wait_for(holding.wait(), 10)
        async with A2AClient(url, retry=impatient) as client:
            items = [i async for i in client.stream("steps=3 interval=0.05")]
        await holder
    finally:
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holder
    resumed = await assert_exact(redis, items, 3)
    assert isinstance(items[0], Resumed), "refused first, then admitted"
    assert {r.reason for r in resumed} == {"http-503"}
    assert all(r.after_id is None for r in resumed)
    # Refused while the slot was held, a second apart (Retry-After), then admitted: a few
    # attempts, where the backoff alone would have run out of its ten.
    assert 1 <= resumed[0].attempt < impatient.max_attempts


async def test_client_deadline_raises_with_the_last_event_id(gateway_url: str) -> None:
    url = gateway_url + "/agents/progress"
    seen: list[Event] = []
    async with A2AClient(url, retry=POLICY) as client:

        async def follow() -> None:
            async for item in client.stream("steps=10 interval=0.15", deadline=0.6):
                if isinstance(item, Event):
                    seen.append(item)

        with pytest.raises(StreamDeadlineExceeded) as raised:
            await follow()
        assert seen and raised.value.last_event_id == seen[-1].id
        assert raised.value.task_id == seen[0].task_id
        task_id = seen[0].task_id
        assert task_id is not None
        # ... and the caller can pick up exactly where it stopped.
        rest = [
            i
            async for i in client.resubscribe(task_id, last_event_id=raised.value.last_event_id)
            if isinstance(i, Event)
        ]
    assert not {e.id for e in seen} & {e.id for e in rest}
    assert steps(seen + rest) == [f"step {i}/10" for i in range(1, 11)]
    assert rest[-1].state == "completed"


async def test_unary_calls_and_resubscribe(gateway_url: str) -> None:
    async with A2AClient(gateway_url + "/agents/progress") as client:
        card = await client.card()
        assert card["name"]
        done = await client.send("steps=2 interval=0.05")
        assert done["kind"] == "task" and done["status"]["state"] == "completed"
        task_id = done["id"]
        assert (await client.get(task_id))["status"]["state"] == "completed"
        snapshot = [i async for i in client.resubscribe(task_id)]
        assert len(snapshot) == 1 and isinstance(snapshot[0], Event)
        assert snapshot[0].kind == "task" and snapshot[0].final
        running = await client.send("steps=5 interval=5", blocking=False)
        assert running["kind"] == "task"
        canceled = await client.cancel(running["id"])
        assert canceled["status"]["state"] == "canceled"
        with pytest.raises(A2AError) as raised:
            await client.get("no-such-task")
        assert raised.value.code == -32001


@contextlib.contextmanager
def sdk_server(tmp_path: Path, env: envs.Env, script: str) -> Iterator[str]:
    """An official a2a-sdk reference server with a progress agent (``script`` in
    ``tests/interop/clients/``, run in the interop venv ``env``, built if needed); its
    stream events carry no ``id:``. Killed by pid at the end."""
    envs.build([env])
    port = free_port()
    log_path = tmp_path / f"{script}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(env.python), str(envs.CLIENTS_DIR / script), str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/.well-known/agent-card.json", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the a2a-sdk server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait()


async def cut_at_step_3(client: A2AClient, proxy: Proxy, count: int) -> list[StreamItem]:
    """What ``client`` yields for a ``steps=count`` task whose connection ``proxy`` cuts
    right after the third step arrived."""
    items: list[StreamItem] = []
    async for item in client.stream(f"steps={count} interval=0.2"):
        items.append(item)
        if isinstance(item, Event) and steps([item]) == [f"step 3/{count}"]:
            proxy.cut()
    return items


@pytest.mark.timeout(envs.BUILD_TIMEOUT + 120)  # may build the 0.3 venv first
async def test_client_resumes_against_a_server_without_event_ids(
    proxies: Callable[[list[int]], Any], tmp_path: Path
) -> None:
    """Against another A2A server (the official SDK's, which numbers no event), a cut
    stream is resubscribed without ``Last-Event-ID``: the client goes on to the final
    event, in order, yielding no event twice. What the server sent while no connection
    was open is that server's to replay; this one does not, so only order is asserted."""
    with sdk_server(tmp_path, envs.SDK03_ENV, "sdk03_server.py") as url:
        proxy, base = await proxies([port_of(url)])
        async with A2AClient(base + "/", retry=POLICY) as client:
            items = await cut_at_step_3(client, proxy, 12)
    events = [i for i in items if isinstance(i, Event)]
    assert all(e.id is None for e in events)
    assert events[-1].state == "completed" and events[-1].final
    resumed = [i for i in items if isinstance(i, Resumed)]
    assert len(resumed) == 1 and resumed[0].after_id is None, resumed
    assert resumed[0].reason.startswith("disconnected"), resumed
    shown = steps(events)
    numbers = [int(s.split()[1].split("/")[0]) for s in shown]
    assert numbers == sorted(set(numbers)) and numbers[:3] == [1, 2, 3] and numbers[-1] == 12
    canonical = [json.dumps(e.result, sort_keys=True) for e in events]
    assert len(canonical) == len(set(canonical))


@pytest.mark.timeout(envs.BUILD_TIMEOUT + 120)  # may build the 1.x venv first
async def test_client_speaks_1_0_to_a_1_0_only_server(
    proxies: Callable[[list[int]], Any], tmp_path: Path
) -> None:
    """The official a2a-sdk 1.x server speaks only 1.0 and numbers no event: the client
    reads its card, speaks 1.0, and after a cut resubscribes (``SubscribeToTask``), whose
    first answer is the task as it is now; it goes on to the final event, in order, in
    0.3's shapes. ``send`` (returning at once) and ``cancel`` work in 1.0 too."""
    with sdk_server(tmp_path, envs.SDK1_ENV, "sdk1_server.py") as url:
        proxy, base = await proxies([port_of(url)])
        async with A2AClient(base + "/", retry=POLICY) as client:
            items = await cut_at_step_3(client, proxy, 10)
            assert client.protocol == "1.0"
            started = await client.send("steps=100 interval=0.2", blocking=False)
            assert started["kind"] == "task"
            canceled = await client.cancel(started["id"])  # type: ignore[typeddict-item]
            assert canceled["status"]["state"] == "canceled"
    events = [i for i in items if isinstance(i, Event)]
    assert events[0].kind == "task" and events[0].state == "submitted"
    assert events[-1].state == "completed" and events[-1].final
    resumed = [i for i in items if isinstance(i, Resumed)]
    assert len(resumed) == 1 and resumed[0].after_id is None, resumed
    after = items.index(resumed[0]) + 1
    assert isinstance(items[after], Event) and items[after].kind == "task"  # the task as it is
    said = [int(text.split()[1].split("/")[0]) for text in status_texts(events)]
    assert said == sorted(said) and said[-1] == 10 and said[:3] == [1, 2, 3], said
