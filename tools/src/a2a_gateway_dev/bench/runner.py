"""The benchmark runner: start the servers, drive every workload, print and save the results.

Servers (all on free 127.0.0.1 ports, all stopped by pid at the end, also on Ctrl-C):
Valkey, the Temporal dev server, our worker and our gateway (devstack), the floor and the
peer, each under the same uvicorn options. Steps, each run against floor, peer and ours
in turn, so that every comparison is within one run:

1. idle: N streams opened and held; RSS per idle stream (VmRSS before/after).
2. first event: sequential streams; request sent to first SSE event, p50/p99.
3. end to end: ours through Temporal + worker (``progress`` agent); append-to-client
   latency (``status.timestamp`` stamped at publish, measured at the client).
4. paced: 1,000 active streams (one event per stream per second); latency under load.
5. fan-out: 1 / 100 / 1,000 / 10,000 streams, events back to back; events/s delivered,
   server CPU per 1,000 events, RSS per active stream, client CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2a_gateway.config import Settings
from a2a_gateway.limit_classes import out_of_the_way
from a2a_gateway.routing import BUILTIN_ROUTES
from a2a_gateway.store.eventlog import EventLog
from a2a_gateway_dev.bench import workloads
from a2a_gateway_dev.bench.client import (
    ClientJob,
    ClientResult,
    StreamSpec,
    client_process,
    merge,
    raise_fd_limit,
    run_inline,
)
from a2a_gateway_dev.bench.report import (
    cpu_seconds,
    fmt,
    percentile,
    ratio,
    rss_bytes,
    summary_ms,
    table,
)
from a2a_gateway_dev.devstack import Managed, Stack, StackError, backing_servers, free_port

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from types import FrameType

TARGETS = ("floor", "peer", "ours", "ours-fast")
FAST_PACKAGES = ("uvloop", "httptools", "hiredis")
FULL_LEVELS = (1, 100, 1000, 10000)
QUICK_LEVELS = (1, 100, 1000)


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


@dataclass
class Options:
    quick: bool = False
    levels: tuple[int, ...] = FULL_LEVELS
    fanout_events: int = 20_000  # events per fan-out level (split over its streams)
    idle_streams: int = 10_000
    paced_streams: int = 1000
    paced_steps: int = 10
    paced_interval: float = 1.0
    e2e_streams: int = 100
    e2e_steps: int = 10
    e2e_interval: float = 0.5
    first_requests: int = 50
    clients: int = 2
    loop: str = "auto"
    http: str = "auto"
    out: Path = Path(".run/bench.json")
    json_stdout: bool = False
    step_timeout: float = 180.0
    redis_max_connections: int = 1000
    pythonpath: str = ""
    fast_path: str = ""  # a directory holding uvloop, httptools, hiredis: adds "ours-fast"
    profile: str = ""
    only: tuple[str, ...] = ("idle", "first", "e2e", "paced", "fanout", "cold")


@dataclass
class Server:
    name: str
    proc: Managed

    @property
    def port(self) -> int:
        assert self.proc.port is not None
        return self.proc.port

    @property
    def pid(self) -> int:
        return self.proc.pid

    def go(self, run: str, *, abort: bool = False) -> None:
        if self.name.startswith("ours"):
            return
        url = f"http://127.0.0.1:{self.port}/bench/go?run={run}" + ("&abort=1" if abort else "")
        request = urllib.request.Request(url, method="POST")
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


@dataclass
class Step:
    """What one step measured on one server."""

    streams: int
    expected_events: int
    clients: ClientResult = field(default_factory=ClientResult)
    client_util: list[float] = field(default_factory=list)
    rss_before: int = 0
    rss_open: int = 0
    rss_peak: int = 0
    cpu_window: float = 0.0  # server CPU seconds from "all open" to "all done"
    wall_window: float = 0.0
    go_time: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        c = self.clients
        events = c.status_events
        span = (c.last_rx - self.go_time) if c.last_rx and self.go_time else None
        out: dict[str, Any] = {
            "streams": self.streams,
            "opened": c.opened,
            "completed": c.completed,
            "failed": c.failed,
            "errors": c.errors,
            "events": events,
            "expected_events": self.expected_events,
            "delivered_pct": round(100 * events / self.expected_events, 2)
            if self.expected_events
            else None,
            "events_per_s": round(events / span, 1) if span and events else None,
            "latency": summary_ms(c.latencies),
            "first_event": summary_ms(c.first_event),
            "server_cpu_s": round(self.cpu_window, 3),
            "server_cpu_util": round(self.cpu_window / self.wall_window, 3)
            if self.wall_window
            else None,
            "cpu_ms_per_1000_events": round(1e6 * self.cpu_window / events, 1) if events else None,
            "events_per_cpu_s": round(events / self.cpu_window, 1) if self.cpu_window else None,
            "client_cpu_util_max": round(max(self.client_util), 3) if self.client_util else None,
            "client_processes": len(self.client_util),
            "rss_before_mb": round(self.rss_before / 2**20, 1),
            "rss_open_mb": round(self.rss_open / 2**20, 1),
            "rss_peak_mb": round(self.rss_peak / 2**20, 1),
            "rss_per_stream_kib": round((self.rss_open - self.rss_before) / 1024 / self.streams, 2)
            if self.streams
            else None,
            "rss_peak_per_stream_kib": round(
                (self.rss_peak - self.rss_before) / 1024 / self.streams, 2
            )
            if self.streams
            else None,
        }
        out["p99_ms_by_second"] = self.p99_by_second()
        out.update({k: round(v, 3) for k, v in self.extra.items()})
        return out

    def p99_by_second(self, limit: int = 60) -> list[float | None]:
        """Latency p99 (ms) of the events received in each second after the start signal."""
        bins: dict[int, list[float]] = {}
        for at, latency in zip(self.clients.received, self.clients.latencies, strict=False):
            index = int(at - self.go_time)
            if 0 <= index < limit:
                bins.setdefault(index, []).append(latency)
        if not bins:
            return []
        series = []
        for index in range(max(bins) + 1):
            value = percentile(bins.get(index, []), 99)
            series.append(None if value is None else round(value * 1000, 1))
        return series


class Sampler:
    """Peak RSS of one pid, sampled every 50 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.peak = max(self.peak, rss_bytes(self.pid))
            self._stop.wait(0.05)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


