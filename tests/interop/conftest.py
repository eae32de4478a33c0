"""Interop fixtures: the client environments (built once, cached) and one run of every
client script against the session's gateways (``gateway_url``, ``push_gateway_url``)."""

from __future__ import annotations

import pytest

from tests.interop import envs
from tests.interop.harness import InteropRun, run_interop

# Environment builds (first run only) and the scripts run inside whichever test first asks
# for them: that test gets the time they take.
SETUP_TIMEOUT = 900


@pytest.fixture(scope="session")
def interop_envs() -> dict[str, float]:
    """Every client environment, built if its stamp does not match the pins (a failed
    build raises: the tests that need it error, none is skipped). Seconds per build."""
    return envs.build(envs.ALL_ENVS)


@pytest.fixture(scope="session")
def interop_run(
    interop_envs: dict[str, float],
    gateway_url: str,
    push_gateway_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> InteropRun:
    """Each client line's script once, and the cross-version chain, against the session's
    gateways; every subprocess is stopped by pid before this returns."""
    return run_interop(gateway_url, push_gateway_url, tmp_path_factory.mktemp("interop"))
