"""Agent cards: URLs per route, interfaces per version, and conformance to the A2A 0.2.5
and 0.3 AgentCard schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from a2a_gateway.config import Settings
from a2a_gateway.gateway.card import agent_card, agent_path
from a2a_gateway.routing import Routing, builtin

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


def test_modes_come_from_the_route() -> None:
    routing = builtin()
    echo = card("echo")
    assert "application/json" in echo["defaultInputModes"]
    assert card("progress")["defaultOutputModes"] == ["text/plain"]
    assert routing.routes["ask"].input_modes == ["text/plain"]