def _recv(conn: Connection, timeout: float, what: str) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"client process: no {what} within {timeout:.0f}s")
    kind, value = conn.recv()
    if kind == "error":
        raise RuntimeError(f"client process failed: {value}")
    return value


def drive(
    server: Server,
    specs: list[StreamSpec],
    *,
    mode: str,
    processes: int,
    timeout: float,
    on_open: Callable[[Step], None] | None = None,
    expected_events: int = 0,
) -> Step:
    """Run ``specs`` against ``server`` from ``processes`` client processes."""
    step = Step(streams=len(specs), expected_events=expected_events)
    processes = max(1, min(processes, len(specs)))
    ctx = multiprocessing.get_context("spawn")
    step.rss_before = rss_bytes(server.pid)
    procs: list[Any] = []
    conns: list[Connection] = []
    per_process_open = max(20, 200 // processes)
    finished = False
    try:
        for i in range(processes):
            job = ClientJob(
                "127.0.0.1",
                server.port,
                specs[i::processes],
                mode=mode,
                open_concurrency=per_process_open,
                timeout=timeout,
            )
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_process, args=(job, child), daemon=True)
            proc.start()
            child.close()
            procs.append(proc)
            conns.append(parent)
        for conn in conns:
            _recv(conn, timeout + 30, "opened report")
        cpu_open = cpu_seconds(server.pid)
        started = time.perf_counter()
        with Sampler(server.pid) as sampler:
            step.rss_open = rss_bytes(server.pid)
            step.extra["loadavg_1m"] = os.getloadavg()[0]
            step.go_time = time.time()
            if on_open is not None:
                on_open(step)
            if mode == "idle":
                for conn in conns:
                    conn.send("stop")
            results = [_recv(conn, timeout + 30, "result") for conn in conns]
        step.cpu_window = cpu_seconds(server.pid) - cpu_open
        step.wall_window = time.perf_counter() - started
        step.rss_peak = max(sampler.peak, step.rss_open)
        step.clients = merge(results)
        step.client_util = [
            r["active_cpu"] / r["active_wall"] for r in results if r["active_wall"] > 0
        ]
        finished = True
    finally:
        for proc in procs:
            proc.join(10 if finished else 0.1)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
        for conn in conns:
            conn.close()
    return step


