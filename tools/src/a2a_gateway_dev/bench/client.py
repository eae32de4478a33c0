"""The load client: raw HTTP/1.1 over asyncio streams, one or more per benchmark step.

Each client process opens its share of the streams (at most ``open_concurrency`` still
waiting for their first event at a time), tells the runner when every stream has shown
its first event, then reads until every stream has ended (or, in ``idle`` mode, until
the runner says stop). It parses only what it measures: SSE ``data:`` lines, the
``status.timestamp`` of status updates (append-to-client latency = receipt time minus
that stamp, both from this machine's clock) and ``"final":true``. It reports its own
CPU time so the runner can show that the client was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

STATUS_MARK = b'"kind":"status-update"'
TIMESTAMP_MARK = b'"timestamp":"'
FINAL_MARK = b'"final":true'
ERROR_MARK = b'"error":{'
READ_SIZE = 65536


@dataclass(frozen=True)
class StreamSpec:
    """One HTTP request that answers with an event stream."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def request(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"host: {host}:{port}"]
        lines += ["accept: text/event-stream", "connection: close"]
        if self.method == "POST":
            lines += ["content-type: application/json", f"content-length: {len(self.body)}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class ClientJob:
    """What one client process does. ``mode``: ``first`` closes each stream after its
    first event; ``follow`` reads every stream to its end; ``idle`` holds the streams
    open until the runner sends ``stop``."""

    host: str
    port: int
    specs: list[StreamSpec]
    mode: str = "follow"
    open_concurrency: int = 200
    timeout: float = 120.0


@dataclass
class ClientResult:
    opened: int = 0
    completed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    first_event: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    received: list[float] = field(default_factory=list)  # receipt time of each latency
    events: int = 0
    status_events: int = 0
    first_rx: float | None = None
    last_rx: float | None = None
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    opened_at: float = 0.0
    active_cpu: float = 0.0  # CPU seconds from "every stream open" to the end
    active_wall: float = 0.0


class ChunkedSSE:
    """Incremental decoder: HTTP chunked transfer coding (if used), then SSE events.
    ``feed`` returns the ``data:`` payloads of the events completed by ``data``."""

    def __init__(self, chunked: bool) -> None:
        self.chunked = chunked
        self.raw = bytearray()
        self.text = bytearray()
        self.need = -1  # bytes of the current chunk still expected (+2 for its CRLF)
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        if not self.chunked:
            self.text += data
        else:
            self.raw += data
            self._dechunk()
        return self._events()

    def _dechunk(self) -> None:
        while not self.done:
            if self.need < 0:
                end = self.raw.find(b"\r\n")
                if end < 0:
                    return
                size = int(bytes(self.raw[:end]).split(b";", 1)[0], 16)
                del self.raw[: end + 2]
                if size == 0:
                    self.done = True
                    return
                self.need = size + 2
            if len(self.raw) < self.need:
                return
            self.text += self.raw[: self.need - 2]
            del self.raw[: self.need]
            self.need = -1

    def _events(self) -> list[bytes]:
        out: list[bytes] = []
        if b"\r" in self.text:  # CRLF line ends (sse-starlette); a split CRLF joins later
            self.text = bytearray(self.text.replace(b"\r\n", b"\n"))
        start = 0
        while True:
            end = self.text.find(b"\n\n", start)
            if end < 0:
                break
            block = bytes(self.text[start:end])
            start = end + 2
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    out.append(line[5:].lstrip())
        if start:
            del self.text[:start]
        return out


def status_stamp(data: bytes) -> tuple[bool, float | None, bool]:
    """``(is_status_update, status.timestamp as epoch seconds or None, final)``."""
    if STATUS_MARK not in data:
        return False, None, FINAL_MARK in data
    stamp = None
    at = data.rfind(TIMESTAMP_MARK)
    if at >= 0:
        begin = at + len(TIMESTAMP_MARK)
        end = data.find(b'"', begin)
        with contextlib.suppress(ValueError):
            stamp = datetime.fromisoformat(data[begin:end].decode()).timestamp()
    return True, stamp, FINAL_MARK in data


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


class _Run:
    def __init__(self, job: ClientJob) -> None:
        self.job = job
        self.result = ClientResult()
        self.all_open = asyncio.Event()
        self.stop = asyncio.Event()
        self.pending_open = len(job.specs)
        self.gate = asyncio.Semaphore(job.open_concurrency)

    def _opened(self) -> None:
        self.pending_open -= 1
        if self.pending_open <= 0:
            self.all_open.set()

    def _error(self, text: str) -> None:
        self.result.failed += 1
        if len(self.result.errors) < 5:
            self.result.errors.append(text)

    def _first(self, sent: float, seen: list[bool]) -> None:
        seen[0] = True
        self.result.first_event.append(time.perf_counter() - sent)
        self.result.opened += 1
        self.gate.release()
        self._opened()

    def _take(self, events: list[bytes], now: float) -> bool:
        """Count ``events`` received at ``now``; True once the final one is among them."""
        result = self.result
        if not events:
            return False
        if result.first_rx is None:
            result.first_rx = now
        result.last_rx = now
        for data_line in events:
            result.events += 1
            is_status, stamp, final = status_stamp(data_line)
            if is_status:
                result.status_events += 1
                if stamp is not None:
                    result.latencies.append(now - stamp)
                    result.received.append(now)
            if final:
                return True
        return False

    async def _session(
        self, spec: StreamSpec, seen: list[bool]
    ) -> tuple[str, asyncio.StreamWriter | None]:
        """One stream from request to end: "" when it ended as expected, else why not."""
        job = self.job
        sent = time.perf_counter()
        reader, writer = await asyncio.open_connection(job.host, job.port)
        writer.write(spec.request(job.host, job.port))
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"?"
        if status != b"200":
            return f"HTTP {status.decode(errors='replace')}", writer
        parser = ChunkedSSE(b"transfer-encoding: chunked" in head.lower())
        first_seen = False
        while not parser.done:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            now = time.time()
            events = parser.feed(data)
            if events and not first_seen:
                if ERROR_MARK in events[0]:
                    return f"error event: {events[0][:200].decode(errors='replace')}", writer
                first_seen = True
                self._first(sent, seen)
                if job.mode == "idle":
                    await self.stop.wait()
                if job.mode != "follow":
                    return "", writer
                events = events[1:]  # the opening Task / hello is not a relayed event
            if self._take(events, now):
                return "", writer
        return "stream ended before a final event", writer

    async def stream(self, spec: StreamSpec) -> None:
        await self.gate.acquire()
        seen = [False]
        writer: asyncio.StreamWriter | None = None
        try:
            problem, writer = await self._session(spec, seen)
        except (OSError, asyncio.IncompleteReadError, ValueError) as err:
            problem = f"{type(err).__name__}: {err}"
        finally:
            if not seen[0]:
                self.gate.release()
                self._opened()
        if problem:
            self._error(problem)
        else:
            self.result.completed += 1
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def run(self, conn: Connection | None) -> ClientResult:
        started = time.perf_counter()
        cpu0 = _cpu()
        tasks = [asyncio.create_task(self.stream(s)) for s in self.job.specs]
        if not tasks:
            self.all_open.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_open.wait(), self.job.timeout)
        self.result.opened_at = time.time()
        cpu_open, wall_open = _cpu(), time.perf_counter()
        if conn is not None:
            conn.send(("opened", self.result.opened))
            if self.job.mode == "idle":
                await asyncio.wait_for(asyncio.to_thread(conn.recv), self.job.timeout)
        self.stop.set()
        _, late = await asyncio.wait(tasks, timeout=self.job.timeout) if tasks else (set(), set())
        for task in late:
            task.cancel()
        if late:
            self._error(f"{len(late)} streams timed out")
            await asyncio.wait(late, timeout=5)
        self.result.cpu_seconds = _cpu() - cpu0
        self.result.wall_seconds = time.perf_counter() - started
        self.result.active_cpu = _cpu() - cpu_open
        self.result.active_wall = time.perf_counter() - wall_open
        return self.result


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def client_process(job: ClientJob, conn: Connection) -> None:
    """Entry point of one client process: runs ``job``, sends ("opened", n) once every
    stream is open, then ("result", ClientResult as a dict)."""
    raise_fd_limit()
    try:
        result = asyncio.run(_Run(job).run(conn))
        conn.send(("result", result.__dict__))
    except BaseException as err:  # report anything, the runner decides
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


async def run_inline(job: ClientJob) -> ClientResult:
    """Run ``job`` in this process (no runner handshake); for small steps and tests."""
    return await _Run(job).run(None)


def merge(results: list[dict[str, Any]]) -> ClientResult:
    """One result from several client processes' results."""
    total = ClientResult()
    for r in results:
        total.opened += r["opened"]
        total.completed += r["completed"]
        total.failed += r["failed"]
        total.errors += r["errors"][: 5 - len(total.errors)] if len(total.errors) < 5 else []
        total.first_event += r["first_event"]
        total.latencies += r["latencies"]
        total.received += r["received"]
        total.events += r["events"]
        total.status_events += r["status_events"]
        for name, pick in (("first_rx", min), ("last_rx", max)):
            value = r[name]
            if value is not None:
                current = getattr(total, name)
                setattr(total, name, value if current is None else pick(current, value))
        total.cpu_seconds += r["cpu_seconds"]
        total.wall_seconds = max(total.wall_seconds, r["wall_seconds"])
        total.opened_at = max(total.opened_at, r["opened_at"])
    return total
