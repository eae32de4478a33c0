"""Agent cards: URLs per route, interfaces per version, the configured security, and
conformance to the A2A 0.2.5 and 0.3 AgentCard schemas and to the A2A 1.0 ``AgentCard``
as a2a-sdk 1.x parses it (strictly, and the way its client reads a served card)."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from a2a.types import AgentCard as AgentCard02
from a2a.types import APIKeySecurityScheme, HTTPAuthSecurityScheme, OpenIdConnectSecurityScheme

from a2a_gateway.config import Settings
from a2a_gateway.gateway import card as cards
from a2a_gateway.gateway.card import agent_card, agent_path
from a2a_gateway.routing import Routing, builtin
from tests.interop import envs

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "data" / "a2a.schema.json"
SCHEMA_03_PATH = Path(__file__).resolve().parents[1] / "data" / "a2a-v0.3.schema.json"
BASE = "https://agents.example.com"


@pytest.fixture(scope="module", params=["0.2.5", "0.3.0"])
def card_validator(request: pytest.FixtureRequest) -> jsonschema.protocols.Validator:
    path = SCHEMA_PATH if request.param == "0.2.5" else SCHEMA_03_PATH
    schema = json.loads(path.read_text())
    wrapped = {
        "$schema": schema.get("$schema", "http://json-schema.org/draft-07/schema#"),
        "$ref": "#/definitions/AgentCard",
        "definitions": schema["definitions"],
    }
    cls = jsonschema.validators.validator_for(wrapped)
    cls.check_schema(wrapped)
    return cls(wrapped)


def card(name: str, base: str = BASE, routing: Routing | None = None) -> dict[str, Any]:
    routing = routing or builtin()
    route = routing.routes[name]
    return agent_card(routing, route, base, Settings())


def test_default_agent_is_served_at_root() -> None:
    assert card("echo")["url"] == BASE + "/"
    assert agent_path(builtin(), builtin().routes["echo"]) == "/"


@pytest.mark.parametrize("name", ["progress", "ask"])
def test_other_agents_are_served_under_agents(name: str) -> None:
    assert card(name)["url"] == f"{BASE}/agents/{name}/"


def test_trailing_slash_in_base_url_is_not_doubled() -> None:
    assert card("echo", BASE + "/")["url"] == BASE + "/"
    assert card("ask", BASE + "/")["url"] == BASE + "/agents/ask/"


@pytest.mark.parametrize("name", ["echo", "progress"])
def test_every_version_finds_an_interface_at_the_agent_url(name: str) -> None:
    c = card(name)
    url = c["url"]
    assert c["preferredTransport"] == "JSONRPC"
    assert c["additionalInterfaces"] == [{"url": url, "transport": "JSONRPC"}]
    assert c["supportedInterfaces"] == [
        {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
        {"url": url, "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
        {"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
    ]
    assert c["capabilities"]["extendedAgentCard"] is False


def test_card_describes_the_route() -> None:
    routing = builtin()
    route = routing.routes["progress"]
    c = agent_card(routing, route, BASE, Settings())
    assert c["name"] == "progress"
    assert c["description"] == route.description
    assert c["version"] == route.version
    assert c["skills"] == route.skills
    assert c["protocolVersion"] == "0.3.0"
    assert c["capabilities"]["streaming"] is True
    assert c["capabilities"]["pushNotifications"] is False


@pytest.mark.parametrize("name", ["echo", "progress", "ask"])
def test_builtin_cards_match_the_schema(
    card_validator: jsonschema.protocols.Validator, name: str
) -> None:
    errors = sorted(card_validator.iter_errors(card(name)), key=str)
    assert errors == [], [e.message for e in errors]


def test_minimal_route_card_matches_the_schema(
    card_validator: jsonschema.protocols.Validator,
) -> None:
    routing = Routing.from_dict(
        {"agents": [{"name": "bare", "entrypoint": "a2a_gateway.agents.echo:EchoAgent"}]}
    )
    c = agent_card(routing, routing.routes["bare"], "", Settings())
    errors = sorted(card_validator.iter_errors(c), key=str)
    assert errors == [], [e.message for e in errors]
    assert c["description"]
    assert [s["id"] for s in c["skills"]] == ["bare"]


def test_validator_rejects_a_card_missing_a_required_field(
    card_validator: jsonschema.protocols.Validator,
) -> None:
    broken = card("echo")
    del broken["url"]
    assert not card_validator.is_valid(broken)


def test_capabilities_and_documentation_follow_settings() -> None:
    routing = builtin()
    route = routing.routes["echo"]
    plain = agent_card(routing, route, BASE, Settings())
    assert plain["capabilities"]["pushNotifications"] is False
    assert "documentationUrl" not in plain
    settings = Settings(push_notifications=True, documentation_url="https://docs.example.com")
    rich = agent_card(routing, route, BASE, settings)
    assert rich["capabilities"]["pushNotifications"] is True
    assert rich["documentationUrl"] == "https://docs.example.com"


def test_what_depends_on_the_settings_alone_is_built_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every card fetch used to build the security schemes twice and the offered
    extensions again; they depend on the (frozen) settings alone, so equal settings share
    them (an audience of its own: no earlier test built these)."""
    calls: list[Settings] = []
    schemes = cards.security_schemes

    def counted(settings: Settings) -> dict[str, dict[str, str]]:
        calls.append(settings)
        return schemes(settings)

    monkeypatch.setattr(cards, "security_schemes", counted)
    settings = Settings(
        auth="apikey,jwt", jwt_issuer=ISSUER, jwt_audience=uuid.uuid4().hex, push_notifications=True
    )
    routing = builtin()
    made = [agent_card(routing, route, BASE, settings) for route in routing.routes.values()]
    again = agent_card(routing, routing.routes["echo"], BASE, dataclasses.replace(settings))
    assert len(calls) == 1
    assert again["securitySchemes"].keys() == {"apikey", "jwt", "oidc"}
    assert all(c["securitySchemes"] is again["securitySchemes"] for c in made)
    assert again["capabilities"]["extensions"]
    assert all(c["capabilities"]["extensions"] is again["capabilities"]["extensions"] for c in made)


