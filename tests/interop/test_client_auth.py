"""The cards of the authenticating gateways the interop clients log in to
(``auth_gateways``: ``A2A_AUTH=apikey`` and ``A2A_AUTH=jwt`` with a real local issuer):
public at every card path, stating the mode's scheme in both versions' shapes, while
everything else refuses a caller without the credential and admits one with it. The
clients' own auth hooks are the ``auth-*`` rows of ``test_clients.py``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from jsonschema import Draft7Validator

from tests.interop.conftest import SETUP_TIMEOUT

if TYPE_CHECKING:
    from tests.interop.harness import AuthTargets

pytestmark = pytest.mark.timeout(SETUP_TIMEOUT)

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "a2a-v0.3.schema.json"
CARD_PATHS = [
    "/.well-known/agent-card.json",
    "/.well-known/agent.json",
    "/agents/progress/.well-known/agent-card.json",
    "/agents/progress/.well-known/agent.json",
]


def expected(mode: str) -> dict[str, Any]:
    if mode == "apikey":
        return {
            "security": [{"apikey": []}],
            "securityRequirements": [{"schemes": {"apikey": {"list": []}}}],
            "schemes": {"apikey": ("apiKey", "apiKeySecurityScheme")},
        }
    return {
        "security": [{"jwt": []}, {"oidc": []}],
        "securityRequirements": [
            {"schemes": {"jwt": {"list": []}}},
            {"schemes": {"oidc": {"list": []}}},
        ],
        "schemes": {
            "jwt": ("http", "httpAuthSecurityScheme"),
            "oidc": ("openIdConnect", "openIdConnectSecurityScheme"),
        },
    }


@pytest.mark.parametrize("mode", ["apikey", "jwt"])
async def test_the_card_is_public_and_states_the_mode(
    auth_gateways: AuthTargets, mode: str
) -> None:
    base = auth_gateways.apikey_url if mode == "apikey" else auth_gateways.jwt_url
    schema = json.loads(SCHEMA.read_text())
    validator = Draft7Validator({"$ref": "#/definitions/AgentCard", **schema})
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        cards = [(await http.get(base + path)) for path in CARD_PATHS]
        for path, response in zip(CARD_PATHS, cards, strict=True):
            assert response.status_code == 200, (path, response.text)
            card = response.json()
            assert not list(validator.iter_errors(card)), path
            assert card["supportsAuthenticatedExtendedCard"] is True
            assert card["capabilities"]["extendedAgentCard"] is True
            want = expected(mode)
            assert card["security"] == want["security"]
            assert card["securityRequirements"] == want["securityRequirements"]
            kinds = {
                name: (scheme["type"], *(k for k in scheme if k.endswith("SecurityScheme")))
                for name, scheme in card["securitySchemes"].items()
            }
            assert kinds == want["schemes"], path
        oidc = cards[0].json()["securitySchemes"].get("oidc")
        if oidc is not None:  # the issuer's discovery document, as the gateway reads it
            discovery = await http.get(oidc["openIdConnectUrl"])
            assert discovery.status_code == 200
            assert oidc["openIdConnectUrl"].startswith(discovery.json()["issuer"])
        body = {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "x"}}
        refused = await http.post(base + "/", json=body)
        assert refused.status_code == 401
        credential = auth_gateways.api_key if mode == "apikey" else auth_gateways.token
        admitted = await http.post(
            base + "/", json=body, headers={"Authorization": f"Bearer {credential}"}
        )
        assert admitted.status_code == 200
        assert admitted.json()["error"]["code"] == -32001  # authenticated: an unknown task
