"""Routing table: built-in routes, validation of route files, loading plug-ins."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.agents.ask import AskAgent
from a2a_gateway.agents.echo import EchoAgent
from a2a_gateway.agents.progress import ProgressAgent
from a2a_gateway.config import ConfigError
from a2a_gateway.routing import DEFAULT_QUEUE, Route, Routing, builtin

if TYPE_CHECKING:
    from pathlib import Path

ECHO = "a2a_gateway.agents.echo:EchoAgent"


def test_builtin_routes() -> None:
    routing = builtin()
    assert routing.default == "echo"
    assert set(routing.routes) == {"echo", "progress", "ask"}
    default = routing.get(None)
    assert default is not None
    assert default.name == "echo"
    assert routing.get("nope") is None
    assert routing.task_queues == {DEFAULT_QUEUE}


def test_builtin_agents_all_load() -> None:
    routing = builtin()
    expected = {"echo": EchoAgent, "progress": ProgressAgent, "ask": AskAgent}
    for name, route in routing.routes.items():
        agent = route.load()
        assert hasattr(agent, "run")
        assert callable(agent.run)
        assert isinstance(agent, expected[name])


def test_builtin_routes_have_skills_and_descriptions() -> None:
    for route in builtin().routes.values():
        assert route.description
        assert route.skills
        assert all({"id", "name", "description", "tags"} <= set(s) for s in route.skills)


def test_from_dict_reads_all_fields() -> None:
    routing = Routing.from_dict(
        {
            "agents": [
                {
                    "name": "e1",
                    "entrypoint": ECHO,
                    "taskQueue": "q1",
                    "description": "d",
                    "version": "2.0.0",
                    "options": {"delay": 0},
                    "skills": [{"id": "s", "name": "S", "description": "x", "tags": []}],
                },
                {"name": "e2", "entrypoint": ECHO},
            ]
        }
    )
    assert routing.default == "e1", "without 'default' the first agent is the default"
    e1 = routing.routes["e1"]
    assert e1.task_queue == "q1"
    assert e1.version == "2.0.0"
    assert e1.description == "d"
    assert e1.options == {"delay": 0}
    assert routing.routes["e2"].task_queue == DEFAULT_QUEUE
    assert routing.task_queues == {"q1", DEFAULT_QUEUE}
    agent = e1.load()
    assert isinstance(agent, EchoAgent)
    assert agent.delay == 0


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"agents": [{"name": "x"}]}, id="missing-entrypoint"),
        pytest.param({"agents": [{"entrypoint": ECHO}]}, id="missing-name"),
        pytest.param(
            {"default": "other", "agents": [{"name": "x", "entrypoint": ECHO}]},
            id="default-not-among-agents",
        ),
        pytest.param({"agents": [{"name": "bad name", "entrypoint": ECHO}]}, id="invalid-name"),
        pytest.param({"agents": [{"name": "a/b", "entrypoint": ECHO}]}, id="slash-in-name"),
        pytest.param({"agents": []}, id="empty-agents"),
        pytest.param({}, id="no-agents-key"),
    ],
)
def test_from_dict_rejects(data: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        Routing.from_dict(data)


def test_invalid_name_error_names_the_agent() -> None:
    with pytest.raises(ConfigError, match="bad name"):
        Routing.from_dict({"agents": [{"name": "bad name", "entrypoint": ECHO}]})


def test_missing_default_error_names_it() -> None:
    with pytest.raises(ConfigError, match="ghost"):
        Routing.from_dict({"default": "ghost", "agents": [{"name": "x", "entrypoint": ECHO}]})


@pytest.mark.parametrize(
    "entrypoint",
    [
        "no_such_module_for_a2a_tests:Agent",
        "a2a_gateway.agents.echo:NoSuchAgent",
        "a2a_gateway.agents.echo",
        ":EchoAgent",
        ".echo:EchoAgent",
    ],
)
def test_load_bad_entrypoint_names_the_agent(entrypoint: str) -> None:
    route = Route(name="broken-agent", entrypoint=entrypoint)
    with pytest.raises(ConfigError, match="broken-agent"):
        route.load()


def test_routing_load_empty_path_is_builtin() -> None:
    assert Routing.load("") == builtin()


def test_routing_load_reads_json_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.json"
    path.write_text(
        json.dumps(
            {
                "default": "b",
                "agents": [
                    {"name": "a", "entrypoint": ECHO},
                    {"name": "b", "entrypoint": ECHO, "taskQueue": "qb"},
                ],
            }
        )
    )
    routing = Routing.load(str(path))
    assert routing.default == "b"
    assert routing.routes["b"].task_queue == "qb"


@pytest.mark.parametrize("content", [None, "{not json"])
def test_routing_load_bad_file_names_the_variable(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "routes.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match="A2A_ROUTES_FILE"):
        Routing.load(str(path))
