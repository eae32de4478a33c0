"""Routing: which agents this deployment hosts, where their tasks run, what their cards say.

A route maps an agent name to a Temporal task queue, the plug-in that implements it
(``module:attribute``, a class or factory called with the route's ``options``), its card
metadata and its limits. The gateway reads routes to start workflows (on the route's
queue, with the route's ``TurnPolicy``) and serve cards; a worker reads the same routes to
know which plug-ins to load for which queues and how many turns each queue may run.

The file named by ``A2A_ROUTES_FILE`` (JSON) replaces the built-in routes::

    {"default": "echo",
     "agents": [{"name": "echo", "taskQueue": "a2a-echo",
                 "entrypoint": "a2a_gateway.agents.echo:EchoAgent",
                 "description": "…", "options": {"delay": 0.05},
                 "maxConcurrentTurns": 100, "turnTimeoutSeconds": 3600,
                 "skills": [{"id": "echo", "name": "Echo", "description": "…",
                             "tags": ["demo"], "examples": ["hello"]}]}]}

**Who may use an agent.** ``"access": {"principals": [...], "scopes": [...]}``
(``access.Rule``) limits an agent to the callers it names; anyone else gets HTTP 403 on
every protocol endpoint of the agent, and no extended card. Without ``access`` every
caller the gateway admits may use it. ``extendedSkills`` (skills, as in ``skills``) are
added to the agent's extended card, served to authenticated callers who may use it. The
top-level ``limits`` section sets per-principal limits by class of caller
(``limit_classes``).

**Isolation.** Each route runs on its own task queue (``taskQueue``, by default
``a2a-<name>``), so one agent's backlog never delays another's tasks. Routes that name
the same queue share its slots.

**Limits** (optional keys, checked at load; a value out of range is a ``ConfigError``
naming the agent and the key):

=====================  ============  ================  =====================================
key                    default       allowed           meaning
=====================  ============  ================  =====================================
``maxConcurrentTurns`` 100           1 … 10 000        turns of this route one worker process
                                                       runs at once (the queue's slots are
                                                       the sum over its routes)
``turnTimeoutSeconds`` 3600 (1 h)    1 … 604 800       one attempt of one turn
``turnAttempts``       3             1 … 100           attempts of a turn (retries with
                                                       backoff); then the task is ``failed``
``heartbeatSeconds``   10            1 … 600           a worker that stops heartbeating this
                                                       long is presumed dead and the turn
                                                       retried; at most ``turnTimeoutSeconds``
``taskTimeoutSeconds`` 604 800 (7 d) 1 … 7 776 000     the whole task, waits for input
                                                       included; then the task is ``failed``
``maxTurns``           1000          1 … 10 000        turns (messages) of one task
=====================  ============  ================  =====================================
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2a_gateway.access import Rule
from a2a_gateway.config import ConfigError
from a2a_gateway.core.contract import TurnPolicy
from a2a_gateway.limit_classes import LimitTable
from a2a_gateway.modes import JSON, TEXT
from a2a_gateway.store.keys import is_valid_id

if TYPE_CHECKING:
    from a2a_gateway.agents.base import Agent

QUEUE_PREFIX = "a2a-"
DEFAULT_MAX_CONCURRENT_TURNS = 100


@dataclass(frozen=True)
class Limit:
    """One limit key of a route: its ``TurnPolicy`` field (empty for the concurrency) and
    its allowed range."""

    key: str
    attribute: str
    low: float
    high: float
    integer: bool

    def read(self, agent: str, value: Any) -> int | float:
        """``value`` checked against the range; a ``ConfigError`` names agent and key."""
        kind = "an integer" if self.integer else "a number"
        numeric = isinstance(value, int) or (not self.integer and isinstance(value, float))
        if isinstance(value, bool) or not numeric or not math.isfinite(value):
            raise ConfigError(
                f"routes: agent {agent!r}: {self.key!r} must be {kind}, got {value!r}"
            )
        if not self.low <= value <= self.high:
            raise ConfigError(
                f"routes: agent {agent!r}: {self.key!r} must be between {self.low:g} and "
                f"{self.high:g}, got {value!r}"
            )
        return int(value) if self.integer else float(value)


LIMITS = (
    Limit("maxConcurrentTurns", "", 1, 10_000, integer=True),
    Limit("turnTimeoutSeconds", "turn_timeout_seconds", 1, 7 * 24 * 3600, integer=False),
    Limit("turnAttempts", "turn_attempts", 1, 100, integer=True),
    Limit("heartbeatSeconds", "heartbeat_seconds", 1, 600, integer=False),
    Limit("taskTimeoutSeconds", "task_timeout_seconds", 1, 90 * 24 * 3600, integer=False),
    Limit("maxTurns", "max_turns", 1, 10_000, integer=True),
)


def default_queue(name: str) -> str:
    """The task queue of a route that names none: one queue per agent."""
    return f"{QUEUE_PREFIX}{name}"


@dataclass(frozen=True)
class Route:
    """One hosted agent: its plug-in, its queue, its card and its limits (module docstring)."""

    name: str
    entrypoint: str
    task_queue: str = ""
    description: str = ""
    version: str = "1.0.0"
    skills: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    input_modes: list[str] = field(default_factory=lambda: [TEXT])
    output_modes: list[str] = field(default_factory=lambda: [TEXT])
    documentation_url: str = ""
    policy: TurnPolicy = field(default_factory=TurnPolicy)
    max_concurrent_turns: int = DEFAULT_MAX_CONCURRENT_TURNS
    access: Rule | None = None
    extended_skills: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.task_queue:
            object.__setattr__(self, "task_queue", default_queue(self.name))

    def load(self) -> Agent:
        """Import and build the plug-in; errors name the route and the entry point."""
        module_name, sep, attribute = self.entrypoint.partition(":")
        try:
            if not (sep and module_name and attribute):
                raise ValueError("expected 'package.module:attribute'")
            factory = getattr(importlib.import_module(module_name), attribute)
            agent: Agent = factory(**self.options)
        except (ImportError, AttributeError, ValueError, TypeError) as exc:
            raise ConfigError(
                f"agent {self.name!r}: cannot load entrypoint {self.entrypoint!r}: {exc}"
            ) from exc
        return agent


def limits(name: str, raw: dict[str, Any]) -> tuple[TurnPolicy, int]:
    """The route's ``TurnPolicy`` and turn concurrency from its routing-file entry; keys
    left out keep their defaults (module docstring)."""
    policy: dict[str, Any] = {}
    concurrency = DEFAULT_MAX_CONCURRENT_TURNS
    for limit in LIMITS:
        if limit.key not in raw:
            continue
        value = limit.read(name, raw[limit.key])
        if limit.attribute:
            policy[limit.attribute] = value
        else:
            concurrency = int(value)
    turn_policy = TurnPolicy(**policy)
    if turn_policy.heartbeat_seconds > turn_policy.turn_timeout_seconds:
        raise ConfigError(
            f"routes: agent {name!r}: 'heartbeatSeconds' ({turn_policy.heartbeat_seconds:g}) "
            f"must not exceed 'turnTimeoutSeconds' ({turn_policy.turn_timeout_seconds:g})"
        )
    return turn_policy, concurrency


@dataclass(frozen=True)
class Routing:
    """All routes, by name, and the one served at ``/``."""

    routes: dict[str, Route]
    default: str
    limits: LimitTable = field(default_factory=LimitTable)

    def get(self, name: str | None) -> Route | None:
        return self.routes.get(self.default if name is None else name)

    @property
    def task_queues(self) -> set[str]:
        return {r.task_queue for r in self.routes.values()}

    def queue_slots(self, queue: str) -> int:
        """How many turns one worker runs at once on ``queue``: the sum of the
        ``maxConcurrentTurns`` of the routes on it (0 if none is)."""
        return sum(r.max_concurrent_turns for r in self.routes.values() if r.task_queue == queue)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Routing:
        routes: dict[str, Route] = {}
        for raw in data.get("agents", []):
            try:
                name = raw["name"]
                policy, concurrency = limits(str(name), raw)
                route = Route(
                    name=name,
                    entrypoint=raw["entrypoint"],
                    task_queue=raw.get("taskQueue", ""),
                    description=raw.get("description", ""),
                    version=raw.get("version", "1.0.0"),
                    skills=list(raw.get("skills", [])),
                    options=dict(raw.get("options", {})),
                    input_modes=list(raw.get("inputModes", [TEXT])),
                    output_modes=list(raw.get("outputModes", [TEXT])),
                    documentation_url=raw.get("documentationUrl", ""),
                    policy=policy,
                    max_concurrent_turns=concurrency,
                    access=_access(str(name), raw),
                    extended_skills=_skills(str(name), raw.get("extendedSkills", [])),
                )
            except (KeyError, TypeError) as exc:
                raise ConfigError(
                    f"routes: each agent needs 'name' and 'entrypoint' ({exc})"
                ) from exc
            if not is_valid_id(route.name):
                raise ConfigError(f"routes: invalid agent name {route.name!r}")
            if not isinstance(route.task_queue, str) or not route.task_queue.strip():
                raise ConfigError(f"routes: agent {route.name!r}: 'taskQueue' must be a name")
            routes[route.name] = route
        if not routes:
            raise ConfigError("routes: no agents configured")
        default = data.get("default") or next(iter(routes))
        if default not in routes:
            raise ConfigError(f"routes: default agent {default!r} is not among the agents")
        return cls(routes=routes, default=default, limits=LimitTable.from_raw(data.get("limits")))

    @classmethod
    def load(cls, path: str = "") -> Routing:
        """The routes in ``path``, or the built-in ones when ``path`` is empty."""
        if not path:
            return builtin()
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"A2A_ROUTES_FILE={path!r}: {exc}") from exc
        return cls.from_dict(data)


def _access(name: str, raw: dict[str, Any]) -> Rule | None:
    """The agent's ``access`` rule; without one every caller the gateway admits may use it."""
    if "access" not in raw:
        return None
    return Rule.from_raw(f"agent {name!r}: 'access'", raw["access"])


