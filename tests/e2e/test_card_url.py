"""Where a card sends clients (issue 12, defect 19): never to a host a forged ``Host``
header names. In Lambda the URL comes from the domain the invocation arrived through (the
adapter's request context); elsewhere from an allowed Host; ``A2A_PUBLIC_URL`` wins."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from a2a_gateway.config import ConfigError, Settings

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

REGION_WILDCARD = "*.lambda-url.us-east-1.on.aws"
OURS = "abcdefghij.lambda-url.us-east-1.on.aws"
THEIRS = "attacker0.lambda-url.us-east-1.on.aws"


def context(domain: str) -> str:
    return json.dumps({"domainName": domain, "http": {"method": "GET"}, "requestId": "r"})


async def test_in_lambda_the_card_names_the_invoked_domain_not_the_host(
    http: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    url = start_gateway(AWS_LAMBDA_FUNCTION_NAME="a2a-test", A2A_ALLOWED_HOSTS=REGION_WILDCARD)
    for path in ("/.well-known/agent-card.json", "/agents/progress/.well-known/agent.json"):
        card = (
            await http.get(
                url + path,
                headers={"Host": THEIRS, "x-amzn-request-context": context(OURS)},
            )
        ).json()
        assert card["url"].startswith(f"https://{OURS}/"), card["url"]
        assert all(OURS in i["url"] for i in card["supportedInterfaces"])
        assert THEIRS not in json.dumps(card)


async def test_outside_lambda_a_forged_request_context_is_ignored(
    http: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    url = start_gateway()
    card = (
        await http.get(
            url + "/.well-known/agent-card.json",
            headers={"x-amzn-request-context": context(THEIRS)},
        )
    ).json()
    assert card["url"] == url + "/"


async def test_a_public_url_wins(
    http: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    url = start_gateway(
        AWS_LAMBDA_FUNCTION_NAME="a2a-test", A2A_PUBLIC_URL="https://agents.example.com"
    )
    card = (
        await http.get(
            url + "/agents/ask/.well-known/agent-card.json",
            headers={"x-amzn-request-context": context(OURS)},
        )
    ).json()
    assert card["url"] == "https://agents.example.com/agents/ask/"


def test_any_host_needs_a_public_url() -> None:
    with pytest.raises(ConfigError, match="A2A_PUBLIC_URL"):
        Settings.from_env(env={"A2A_ALLOWED_HOSTS": "*"})
    assert Settings.from_env(env={"A2A_ALLOWED_HOSTS": "*", "A2A_PUBLIC_URL": "https://x.example"})
