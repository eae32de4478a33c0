"""Routing: which agents this deployment hosts, where their tasks run, what their cards say.

A route maps an agent name to a Temporal task queue, the plug-in that implements it
(``module:attribute``, a class or factory called with the route's ``options``) and its
card metadata. The gateway reads routes to start workflows and serve cards; a worker
reads the same routes to know which plug-ins to load for which queues.

The file named by ``A2A_ROUTES_FILE`` (JSON) replaces the built-in routes::

    {"default": "echo",
     "agents": [{"name": "echo", "taskQueue": "a2a-agents",
                 "entrypoint": "a2a_gateway.agents.echo:EchoAgent",
                 "description": "…", "options": {"delay": 0.05},
                 "skills": [{"id": "echo", "name": "Echo", "description": "…",
                             "tags": ["demo"], "examples": ["hello"]}]}]}
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from a2a_gateway.config import ConfigError
from a2a_gateway.modes import JSON, TEXT
from a2a_gateway.store.keys import is_valid_id

if TYPE_CHECKING:
    from a2a_gateway.agents.base import Agent

DEFAULT_QUEUE = "a2a-agents"


@dataclass(frozen=True)
class Route:
    """One hosted agent."""

    name: str
    entrypoint: str
    task_queue: str = DEFAULT_QUEUE
    description: str = ""
    version: str = "1.0.0"
    skills: list[dict[str, Any]] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    input_modes: list[str] = field(default_factory=lambda: [TEXT])
    output_modes: list[str] = field(default_factory=lambda: [TEXT])
    documentation_url: str = ""

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


@dataclass(frozen=True)
class Routing:
    """All routes, by name, and the one served at ``/``."""

    routes: dict[str, Route]
    default: str

    def get(self, name: str | None) -> Route | None:
        return self.routes.get(self.default if name is None else name)

    @property
    def task_queues(self) -> set[str]:
        return {r.task_queue for r in self.routes.values()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Routing:
        routes: dict[str, Route] = {}
        for raw in data.get("agents", []):
            try:
                route = Route(
                    name=raw["name"],
                    entrypoint=raw["entrypoint"],
                    task_queue=raw.get("taskQueue", DEFAULT_QUEUE),
                    description=raw.get("description", ""),
                    version=raw.get("version", "1.0.0"),
                    skills=list(raw.get("skills", [])),
                    options=dict(raw.get("options", {})),
                    input_modes=list(raw.get("inputModes", [TEXT])),
                    output_modes=list(raw.get("outputModes", [TEXT])),
                    documentation_url=raw.get("documentationUrl", ""),
                )
            except (KeyError, TypeError) as exc:
                raise ConfigError(
                    f"routes: each agent needs 'name' and 'entrypoint' ({exc})"
                ) from exc
            if not is_valid_id(route.name):
                raise ConfigError(f"routes: invalid agent name {route.name!r}")
            routes[route.name] = route
        if not routes:
            raise ConfigError("routes: no agents configured")
        default = data.get("default") or next(iter(routes))
        if default not in routes:
            raise ConfigError(f"routes: default agent {default!r} is not among the agents")
        return cls(routes=routes, default=default)

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


def builtin() -> Routing:
    """The three demo agents every installation ships: ``echo`` (default), ``progress``, ``ask``."""
    return Routing.from_dict(
        {
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
    )
