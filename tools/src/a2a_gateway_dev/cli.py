"""``a2a-gateway``: ``dev`` runs the whole stack locally, ``worker`` runs one worker,
``bench`` runs the stream benchmark (``a2a-gateway bench --help``); ``call``, ``watch``,
``get``, ``cancel`` and ``card`` talk to an agent (``a2a_gateway.client.cli``, the
production package's ``a2a`` command: ``a2a-gateway call --help``).

``dev`` serves on ``http://127.0.0.1:8080`` unless ``PORT`` (and ``HOST``) say otherwise;
``REDIS_URL`` and ``TEMPORAL_ADDRESS`` use running servers instead of starting private
ones. Ctrl-C or SIGTERM stops every process it started.

A development command (the a2a-gateway-dev distribution): deployments do not run it, they
start ``python -m a2a_gateway.worker.main`` and uvicorn directly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from a2a_gateway.client.cli import CLIENT_COMMANDS
from a2a_gateway.client.cli import main as client_main
from a2a_gateway.config import is_loopback
from a2a_gateway.routing import Routing
from a2a_gateway_dev.devstack import StackError, backing_servers, port_in_use

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType

BANNER = """
a2a-gateway is running (Ctrl-C stops everything)

  console      {url}/console/   (in a browser)
  agent card   {url}/.well-known/agent.json
  JSON-RPC     POST {url}/   (agents: {agents})
  health       {url}/healthz
  logs         {logs}

try it:
  a2a call {url}/ "hello streaming world"
  curl -N {url}/ -H 'content-type: application/json' -d '{example}'
"""


EXAMPLE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "message/stream",
        "params": {
            "message": {
                "role": "user",
                "messageId": "m1",
                "parts": [{"kind": "text", "text": "hello streaming world"}],
            }
        },
    },
    separators=(",", ":"),
)


class Stopped(Exception):
    """SIGINT or SIGTERM arrived."""


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signal.Signals(signum).name)


def dev_env(environ: Mapping[str, str], host: str) -> dict[str, str]:
    """What ``dev`` turns on for a person trying the gateway, unless they set it: the
    browser console, CORS for pages served from this machine (any port), and push
    notifications delivered by the worker, to receivers on this machine too when the
    gateway serves only this machine."""
    local = is_loopback(host)
    return {
        "A2A_CONSOLE": environ.get("A2A_CONSOLE", "true"),
        "A2A_CORS_ORIGINS": environ.get("A2A_CORS_ORIGINS", "loopback"),
        "A2A_PUSH_NOTIFICATIONS": environ.get("A2A_PUSH_NOTIFICATIONS", "true"),
        "A2A_PUSH_ALLOW_PRIVATE": environ.get("A2A_PUSH_ALLOW_PRIVATE", str(local).lower()),
    }


def dev() -> int:
    """Start Valkey, Temporal, the worker and the gateway; run until interrupted."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    if port_in_use(port, host):
        print(
            f"error: port {port} on {host} is already in use (is `make dev` already running?). "
            "Stop the other process or choose another port: PORT=8081 make dev",
            file=sys.stderr,
        )
        return 1
    routing = Routing.load(os.environ.get("A2A_ROUTES_FILE", ""))
    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGINT, _raise_stopped)
    log_dir = Path(".run").absolute()
    try:
        with backing_servers(
            os.environ.get("REDIS_URL", ""), os.environ.get("TEMPORAL_ADDRESS", ""), log_dir
        ) as stack:
            env = dev_env(os.environ, host)
            worker = stack.add(stack.worker(env), timeout=30, inherit_output=True)
            gateway = stack.add(
                stack.gateway(port, env=env, host=host),
                timeout=30,
                inherit_output=True,
            )
            url = f"http://{host}:{port}"
            print(
                BANNER.format(
                    url=url, example=EXAMPLE, agents=", ".join(routing.routes), logs=log_dir
                ),
                flush=True,
            )
            while worker.alive() and gateway.alive():
                time.sleep(0.5)
            dead = worker if not worker.alive() else gateway
            print(f"error: the {dead.name} exited; stopping everything", file=sys.stderr)
            return 1
    except Stopped:
        print("\nstopped; every process has exited", file=sys.stderr)
        return 0
    except StackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> None:
    given = sys.argv[1:] if argv is None else argv
    if given[:1] == ["bench"]:  # its own options: a2a-gateway bench --help
        from a2a_gateway_dev.bench import main as bench_main  # noqa: PLC0415 - heavy

        sys.exit(bench_main(given[1:]))
    if given[:1] and given[0] in CLIENT_COMMANDS:  # their own options: a2a-gateway call --help
        sys.exit(client_main(given, prog="a2a-gateway"))
    parser = argparse.ArgumentParser(prog="a2a-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="run the whole stack locally")
    sub.add_parser("worker", help="run a Temporal worker for the configured agents")
    sub.add_parser("bench", help="benchmark streams against a bare SSE floor and the a2a-sdk")
    sub.add_parser("call", help="send a message to an agent and follow the task live")
    sub.add_parser("watch", help="follow an existing task to its end")
    sub.add_parser("get", help="show a task")
    sub.add_parser("cancel", help="cancel a task")
    sub.add_parser("card", help="show an agent card")
    args = parser.parse_args(argv)
    if args.command == "dev":
        sys.exit(dev())
    if args.command == "worker":
        from a2a_gateway.worker.main import main as worker_main  # noqa: PLC0415 - heavy

        worker_main()
