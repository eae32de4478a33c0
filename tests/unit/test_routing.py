"""Routing table: built-in routes, validation of route files, loading plug-ins."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.agents.ask import MAX_ROUNDS, AskAgent
from a2a_gateway.agents.echo import EchoAgent
from a2a_gateway.agents.progress import MAX_INTERVAL, MAX_STEPS, ProgressAgent
from a2a_gateway.config import ConfigError
from a2a_gateway.core.contract import TurnPolicy
from a2a_gateway.routing import DEFAULT_MAX_CONCURRENT_TURNS, Route, Routing, builtin

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


def test_builtin_agents_each_have_their_own_queue_and_limits() -> None:
    routing = builtin()
    assert routing.task_queues == {"a2a-echo", "a2a-progress", "a2a-ask"}
    for route in routing.routes.values():
        assert route.task_queue == f"a2a-{route.name}"
        assert route.max_concurrent_turns == DEFAULT_MAX_CONCURRENT_TURNS
        assert routing.queue_slots(route.task_queue) == DEFAULT_MAX_CONCURRENT_TURNS
        assert route.policy.turn_attempts == TurnPolicy().turn_attempts
    progress = routing.routes["progress"].policy
    assert progress.turn_timeout_seconds > MAX_STEPS * MAX_INTERVAL, "its longest request fits"
    assert routing.routes["ask"].policy.max_turns == MAX_ROUNDS + 1, "and its longest talk"
    assert routing.routes["echo"].policy == TurnPolicy()


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
    assert routing.routes["e2"].task_queue == "a2a-e2", "without 'taskQueue': a queue of its own"
    assert routing.task_queues == {"q1", "a2a-e2"}
    agent = e1.load()
    assert isinstance(agent, EchoAgent)
    assert agent.delay == 0


def test_from_dict_reads_limits() -> None:
    routing = Routing.from_dict(
        {
            "agents": [
                {
                    "name": "e1",
                    "entrypoint": ECHO,
                    "maxConcurrentTurns": 7,
                    "turnTimeoutSeconds": 90.5,
                    "turnAttempts": 5,
                    "heartbeatSeconds": 2,
                    "taskTimeoutSeconds": 600,
                    "maxTurns": 12,
                },
                {"name": "e2", "entrypoint": ECHO},
            ]
        }
    )
    e1 = routing.routes["e1"]
    assert e1.max_concurrent_turns == 7
    assert e1.policy == TurnPolicy(
        turn_timeout_seconds=90.5,
        turn_attempts=5,
        heartbeat_seconds=2.0,
        task_timeout_seconds=600.0,
        max_turns=12,
    )
    assert isinstance(e1.policy.turn_attempts, int)
    assert isinstance(e1.policy.heartbeat_seconds, float)
    e2 = routing.routes["e2"]
    assert e2.policy == TurnPolicy()
    assert e2.max_concurrent_turns == DEFAULT_MAX_CONCURRENT_TURNS


def test_routes_sharing_a_queue_share_its_slots() -> None:
    routing = Routing.from_dict(
        {
            "agents": [
                {"name": "a", "entrypoint": ECHO, "taskQueue": "q", "maxConcurrentTurns": 3},
                {"name": "b", "entrypoint": ECHO, "taskQueue": "q", "maxConcurrentTurns": 4},
                {"name": "c", "entrypoint": ECHO, "maxConcurrentTurns": 5},
            ]
        }
    )
    assert routing.queue_slots("q") == 7
    assert routing.queue_slots("a2a-c") == 5
    assert routing.queue_slots("nobody") == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("maxConcurrentTurns", 0),
        ("maxConcurrentTurns", 10_001),
        ("maxConcurrentTurns", 2.5),
        ("maxConcurrentTurns", "10"),
        ("maxConcurrentTurns", True),
        ("turnTimeoutSeconds", 0),
        ("turnTimeoutSeconds", -1),
        ("turnTimeoutSeconds", 7 * 24 * 3600 + 1),
        ("turnTimeoutSeconds", math.inf),
        ("turnTimeoutSeconds", math.nan),
        ("turnTimeoutSeconds", None),
        ("turnAttempts", 0),
        ("turnAttempts", 101),
        ("turnAttempts", 1.5),
        ("heartbeatSeconds", 0.5),
        ("heartbeatSeconds", 601),
        ("taskTimeoutSeconds", 0),
        ("taskTimeoutSeconds", 90 * 24 * 3600 + 1),
        ("maxTurns", 0),
        ("maxTurns", 10_001),
        ("maxTurns", [3]),
    ],
)
def test_limits_out_of_range_name_the_agent_and_the_key(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=rf"'my-agent'.*'{key}'"):
        Routing.from_dict({"agents": [{"name": "my-agent", "entrypoint": ECHO, key: value}]})


def test_heartbeat_longer_than_the_turn_timeout_is_refused() -> None:
    agent = {"name": "x", "entrypoint": ECHO, "turnTimeoutSeconds": 5, "heartbeatSeconds": 10}
    with pytest.raises(ConfigError, match="heartbeatSeconds"):
        Routing.from_dict({"agents": [agent]})


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"agents": [{"name": "x"}]}, id="missing-entrypoint"),
        pytest.param(
            {"agents": [{"name": "x", "entrypoint": ECHO, "taskQueue": 5}]}, id="queue-not-text"
        ),
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
