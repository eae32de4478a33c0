"""Interop fixtures: the client environments (built once, cached) and one run of every
client script against the session's gateways (``gateway_url``, ``push_gateway_url``, and
the two authenticating gateways of :func:`auth_gateways`)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import TYPE_CHECKING

import pytest

from a2a_gateway_dev.devstack import free_port
from tests.conftest import GATEWAY_ENV
from tests.interop import envs
from tests.interop.harness import SCRIPT_TIMEOUT, AuthTargets, InteropRun, run_interop
from tests.unit.auth_issuer import AUDIENCE, issuer_with_one_key

if TYPE_CHECKING:
    from collections.abc import Iterator

    from a2a_gateway_dev.devstack import Managed, Stack

# Environment builds (first run only) and the scripts run inside whichever test first asks
# for them: that test gets the time they take.
SETUP_TIMEOUT = 900

INTEROP_PRINCIPAL = "interop"
# No keep-alive inside the authenticated runs' short streams: httpx-sse 0.4 dispatches a
# comment-only SSE block after an event with an id as an event with empty data, which
# a2a-sdk 0.2.16's streaming send (and 0.3.x's resubscribe) then fails to parse as JSON.
# What is tested here is the auth hooks; the keep-alive is the session gateway's business.
QUIET = {"A2A_HEARTBEAT_SECONDS": "10"}


@pytest.fixture(scope="session")
def interop_envs() -> dict[str, float]:
    """Every client environment, built if its stamp does not match the pins (a failed
    build raises: the tests that need it error, none is skipped). Seconds per build."""
    return envs.build(envs.ALL_ENVS)


@pytest.fixture(scope="session")
def auth_gateways(
    stack: Stack, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AuthTargets]:
    """Two gateways that refuse anonymous callers: ``A2A_AUTH=apikey`` with a key file
    holding one key, and ``A2A_AUTH=jwt`` trusting a real local issuer (discovery document
    and JWKS over HTTP, ``tests/unit/auth_issuer.py``) that signs one token. Both and the
    issuer are stopped (by pid, the issuer's thread joined) when the session ends."""
    directory = tmp_path_factory.mktemp("auth-gateways")
    key = secrets.token_urlsafe(32)
    keys = directory / "keys.json"
    digest = hashlib.sha256(key.encode()).hexdigest()
    entry = {"sha256": digest, "principal": INTEROP_PRINCIPAL, "name": "interop"}
    keys.write_text(json.dumps({"keys": [entry]}))
    with issuer_with_one_key("interop-k1") as issuer:
        settings = {
            "apikey": {"A2A_AUTH": "apikey", "A2A_API_KEYS_FILE": str(keys)},
            "jwt": {
                "A2A_AUTH": "jwt",
                "A2A_JWT_ISSUER": issuer.url,
                "A2A_JWT_AUDIENCE": AUDIENCE,
            },
        }
        started: dict[str, Managed] = {}
        try:
            for mode, env in settings.items():
                proc = stack.gateway(free_port(), env={**GATEWAY_ENV, **env, **QUIET})
                proc.name = f"gateway-{mode}"
                started[mode] = proc
                proc.start(stack.log_dir)
            for proc in started.values():
                proc.wait_ready(30)
            # Valid for longer than the whole interop run can take.
            token = issuer.token(
                "interop-k1", sub=INTEROP_PRINCIPAL, exp=int(time.time() + 4 * SCRIPT_TIMEOUT)
            )
            yield AuthTargets(
                apikey_url=f"http://127.0.0.1:{started['apikey'].port}",
                api_key=key,
                jwt_url=f"http://127.0.0.1:{started['jwt'].port}",
                token=token,
            )
        finally:
            for proc in started.values():
                proc.stop()


@pytest.fixture(scope="session")
def interop_run(
    interop_envs: dict[str, float],
    gateway_url: str,
    push_gateway_url: str,
    auth_gateways: AuthTargets,
    tmp_path_factory: pytest.TempPathFactory,
) -> InteropRun:
    """Each client line's script once, its authenticated run, and the cross-version chain,
    against the session's gateways; every subprocess is stopped by pid before this
    returns."""
    return run_interop(
        gateway_url, push_gateway_url, tmp_path_factory.mktemp("interop"), auth=auth_gateways
    )