class Bench:
    def __init__(self, options: Options, stack: Stack, servers: dict[str, Server]) -> None:
        self.o = options
        self.stack = stack
        self.servers = servers
        self.results: dict[str, dict[str, Any]] = {}
        valkey = next(p for p in stack.processes if p.name == "valkey")
        self.valkey_pid = valkey.pid
        self.settings = Settings.from_env(env={"REDIS_URL": stack.redis_url})

    def quiesce(self, limit: float = 5.0) -> float:
        """Wait (at most ``limit`` s) until the servers and Valkey together use under a
        tenth of a core, so that one server's leftovers do not load the next one's step;
        the seconds waited."""
        pids = [s.pid for s in self.servers.values()] + [self.valkey_pid]
        started = time.monotonic()
        while time.monotonic() - started < limit:
            before = sum(cpu_seconds(pid) for pid in pids)
            time.sleep(0.5)
            if sum(cpu_seconds(pid) for pid in pids) - before < 0.05:
                break
        return round(time.monotonic() - started, 1)

    def record(self, name: str, target: str, metrics: dict[str, Any]) -> None:
        self.results.setdefault(name, {})[target] = metrics

    # -- helpers for our side ---------------------------------------------------------

    def _ours_tasks(self, count: int) -> list[str]:
        ids = [f"bench-{uuid.uuid4().hex[:12]}-{i}" for i in range(count)]

        async def create() -> None:
            events = EventLog.from_settings(self.settings)
            try:
                await workloads.create_tasks(events, ids)
            finally:
                await events.redis.aclose()

        asyncio.run(create())
        return ids

    def _publisher(self, ids: list[str], steps: int, interval: float) -> Callable[[Step], None]:
        def run(step: Step) -> None:
            async def go() -> None:
                events = EventLog.from_settings(self.settings)
                try:
                    await workloads.publish(events, ids, steps, interval)
                finally:
                    await events.redis.aclose()

            usage0 = resource.getrusage(resource.RUSAGE_SELF)
            valkey0 = cpu_seconds(self.valkey_pid)
            started = time.perf_counter()
            asyncio.run(go())
            usage1 = resource.getrusage(resource.RUSAGE_SELF)
            step.extra["publisher_cpu_s"] = (usage1.ru_utime + usage1.ru_stime) - (
                usage0.ru_utime + usage0.ru_stime
            )
            step.extra["publish_wall_s"] = time.perf_counter() - started
            step.extra["valkey_cpu_s"] = cpu_seconds(self.valkey_pid) - valkey0

        return run

    def _go(self, server: Server, run: str) -> Callable[[Step], None]:
        return lambda step: server.go(run)

    def _health(self, server: Server) -> dict[str, Any]:
        url = f"http://127.0.0.1:{server.port}/healthz"
        with urllib.request.urlopen(url, timeout=10) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data

    def _settle_hub(self, server: Server) -> dict[str, Any]:
        """Wait (bounded) until our gateway holds no stream; its health after that."""
        deadline = time.monotonic() + 10
        health = self._health(server)
        while time.monotonic() < deadline and health.get("streams"):
            time.sleep(0.2)
            health = self._health(server)
        return health

    # -- steps --------------------------------------------------------------------------

    def warm_up(self) -> None:
        log("warm-up: one stream per server")
        for name, server in self.servers.items():
            interval = 0.05 if name.startswith("ours") else 0.0
            specs = workloads.self_paced(name, 2, 2, interval, f"warm-{uuid.uuid4().hex[:8]}")
            job = ClientJob("127.0.0.1", server.port, specs, timeout=60)
            result = asyncio.run(run_inline(job))
            if result.completed != len(specs):
                raise StackError(f"warm-up against {name} failed: {result.errors}")

    def idle(self) -> None:
        count = self.o.idle_streams
        for name, server in self.servers.items():
            self.quiesce()
            log(f"idle: {count} streams held open on {name}")
            run = uuid.uuid4().hex
            if name.startswith("ours"):
                specs = workloads.ours_resubscribe(self._ours_tasks(count))
            elif name == "peer":
                specs = workloads.peer_stream(count, 1, 0.0, run)
            else:
                specs = workloads.floor_stream(count, 1, 0.0, run)

            def hold(step: Step, server: Server = server) -> None:
                time.sleep(1.0)
                step.rss_open = rss_bytes(server.pid)
                cpu0 = cpu_seconds(server.pid)
                time.sleep(2.0)
                step.extra["idle_cpu_util"] = (cpu_seconds(server.pid) - cpu0) / 2.0

            step = drive(
                server,
                specs,
                mode="idle",
                processes=self.o.clients,
                timeout=self.o.step_timeout,
                on_open=hold,
            )
            server.go(run, abort=True)
            self.record("idle", name, step.metrics())
            if name.startswith("ours"):
                self.results["idle"][name]["hub_after"] = self._settle_hub(server)

    def first_event(self) -> None:
        count = self.o.first_requests
        for name, server in self.servers.items():
            self.quiesce()
            log(f"first event: {count} sequential streams on {name}")
            specs = workloads.self_paced(name, count, 1, 0.0, f"first-{uuid.uuid4().hex[:8]}")
            job = ClientJob(
                "127.0.0.1", server.port, specs, mode="first", open_concurrency=1, timeout=120
            )
            result = asyncio.run(run_inline(job))
            self.record("first_event", name, {"first_event": summary_ms(result.first_event)})
            time.sleep(0.5)

    def end_to_end(self) -> None:
        count, steps, interval = self.o.e2e_streams, self.o.e2e_steps, self.o.e2e_interval
        for name, server in self.servers.items():
            self.quiesce()
            log(f"end to end: {count} streams x {steps} steps every {interval}s on {name}")
            specs = workloads.self_paced(name, count, steps, interval, f"e2e-{uuid.uuid4().hex}")
            # ours: working, N steps, result artifact, completed; the others: N + final
            expected = count * (steps + (2 if name.startswith("ours") else 1))
            step = drive(
                server,
                specs,
                mode="follow",
                processes=self.o.clients,
                timeout=self.o.step_timeout,
                expected_events=expected,
            )
            self.record("e2e", name, step.metrics())
            if name.startswith("ours"):
                self._settle_hub(server)

    def _fanned(
        self, label: str, count: int, steps: int, interval: float
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, server in self.servers.items():
            self.quiesce()
            log(f"{label}: {count} streams x {steps} events (interval {interval}s) on {name}")
            run = uuid.uuid4().hex
            if name.startswith("ours"):
                ids = self._ours_tasks(count)
                specs = workloads.ours_resubscribe(ids)
                on_open = self._publisher(ids, steps, interval)
            elif name == "peer":
                specs = workloads.peer_stream(count, steps, interval, run)
                on_open = self._go(server, run)
            else:
                specs = workloads.floor_stream(count, steps, interval, run)
                on_open = self._go(server, run)
            step = drive(
                server,
                specs,
                mode="follow",
                processes=1 if count == 1 else self.o.clients,
                timeout=self.o.step_timeout,
                on_open=on_open,
                expected_events=count * (steps + 1),
            )
            out[name] = step.metrics()
            if name.startswith("ours"):
                out[name]["hub_after"] = self._settle_hub(server)
        return out

    def paced(self) -> None:
        result = self._fanned(
            "paced", self.o.paced_streams, self.o.paced_steps, self.o.paced_interval
        )
        self.results["paced"] = result

    def fanout(self) -> None:
        for level in self.o.levels:
            steps = max(2, self.o.fanout_events // level)
            steps = min(steps, 2000)
            self.results[f"fanout_{level}"] = self._fanned("fan-out", level, steps, 0.0)

    def cold_start(self) -> None:
        log("import time and package size")
        self.results["import"] = {
            "ours": import_ms("a2a_gateway.gateway.app"),
            "ours-fast": import_ms("a2a_gateway.gateway.app", self.o.fast_path),
            "floor": import_ms("a2a_gateway_dev.bench.floor"),
            "peer": import_ms("a2a_gateway_dev.bench.peer"),
        }
        self.results["lambda_package"] = lambda_package_size()


def import_ms(module: str, pythonpath: str = "", runs: int = 5) -> dict[str, float]:
    """Median wall time of ``python -c 'import module'`` minus ``python -c pass``, and the
    module's cumulative self-reported time from ``-X importtime``."""

    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(pythonpath).absolute()), env.get("PYTHONPATH", "")) if p
        )

    def wall(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, env=env)
        return time.perf_counter() - started

    base = sorted(wall("pass") for _ in range(runs))[runs // 2]
    full = sorted(wall(f"import {module}") for _ in range(runs))[runs // 2]
    trace = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stderr
    cumulative = None
    for line in trace.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            cumulative = int(parts[1]) / 1000
    return {"wall_ms": round((full - base) * 1000, 1), "importtime_ms": cumulative or 0.0}


def lambda_package_size(root: Path = Path(".aws-sam/build")) -> dict[str, Any]:
    """Bytes of the built gateway function and shared layer, if ``sam build`` has run."""
    if not root.is_dir():
        return {"note": "run make sam-build"}
    sizes: dict[str, Any] = {}
    for name in ("GatewayFunction", "SharedLayer"):
        path = root / name
        if path.is_dir():
            sizes[f"{name}_mb"] = round(
                sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1
            )
    if sizes:
        sizes["total_mb"] = round(sum(v for v in sizes.values()), 1)
    return sizes


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        model = found.group(1).strip() if found else ""
    mem_kb = 0
    with contextlib.suppress(OSError):
        found = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
        mem_kb = int(found.group(1)) if found else 0
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "fd_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def uvicorn_argv(app: str, port: int, options: Options, profile: str = "") -> list[str]:
    argv = [sys.executable, "-m", "cProfile", "-o", profile] if profile else [sys.executable]
    argv += ["-m", "uvicorn", "--factory", app, "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    return [*argv, "--loop", options.loop, "--http", options.http, "--backlog", "4096"]


def start_servers(stack: Stack, options: Options) -> dict[str, Server]:
    log("starting the worker, our gateway, the floor and the peer")
    stack.add(stack.worker(), timeout=30)
    servers: dict[str, Server] = {}
    extra: dict[str, str] = {}
    if options.pythonpath:
        extra["PYTHONPATH"] = _pythonpath(options.pythonpath)
    for name in ("floor", "peer"):
        app = f"a2a_gateway_dev.bench.{name}:create_app"
        port = free_port()
        proc = Managed(name, uvicorn_argv(app, port, options), port=port, env=dict(extra))
        servers[name] = Server(name, stack.add(proc, timeout=30))
    # The bench is one principal (anonymous) opening thousands of streams: its limits are
    # raised out of the way, and still counted in Redis, so their cost is measured.
    routes = stack.log_dir / "bench-routes.json"
    routes.write_text(json.dumps({**BUILTIN_ROUTES, "limits": out_of_the_way()}))
    env = {"A2A_MAX_STREAMS": "30000", "A2A_ROUTES_FILE": str(routes), **extra}
    if options.redis_max_connections:
        # redis-py >= 6 caps an asyncio pool at 100 connections and then raises
        # MaxConnectionsError; the hub alone may hold one blocked read per bucket (64).
        env["REDIS_URL"] = f"{stack.redis_url}?max_connections={options.redis_max_connections}"
    gateway = stack.gateway(free_port(), env=env)
    assert gateway.port is not None
    gateway.argv = uvicorn_argv(
        "a2a_gateway.gateway.app:create_app", gateway.port, options, options.profile
    )
    servers["ours"] = Server("ours", stack.add(gateway, timeout=30))
    if options.fast_path:
        fast_env = {**env, "PYTHONPATH": _pythonpath(options.fast_path)}
        fast = stack.gateway(free_port(), env=fast_env)
        fast.name = "gateway-fast"
        assert fast.port is not None
        fast_options = Options(loop="uvloop", http="httptools")
        fast.argv = uvicorn_argv("a2a_gateway.gateway.app:create_app", fast.port, fast_options)
        servers["ours-fast"] = Server("ours-fast", stack.add(fast, timeout=30))
    return servers


def _pythonpath(first: str) -> str:
    paths = [str(Path(first).absolute()), os.environ.get("PYTHONPATH", "")]
    return os.pathsep.join(p for p in paths if p)


def fast_path_ready(directory: str) -> bool:
    """Whether ``directory`` holds uvloop, httptools and hiredis (pip install --target)."""
    return all((Path(directory) / name).is_dir() for name in FAST_PACKAGES)


# -- report -----------------------------------------------------------------------------


def _get(results: dict[str, Any], step: str, target: str, *path: str) -> Any:
    value: Any = results.get(step, {}).get(target)
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def rows(results: dict[str, Any], options: Options) -> list[list[Any]]:
    out: list[list[Any]] = []

    def add(label: str, step: str, *path: str, better: str = "lower") -> None:
        ours = _get(results, step, "ours", *path)
        fast = _get(results, step, "ours-fast", *path)
        floor = _get(results, step, "floor", *path)
        peer = _get(results, step, "peer", *path)
        name = f"{label} ({better} better)" if better else label
        row = [name, ours, floor, peer, ratio(ours, floor), ratio(ours, peer)]
        if options.fast_path:
            row += [fast, ratio(fast, peer), ratio(fast, ours)]
        out.append(row)

    add("first event p50 ms", "first_event", "first_event", "p50_ms")
    add("first event p99 ms", "first_event", "first_event", "p99_ms")
    e2e = f"{options.e2e_streams} streams e2e"
    add(f"append->client p50 ms, {e2e}", "e2e", "latency", "p50_ms")
    add(f"append->client p99 ms, {e2e}", "e2e", "latency", "p99_ms")
    add(f"append->client max ms, {e2e}", "e2e", "latency", "max_ms")
    paced = f"{options.paced_streams} active @ {1 / options.paced_interval:g}/s"
    add(f"append->client p50 ms, {paced}", "paced", "latency", "p50_ms")
    add(f"append->client p99 ms, {paced}", "paced", "latency", "p99_ms")
    add(f"append->client max ms, {paced}", "paced", "latency", "max_ms")
    add(f"delivered %, {paced}", "paced", "delivered_pct", better="higher")
    add(f"RSS KiB per idle stream, {options.idle_streams} idle", "idle", "rss_per_stream_kib")
    add(f"idle streams held of {options.idle_streams}", "idle", "opened", better="higher")
    add(f"server CPU util while {options.idle_streams} idle", "idle", "idle_cpu_util")
    for level in options.levels:
        step = f"fanout_{level}"
        add(f"events/s, {level} streams", step, "events_per_s", better="higher")
        add(f"delivered %, {level} streams", step, "delivered_pct", better="higher")
        add(f"server CPU ms / 1000 events, {level} streams", step, "cpu_ms_per_1000_events")
        add(f"events per CPU-s, {level} streams", step, "events_per_cpu_s", better="higher")
        add(f"server CPU util, {level} streams", step, "server_cpu_util", better="")
        add(f"client CPU util (max proc), {level} streams", step, "client_cpu_util_max", better="")
        add(f"append->client p99 ms, {level} streams", step, "latency", "p99_ms")
        add(f"RSS KiB per active stream, {level} streams", step, "rss_peak_per_stream_kib")
    add("import ms (wall)", "import", "wall_ms")
    return out


def scaling_note(results: dict[str, Any], options: Options, target: str) -> str:
    """Where events/s stops growing with the number of streams."""
    previous: tuple[int, float] | None = None
    for level in options.levels:
        rate = _get(results, f"fanout_{level}", target, "events_per_s")
        delivered = _get(results, f"fanout_{level}", target, "delivered_pct") or 0
        if rate is None or delivered < 99.9:
            return f"stops at {level} streams (delivered {delivered}%)"
        if previous is not None and rate < previous[1] * 1.1:
            return f"flat from {previous[0]} streams ({previous[1]:,.0f} -> {rate:,.0f} events/s)"
        previous = (level, rate)
    return "scales through the largest level"


def render(results: dict[str, Any], options: Options, info: dict[str, Any]) -> str:
    headers = ["metric", "ours", "floor", "peer", "ours/floor", "ours/peer"]
    if options.fast_path:
        headers += ["ours-fast", "fast/peer", "fast/ours"]
    lines = [
        f"machine: {info['nproc']} cores, {info['cpu']}, {info['ram_gb']} GB RAM, "
        f"Python {info['python']}; uvicorn --loop {options.loop} --http {options.http}",
        "",
        table(headers, rows(results, options)),
        "",
    ]
    for target in TARGETS:
        if target == "ours-fast" and not options.fast_path:
            continue
        lines.append(f"scaling ({target}): {scaling_note(results, options, target)}")
    package = results.get("lambda_package", {})
    lines.append(f"lambda package: {json.dumps(package)}")
    imports = results.get("import", {})
    lines.append(f"import time (ms): {json.dumps(imports)}")
    return "\n".join(lines)


# -- entry point ------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGINT or SIGTERM."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="a2a-gateway bench",
        description="Stream benchmark: ours vs the floor (bare SSE) vs the a2a-sdk peer.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no 10k level")
    parser.add_argument("--levels", help="fan-out stream counts, e.g. 1,100,1000,10000")
    parser.add_argument("--idle", type=int, help="idle streams held (default 10000; quick 2000)")
    parser.add_argument("--fanout-events", type=int, help="events per fan-out level")
    parser.add_argument("--paced", type=int, help="active streams of the paced step")
    parser.add_argument("--e2e", type=int, help="streams of the end-to-end step")
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--loop", default="auto", help="uvicorn --loop for all three servers")
    parser.add_argument("--http", default="auto", help="uvicorn --http for all three servers")
    parser.add_argument(
        "--redis-max-connections",
        type=int,
        default=1000,
        help="gateway Redis pool size via REDIS_URL (0: redis-py's default of 100)",
    )
    parser.add_argument("--pythonpath", default="", help="prepended to the servers' PYTHONPATH")
    parser.add_argument(
        "--fast-path",
        default="",
        help="directory with uvloop, httptools and hiredis (pip install --target): also "
        "runs our gateway with them, as 'ours-fast'",
    )
    parser.add_argument("--profile", default="", help="cProfile our gateway into this file")
    parser.add_argument("--only", help="steps to run: idle,first,e2e,paced,fanout,cold")
    parser.add_argument("--out", default=".run/bench.json", help="where to write the JSON")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    args = parser.parse_args(argv)
    o = Options(quick=args.quick, clients=args.clients, loop=args.loop, http=args.http)
    if args.quick:
        o.levels = QUICK_LEVELS
        o.idle_streams, o.fanout_events = 2000, 6000
        o.paced_streams, o.paced_steps = 1000, 5
        o.e2e_streams, o.e2e_steps, o.first_requests = 50, 5, 20
        o.step_timeout = 90.0
    if args.levels:
        o.levels = tuple(int(x) for x in args.levels.split(",") if x)
    o.idle_streams = args.idle or o.idle_streams
    o.fanout_events = args.fanout_events or o.fanout_events
    o.paced_streams = args.paced or o.paced_streams
    o.e2e_streams = args.e2e or o.e2e_streams
    o.out, o.json_stdout = Path(args.out), args.json
    o.redis_max_connections = args.redis_max_connections
    o.pythonpath = args.pythonpath
    if args.fast_path:
        if not fast_path_ready(args.fast_path):
            parser.error(f"--fast-path {args.fast_path} lacks one of {', '.join(FAST_PACKAGES)}")
        o.fast_path = args.fast_path
    o.profile = str(Path(args.profile).absolute()) if args.profile else ""
    if args.only:
        o.only = tuple(x for x in args.only.split(",") if x)
    return o


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    raise_fd_limit()
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    info = machine()
    started = time.monotonic()
    servers_run: list[str] = []
    log_dir = Path(".run/bench").absolute()
    try:
        with backing_servers(log_dir=log_dir) as stack:
            servers = start_servers(stack, options)
            bench = Bench(options, stack, servers)
            bench.warm_up()
            steps = {
                "idle": bench.idle,
                "first": bench.first_event,
                "e2e": bench.end_to_end,
                "paced": bench.paced,
                "fanout": bench.fanout,
                "cold": bench.cold_start,
            }
            for name, run in steps.items():
                if name in options.only:
                    run()
            if options.profile:  # uvicorn re-raises SIGTERM after shutdown; SIGINT lets
                # cProfile write its file on the way out
                gateway = servers["ours"].proc
                os.kill(gateway.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    assert gateway.process is not None
                    gateway.process.wait(30)
                log(f"gateway profile in {options.profile}")
            results = bench.results
            servers_run = list(servers)
    except Interrupted:
        log("interrupted; every process started has been stopped")
        return 130
    except (StackError, TimeoutError, RuntimeError) as err:
        log(f"error: {err}; every process started has been stopped (logs in {log_dir})")
        return 1
    text = render(results, options, info)
    document = {
        "machine": info,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.__dict__.items()},
        "seconds": round(time.monotonic() - started, 1),
        "results": results,
        "scaling": {t: scaling_note(results, options, t) for t in TARGETS if t in servers_run},
        "table": text,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(document, indent=2) + "\n")
    if options.json_stdout:
        print(text, file=sys.stderr)
        print(json.dumps(document, indent=2))
    else:
        print(text)
        print(f"\n(JSON in {options.out}; {document['seconds']} s)")
    return 0


__all__ = ["fmt", "main"]