def _skills(name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(
        isinstance(s, dict) and isinstance(s.get("id"), str) for s in value
    ):
        raise ConfigError(f"routes: agent {name!r}: 'extendedSkills' must be a list of skills")
    return [dict(s) for s in value]


BUILTIN_ROUTES: dict[str, Any] = {
    "default": "echo",
    "agents": [
        {
            "name": "echo",
            "entrypoint": "a2a_gateway.agents.echo:EchoAgent",
            "description": "Streams your message back, word by word.",
            "inputModes": [TEXT, JSON, "*/*"],
            "outputModes": [TEXT, JSON, "*/*"],
            "skills": [
                {
                    "id": "echo",
                    "name": "Echo",
                    "description": "Echoes text, file and data parts.",
                    "tags": ["demo"],
                    "examples": ["hello streaming world"],
                }
            ],
        },
        {
            "name": "progress",
            "entrypoint": "a2a_gateway.agents.progress:ProgressAgent",
            "description": "Reports progress step by step; cancelable at any moment.",
            # The longest request (1000 steps of 60 s) plus a margin.
            "turnTimeoutSeconds": 17 * 3600,
            "skills": [
                {
                    "id": "progress",
                    "name": "Progress",
                    "description": "One working update per step, then a result.",
                    "tags": ["demo"],
                    "examples": ["steps=5 interval=1.0"],
                }
            ],
        },
        {
            "name": "ask",
            "entrypoint": "a2a_gateway.agents.ask:AskAgent",
            "description": "Asks for your name, then greets you.",
            # The longest conversation: 1000 rounds of questions, then the greeting.
            "maxTurns": 1001,
            "skills": [
                {
                    "id": "ask",
                    "name": "Ask",
                    "description": "Goes input-required, completes with the answer.",
                    "tags": ["demo"],
                    "examples": ["hi"],
                }
            ],
        },
    ],
}
"""The built-in routing file (``builtin``)."""


def builtin() -> Routing:
    """The three demo agents every installation ships: ``echo`` (default), ``progress``,
    ``ask``, each on its own queue (``a2a-echo``, ``a2a-progress``, ``a2a-ask``) with the
    default limits, except that a ``progress`` turn may run as long as its largest request
    (1000 steps of 60 s, ``agents.progress``) and an ``ask`` task may hold its longest
    conversation (1000 rounds, ``agents.ask``)."""
    return Routing.from_dict(BUILTIN_ROUTES)
