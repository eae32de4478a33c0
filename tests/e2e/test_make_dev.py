"""``a2a-gateway dev`` (what ``make dev`` runs): starts everything, serves, and on SIGTERM to
its process group leaves no process behind; a taken port gives a clear message."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from a2a_gateway_dev.devstack import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

CLI = str(Path(sys.executable).parent / "a2a-gateway")


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def running_dev(port: int, cwd: Path) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str]]]:
    """``a2a-gateway dev`` in its own process group; killed (group-wide) and reaped on exit."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TEMPORAL_ADDRESS")}
    env["PORT"] = str(port)
    proc = subprocess.Popen(
        [CLI, "dev"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in stdout:
                lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield proc, lines
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        reader.join(timeout=5)
        stdout.close()


def wait_for(lines: queue.Queue[str], needle: str, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError(f"{needle!r} not printed in {timeout}s; got:\n{''.join(seen)}")


def test_dev_runs_the_stack_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    port = free_port()
    with running_dev(port, tmp_path) as (proc, lines):
        banner = wait_for(lines, "a2a-gateway is running", 90) + wait_for(lines, "curl -N", 10)
        url = f"http://127.0.0.1:{port}"
        assert f"{url}/console/" in banner and f"a2a call {url}/" in banner
        # What a person trying it gets: the console, and CORS for pages on this machine.
        page = httpx.get(url + "/console/", timeout=10)
        assert page.status_code == 200 and "a2a-gateway console" in page.text
        preflight = {"origin": "http://localhost:5173", "access-control-request-method": "POST"}
        allowed = httpx.options(url + "/", headers=preflight, timeout=10)
        assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
        # Push notifications on, delivered by the worker: the card says so, the keys are out.
        card = httpx.get(url + "/.well-known/agent-card.json", timeout=10).json()
        assert card["capabilities"]["pushNotifications"] is True
        jwks = httpx.get(url + "/.well-known/jwks.json", timeout=10).json()
        assert [key["alg"] for key in jwks["keys"]] == ["ES256"]
        health = httpx.get(url + "/healthz", timeout=10).json()
        assert health["status"] == "ok"
        assert health["streams"] == 0
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "message/send",
            "params": {
                "message": {
                    "role": "user",
                    "messageId": "m1",
                    "parts": [{"kind": "text", "text": "dev works"}],
                }
            },
        }
        task = httpx.post(url + "/", json=body, timeout=30).json()["result"]
        assert task["status"]["state"] == "completed"
        children = descendants(proc.pid)
        assert len(children) >= 4  # valkey, temporal, worker, gateway
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if alive(pid)]


def test_dev_with_port_taken_says_so(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with running_dev(port, tmp_path) as (proc, lines):
            assert proc.wait(timeout=30) == 1
            output = wait_for(lines, "already in use", 5)
            assert f"port {port}" in output
