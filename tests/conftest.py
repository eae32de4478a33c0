"""Session fixtures: one real Valkey and one real Temporal dev server per test session.

Everything binds to 127.0.0.1 on free ports and is stopped by pid when the session ends,
also when tests fail. The gateway and a worker run as separate processes (the way they
run in production), started once for the e2e tests that share them; tests that kill or
reconfigure a process start their own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from redis.asyncio import Redis

from a2a_gateway.limit_classes import out_of_the_way
from a2a_gateway.routing import BUILTIN_ROUTES
from a2a_gateway_dev.devstack import Managed, Stack, backing_servers, free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

# Short heartbeats so that tests see keep-alive comments without waiting long. The
# session's gateways serve the built-in agents with TEST_LIMITS (``routes_with_limits``).
GATEWAY_ENV = {"A2A_HEARTBEAT_SECONDS": "0.5", "A2A_BLOCKING_TIMEOUT_SECONDS": "30"}

# Every test that runs without credentials is the one principal ``anonymous``, and the
# suite floods on purpose (a thousand streams, bursts past the process's capacity): the
# per-principal limits of the session's gateways are out of its way. The limits
# themselves are tested with tight ones, on gateways of their own (test_quota.py).
TEST_LIMITS: dict[str, Any] = out_of_the_way()


def routes_with_limits(routes: dict[str, Any], limits: dict[str, Any] | None = None) -> str:
    """A routing file's JSON: ``routes`` with ``limits`` (``TEST_LIMITS`` by default)."""
    return json.dumps({**routes, "limits": TEST_LIMITS if limits is None else limits})


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    routes = tmp_path_factory.mktemp("routes") / "routes.json"
    routes.write_text(routes_with_limits(BUILTIN_ROUTES))
    GATEWAY_ENV["A2A_ROUTES_FILE"] = str(routes)
    with backing_servers(log_dir=tmp_path_factory.mktemp("stack")) as servers:
        yield servers


@pytest.fixture(scope="session")
def worker(stack: Stack) -> Iterator[None]:
    proc = stack.worker()
    stack.processes.append(proc)
    proc.start(stack.log_dir)
    yield
    proc.stop()


@pytest.fixture(scope="session")
def gateway_url(stack: Stack, worker: None) -> Iterator[str]:
    """Base URL of a gateway process (uvicorn) backed by the session's servers."""
    proc = stack.gateway(free_port(), env=GATEWAY_ENV)
    stack.processes.append(proc)
    proc.start(stack.log_dir)
    proc.wait_ready(30)
    yield f"http://127.0.0.1:{proc.port}"
    proc.stop()


@pytest.fixture(scope="session")
def push_gateway_url(stack: Stack, worker: None) -> Iterator[str]:
    """A second gateway, with push notification configs enabled (off by default) and
    loopback webhooks allowed (the interop clients set ``http://127.0.0.1:9/...``)."""
    push = {"A2A_PUSH_NOTIFICATIONS": "true", "A2A_PUSH_ALLOW_PRIVATE": "true"}
    proc = stack.gateway(free_port(), env={**GATEWAY_ENV, **push})
    proc.name = "gateway-push"
    stack.processes.append(proc)
    proc.start(stack.log_dir)
    proc.wait_ready(30)
    yield f"http://127.0.0.1:{proc.port}"
    proc.stop()


@pytest.fixture
def start_gateway(stack: Stack, worker: None, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start extra gateway processes with their own settings; all stopped after the test."""
    started: list[Managed] = []

    def start(env: dict[str, str] | None = None, **overrides: str) -> str:
        proc = stack.gateway(free_port(), env={**GATEWAY_ENV, **(env or {})})
        proc.env.update(overrides)
        started.append(proc)
        proc.start(tmp_path)
        proc.wait_ready(30)
        return f"http://127.0.0.1:{proc.port}"

    yield start
    for proc in reversed(started):
        proc.stop()


@pytest.fixture
async def redis(stack: Stack) -> AsyncIterator[Redis]:
    client = Redis.from_url(stack.redis_url, socket_timeout=30)
    yield client
    await client.aclose()


@pytest.fixture
def log_dir(stack: Stack) -> Path:
    return stack.log_dir


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """template.yaml as CloudFormation reads it (cfn-lint's decoder: short-form tags)."""
    from cfnlint.decode import decode_str

    root = Path(__file__).resolve().parents[1]
    loaded, errors = decode_str((root / "template.yaml").read_text(encoding="utf-8"))
    assert not errors, [str(e) for e in errors]
    assert isinstance(loaded, dict)
    return loaded