def test_modes_come_from_the_route() -> None:
    routing = builtin()
    echo = card("echo")
    assert "application/json" in echo["defaultInputModes"]
    assert card("progress")["defaultOutputModes"] == ["text/plain"]
    assert routing.routes["ask"].input_modes == ["text/plain"]


# -- security ------------------------------------------------------------------------------

ISSUER = "https://issuer.example.com/tenant"
AUDIENCE = "a2a-gateway"
DISCOVERY = ISSUER + "/.well-known/openid-configuration"
JWT = {"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE}

# A2A_AUTH (with the settings a mode needs) -> the security alternatives (OR), in order,
# each the scheme names it needs; [] is anonymous.
MODES: dict[str, tuple[dict[str, str], list[list[str]]]] = {
    "none": ({"auth": "none"}, []),
    "unset": ({}, []),
    "apikey": ({"auth": "apikey"}, [["apikey"]]),
    "jwt": ({"auth": "jwt", **JWT}, [["jwt"], ["oidc"]]),
    "jwt-with-jwks-url": (
        {"auth": "jwt", **JWT, "jwks_url": "https://keys.example.com/jwks.json"},
        [["jwt"]],
    ),
    "iam": ({"auth": "iam"}, [["iam"]]),
    "none,apikey": ({"auth": "none,apikey"}, [[], ["apikey"]]),
    "apikey,none": ({"auth": "apikey,none"}, [["apikey"], []]),
    "jwt,apikey": ({"auth": "jwt,apikey", **JWT}, [["jwt"], ["oidc"], ["apikey"]]),
    "apikey,jwt,iam": ({"auth": "apikey,jwt,iam", **JWT}, [["apikey"], ["jwt"], ["oidc"], ["iam"]]),
    "none,iam,apikey,jwt": (
        {"auth": "none,iam,apikey,jwt", **JWT},
        [[], ["iam"], ["apikey"], ["jwt"], ["oidc"]],
    ),
}
MODE_IDS = list(MODES)

# The 0.2.5/0.3 (OpenAPI) fields of each scheme, and its 1.0 ProtoJSON oneof.
OPENAPI = {
    "apikey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "jwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "oidc": {"type": "openIdConnect", "openIdConnectUrl": DISCOVERY},
    "iam": {"type": "http", "scheme": "AWS4-HMAC-SHA256"},
}
V1 = {
    "apikey": {"apiKeySecurityScheme": {"location": "header", "name": "X-API-Key"}},
    "jwt": {"httpAuthSecurityScheme": {"scheme": "bearer", "bearerFormat": "JWT"}},
    "oidc": {"openIdConnectSecurityScheme": {"openIdConnectUrl": DISCOVERY}},
    "iam": {"httpAuthSecurityScheme": {"scheme": "AWS4-HMAC-SHA256"}},
}
ONEOFS = {"apiKeySecurityScheme", "httpAuthSecurityScheme", "openIdConnectSecurityScheme"}

# Fields only 0.2.5/0.3 read (the official a2a-sdk 1.x server merges the same ones into
# its cards): left out of the 1.0 view, which must parse strictly without them.
LEGACY_FIELDS = {
    "protocolVersion",
    "url",
    "preferredTransport",
    "additionalInterfaces",
    "supportsAuthenticatedExtendedCard",
    "security",
}


def secured(mode: str, name: str = "echo") -> dict[str, Any]:
    settings, _ = MODES[mode]
    routing = builtin()
    return agent_card(routing, routing.routes[name], BASE, Settings(**settings))


def v1_view(card: dict[str, Any]) -> dict[str, Any]:
    """The card's 1.0 fields alone: no 0.2.5/0.3 field, each scheme only its oneof."""
    view = {k: v for k, v in card.items() if k not in LEGACY_FIELDS}
    view["capabilities"] = {
        k: v for k, v in card["capabilities"].items() if k != "stateTransitionHistory"
    }
    if "securitySchemes" in view:
        view["securitySchemes"] = {
            name: {k: v for k, v in scheme.items() if k in ONEOFS}
            for name, scheme in card["securitySchemes"].items()
        }
    return view


@pytest.mark.parametrize("mode", MODE_IDS)
def test_card_states_exactly_the_configured_security(mode: str) -> None:
    c = secured(mode)
    _, alternatives = MODES[mode]
    authenticated = any(alternatives)
    assert c["supportsAuthenticatedExtendedCard"] is authenticated
    assert c["capabilities"]["extendedAgentCard"] is authenticated
    if not alternatives:
        assert not {"securitySchemes", "security", "securityRequirements"} & set(c)
        return
    assert c["security"] == [{name: [] for name in names} for names in alternatives]
    assert c["securityRequirements"] == [
        {"schemes": {name: {"list": []} for name in names}} for names in alternatives
    ]
    named = {name for names in alternatives for name in names}
    assert set(c["securitySchemes"]) == named
    for name, shared in c["securitySchemes"].items():
        scheme = copy.deepcopy(shared)  # the card's fields are shared by every card
        description = scheme.pop("description")
        assert description
        (oneof,) = set(scheme) & ONEOFS
        v1 = scheme.pop(oneof)
        assert v1.pop("description") == description
        assert scheme == OPENAPI[name], name
        assert {oneof: v1} == V1[name], name


def test_the_descriptions_say_how_to_send_each_credential() -> None:
    schemes = secured("apikey,jwt,iam")["securitySchemes"]
    assert "X-API-Key" in schemes["apikey"]["description"]
    assert "Authorization: Bearer" in schemes["apikey"]["description"]
    assert ISSUER in schemes["jwt"]["description"]
    assert AUDIENCE in schemes["jwt"]["description"]
    assert "Signature Version 4" in schemes["iam"]["description"]


def test_the_oidc_url_is_the_discovery_document_the_gateway_reads() -> None:
    for issuer in (ISSUER, ISSUER + "/"):
        c = agent_card(
            builtin(),
            builtin().routes["echo"],
            BASE,
            Settings(auth="jwt", jwt_issuer=issuer, jwt_audience=AUDIENCE),
        )
        assert c["securitySchemes"]["oidc"]["openIdConnectUrl"] == DISCOVERY


@pytest.mark.parametrize("mode", MODE_IDS)
@pytest.mark.parametrize("name", ["echo", "progress"])
def test_secured_cards_match_the_schema(
    card_validator: jsonschema.protocols.Validator, mode: str, name: str
) -> None:
    errors = sorted(card_validator.iter_errors(secured(mode, name)), key=str)
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("mode", MODE_IDS)
def test_the_0_2_client_models_read_the_openapi_fields(mode: str) -> None:
    """a2a-sdk 0.2.x (the project's dev dependency; 0.3.x has the same models) reads each
    scheme as its OpenAPI type and ignores the 1.0 oneof beside it."""
    card = AgentCard02.model_validate(secured(mode))
    _, alternatives = MODES[mode]
    assert card.security == ([{n: [] for n in names} for names in alternatives] or None)
    kinds = {
        name: type(scheme.root).__name__ for name, scheme in (card.security_schemes or {}).items()
    }
    expected = {
        "apikey": APIKeySecurityScheme.__name__,
        "jwt": HTTPAuthSecurityScheme.__name__,
        "oidc": OpenIdConnectSecurityScheme.__name__,
        "iam": HTTPAuthSecurityScheme.__name__,
    }
    assert kinds == {n: expected[n] for names in alternatives for n in names}
    if "apikey" in kinds:
        scheme = card.security_schemes["apikey"].root  # type: ignore[index]
        assert (scheme.in_.value, scheme.name) == ("header", "X-API-Key")


@pytest.fixture(scope="module")
def v1_cards() -> dict[str, dict[str, Any]]:
    """Every mode's card through ``clients/check_card_v1.py`` in the interop 1.x
    environment (built if missing, as the interop suite does)."""
    envs.build([envs.SDK1_ENV])
    lines = [
        json.dumps({"label": mode, "card": secured(mode), "v1": v1_view(secured(mode))})
        for mode in MODE_IDS
    ]
    done = subprocess.run(
        [str(envs.SDK1_ENV.python), str(envs.CLIENTS_DIR / "check_card_v1.py")],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {v["label"]: v for v in map(json.loads, done.stdout.splitlines())}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", MODE_IDS)
def test_the_1_0_fields_parse_as_a2a_sdk_1_types(
    v1_cards: dict[str, dict[str, Any]], mode: str
) -> None:
    """The 1.0 view parses strictly as ``a2a_pb2.AgentCard`` (every REQUIRED field), and
    the official 1.x client, reading the served card (it maps the OpenAPI fields it finds),
    ends with the same security as the 1.0 fields say."""
    verdict = v1_cards[mode]
    assert verdict["strict"] is None, verdict["strict"]
    assert verdict["client"] == verdict["v1"]
    _, alternatives = MODES[mode]
    requirements = verdict["v1"]["securityRequirements"] or []
    assert [sorted(r.get("schemes", {})) for r in requirements] == alternatives
    assert sorted(verdict["v1"]["securitySchemes"] or {}) == sorted(
        {n for names in alternatives for n in names}
    )
    assert bool(verdict["v1"]["capabilities"].get("extendedAgentCard")) is any(alternatives)
