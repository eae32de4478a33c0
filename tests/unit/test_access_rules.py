"""The routing file's access rules and limit classes: who a rule matches, what a file may
say, and what it is refused for (a ConfigError naming the place)."""

from __future__ import annotations

from typing import Any

import pytest

from a2a_gateway.access import Rule
from a2a_gateway.config import ConfigError
from a2a_gateway.gateway.auth.base import ANONYMOUS_IDENTITY, Identity
from a2a_gateway.limit_classes import Limits, LimitTable, out_of_the_way
from a2a_gateway.routing import BUILTIN_ROUTES, Routing

ALICE = Identity("alice", "alice", "apikey")
ARN = "arn:aws:iam::111122223333:role/robot"
ROBOT = Identity("h-" + "0" * 40, ARN, "iam")
SCOPED = Identity("carol", "carol", "jwt", frozenset({"openid", "a2a/batch"}))


def test_a_rule_matches_by_principal_by_subject_or_by_scope() -> None:
    rule = Rule.from_raw("x", {"principals": ["alice", ARN], "scopes": ["a2a/batch"]})
    assert rule.matches(ALICE)
    assert rule.matches(ROBOT)  # the subject an operator knows, not the hashed principal
    assert rule.matches(SCOPED)
    assert not rule.matches(Identity("bob", "bob", "apikey"))
    assert not rule.matches(ANONYMOUS_IDENTITY)


def test_star_matches_every_authenticated_caller_and_anonymous_only_by_name() -> None:
    star = Rule.from_raw("x", {"principals": ["*"]})
    assert star.matches(ALICE) and star.matches(ROBOT)
    assert not star.matches(ANONYMOUS_IDENTITY)
    assert Rule.from_raw("x", {"principals": ["anonymous"]}).matches(ANONYMOUS_IDENTITY)
    # a scope cannot admit anonymous callers, who have none
    assert not Rule.from_raw("x", {"scopes": ["openid"]}).matches(ANONYMOUS_IDENTITY)


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ({}, "names no principal and no scope"),
        ({"principals": []}, "names no principal and no scope"),
        ({"principals": "alice"}, "must be a list"),
        ({"principals": [""]}, "must be a list"),
        ({"scopes": [1]}, "must be a list"),
        ({"users": ["alice"]}, "unknown key"),
        (["alice"], "must be an object"),
    ],
)
def test_a_malformed_rule_is_refused(raw: Any, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Rule.from_raw("agent 'x': 'access'", raw)


def routing(**extra: Any) -> Routing:
    return Routing.from_dict({**BUILTIN_ROUTES, **extra})


def test_agents_carry_their_access_rule_and_extended_skills() -> None:
    agents = [dict(a) for a in BUILTIN_ROUTES["agents"]]
    agents[1]["access"] = {"principals": ["alice"]}
    agents[0]["extendedSkills"] = [{"id": "more", "name": "More"}]
    table = routing(agents=agents)
    progress, echo = table.routes["progress"], table.routes["echo"]
    assert progress.access is not None and progress.access.matches(ALICE)
    assert echo.access is None
    assert echo.extended_skills == [{"id": "more", "name": "More"}]
    agents[0]["extendedSkills"] = [{"name": "no id"}]
    with pytest.raises(ConfigError, match="'echo': 'extendedSkills'"):
        routing(agents=agents)
    agents[0]["extendedSkills"] = []
    agents[0]["access"] = {"principal": ["x"]}
    with pytest.raises(ConfigError, match="agent 'echo': 'access': unknown key"):
        routing(agents=agents)


def test_limits_default_to_the_built_in_values() -> None:
    assert routing().limits == LimitTable()
    name, limits = routing().limits.for_caller(ALICE)
    assert (name, limits) == ("default", Limits())
    assert limits.requests_per_second == 50 and limits.streams == 100


def test_a_caller_gets_the_first_matching_class_and_the_default_fills_the_rest() -> None:
    table = LimitTable.from_raw(
        {
            "default": {"requestsPerSecond": 5, "streams": 3},
            "classes": [
                {"name": "batch", "scopes": ["a2a/batch"], "runningTasks": 1000},
                {"name": "robots", "principals": [ARN, "carol"], "streams": 50},
            ],
        }
    )
    assert table.for_caller(SCOPED) == (
        "batch",
        Limits(requests_per_second=5, streams=3, running_tasks=1000),
    )
    assert table.for_caller(ROBOT) == ("robots", Limits(requests_per_second=5, streams=50))
    assert table.for_caller(ALICE) == ("default", Limits(requests_per_second=5, streams=3))
    assert table.for_caller(ANONYMOUS_IDENTITY)[0] == "default"


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        ({"default": {"streams": 0}}, r"limits.default: 'streams' must be between 1"),
        ({"default": {"streams": 1.5}}, "must be an integer"),
        ({"default": {"requestsPerSecond": "fast"}}, "must be a number"),
        ({"default": {"requestsPerSecond": float("inf")}}, "must be a number"),
        ({"default": {"burst": True}}, "must be an integer"),
        ({"default": {"stream": 1}}, "unknown key"),
        ({"classes": {}}, "must be a list"),
        ({"classes": [{"principals": ["a"]}]}, r"classes\[0\] must be an object with a 'name'"),
        ({"classes": [{"name": "a"}]}, "names no principal and no scope"),
        (
            {"classes": [{"name": "a", "scopes": ["s"]}, {"name": "a", "scopes": ["t"]}]},
            "used twice",
        ),
        ({"classes": [{"name": "default", "scopes": ["s"]}]}, "used twice"),
        ({"perPrincipal": {}}, "must be an object with 'default' and 'classes'"),
        ({"default": {"pushConfigsPerTask": 101}}, "between 1 and 100"),
    ],
)
def test_a_malformed_limits_section_is_refused(raw: Any, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        routing(limits=raw)


def test_limits_out_of_the_way_are_the_highest_allowed_and_still_valid() -> None:
    limits = LimitTable.from_raw(out_of_the_way()).default
    assert limits.requests_per_second == 100_000 and limits.running_tasks == 1_000_000
    assert limits.push_configs_per_task == Limits().push_configs_per_task
