"""Fixtures shared by the end-to-end tests (the servers themselves are in tests/conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest
from a2a.client import A2ACardResolver, A2AClient

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as client:
        yield client


async def sdk_client(http: httpx.AsyncClient, base_url: str) -> A2AClient:
    """The official a2a-sdk client, built from the agent card at ``base_url``."""
    card = await A2ACardResolver(http, base_url=base_url).get_agent_card()
    return A2AClient(httpx_client=http, agent_card=card)
