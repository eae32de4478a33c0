"""ECS container health check of the worker: liveness of the process, nothing else.

Runs inside the container (``HEALTHCHECK`` / the task definition's ``HealthCheck``). It
never touches Valkey or Temporal: when a dependency blips every task would fail its check
at once and ECS would replace them all together, which helps nobody (the worker reconnects
by itself). Dependency trouble is reported by the alarms (worker turns ending in errors,
the task-queue backlog), not here.

Healthy means:

* the worker process (PID 1, started by the image's ``CMD``) is alive and not a zombie;
* if ``A2A_WORKER_HEARTBEAT_FILE`` names a file, that file was touched within
  ``A2A_WORKER_HEARTBEAT_MAX_AGE_SECONDS`` (default 120): the worker's event loop touches
  it periodically, so a hung loop shows up here. A missing file counts as healthy (the
  worker has not written it yet, or this worker version does not): the task definition's
  ``StartPeriod`` covers start-up, and an exited process ends the container anyway.

Exit 0 when healthy, 1 otherwise, with the reason on stderr. Standard library only.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

DEFAULT_MAX_AGE_SECONDS = 120.0


def process_alive(pid: int = 1, proc: Path = Path("/proc")) -> bool:
    """Whether ``pid`` exists and is not a zombie (Linux ``/proc/<pid>/stat``)."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    # "<pid> (<comm>) <state> ...": comm may hold spaces and parentheses, the state follows
    # the last ")".
    state = stat.rpartition(")")[2].split()[:1]
    return bool(state) and state[0] not in ("Z", "X")


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since ``path`` was last touched, or None if it does not exist."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (time.time() if now is None else now) - modified)


def check(env: dict[str, str], proc: Path = Path("/proc"), now: float | None = None) -> str:
    """The reason the worker is unhealthy, or "" when it is healthy."""
    if not process_alive(1, proc):
        return "the worker process (PID 1) is not running"
    heartbeat = env.get("A2A_WORKER_HEARTBEAT_FILE", "")
    if not heartbeat:
        return ""
    try:
        max_age = float(env.get("A2A_WORKER_HEARTBEAT_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))
    except ValueError:
        max_age = DEFAULT_MAX_AGE_SECONDS
    age = heartbeat_age(Path(heartbeat), now)
    if age is not None and age > max_age:
        return f"the worker's event loop has not touched {heartbeat} for {age:.0f} s"
    return ""


def main() -> int:
    reason = check(dict(os.environ))
    if reason:
        print(f"unhealthy: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
