"""ECS container health check of the worker: exit 0 when both backends answer, else 1.

Runs inside the container (``HEALTHCHECK`` / the task definition's ``HealthCheck``) with
the worker's environment: Valkey must answer PING over ``REDIS_URL`` (with the injected
password), and the Temporal frontend must accept a TCP connection. ECS replaces a task
that fails three checks in a row; the service's RunningTaskCount alarm reports it.
"""

from __future__ import annotations

import os
import socket
import sys

from launch import prepare  # copied beside this file in the image
from redis import Redis

TIMEOUT_SECONDS = 5.0


def main() -> int:
    env = dict(os.environ)
    prepare(env)
    try:
        client = Redis.from_url(
            env.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
        )
        client.ping()
        client.close()
        host, _, port = env.get("TEMPORAL_ADDRESS", "127.0.0.1:7233").rpartition(":")
        socket.create_connection((host, int(port)), TIMEOUT_SECONDS).close()
    except Exception as exc:
        print(f"unhealthy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
