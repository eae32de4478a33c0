"""Per-principal limits and the classes of callers they apply to (the routing file's
``limits`` section).

::

    {"limits": {
        "default": {"requestsPerSecond": 50, "burst": 100, "streams": 100, "waits": 100,
                    "runningTasks": 100, "pushConfigsPerTask": 10},
        "classes": [{"name": "batch", "principals": ["etl-robot"], "scopes": ["a2a/batch"],
                     "requestsPerSecond": 5, "runningTasks": 1000}]}}

A caller gets the limits of the first class whose rule (``access.Rule``: principals or
scopes) matches it, else ``default``; a key a class leaves out is the default's. Every key
is optional and has the built-in value of ``Limits``. They are enforced per principal in
Redis (``gateway.quota``), so every gateway process shares them:

======================  =======  =========  ================================================
key                     default  allowed    what it bounds, per principal
======================  =======  =========  ================================================
``requestsPerSecond``   50       0.01…1e5   requests (every protocol call), refilled rate
``burst``               100      1 … 1e6    requests at once after an idle spell
``streams``             100      1 … 1e5    open streams (message/stream, resubscribe, …)
``waits``               100      1 … 1e5    requests waiting for a task (blocking send, …)
``runningTasks``        100      1 … 1e6    tasks running a turn (not final, not waiting
                                            for input)
``pushConfigsPerTask``  10       1 … 100    push notification configs of one task
======================  =======  =========  ================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from a2a_gateway.access import Caller, Rule
from a2a_gateway.config import ConfigError


@dataclass(frozen=True)
class Limits:
    """One class's limits (module docstring)."""

    requests_per_second: float = 50.0
    burst: int = 100
    streams: int = 100
    waits: int = 100
    running_tasks: int = 100
    push_configs_per_task: int = 10


_KEYS: dict[str, tuple[str, float, float, bool]] = {
    # file key: (attribute, low, high, integer)
    "requestsPerSecond": ("requests_per_second", 0.01, 100_000, False),
    "burst": ("burst", 1, 1_000_000, True),
    "streams": ("streams", 1, 100_000, True),
    "waits": ("waits", 1, 100_000, True),
    "runningTasks": ("running_tasks", 1, 1_000_000, True),
    "pushConfigsPerTask": ("push_configs_per_task", 1, 100, True),
}


def out_of_the_way() -> dict[str, Any]:
    """A ``limits`` section whose default class has the highest value allowed for every
    rate and concurrency limit (push configs per task keep theirs): for a load test, or a
    test suite that is one principal flooding on purpose. The limits are still counted."""
    skip = "pushConfigsPerTask"
    return {"default": {key: int(high) for key, (_, _, high, _) in _KEYS.items() if key != skip}}


@dataclass(frozen=True)
class LimitClass:
    """A named class of callers (``rule``) and its limits."""

    name: str
    rule: Rule
    limits: Limits


@dataclass(frozen=True)
class LimitTable:
    """The default limits and the classes, in precedence order."""

    default: Limits = Limits()
    classes: tuple[LimitClass, ...] = ()

    def for_caller(self, caller: Caller) -> tuple[str, Limits]:
        """The name of the caller's class (``default`` if none matches) and its limits."""
        for limit_class in self.classes:
            if limit_class.rule.matches(caller):
                return limit_class.name, limit_class.limits
        return "default", self.default

    @classmethod
    def from_raw(cls, raw: Any) -> LimitTable:
        """The ``limits`` section of the routing file, or a ``ConfigError`` naming the key."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict) or set(raw) - {"default", "classes"}:
            raise ConfigError("routes: 'limits' must be an object with 'default' and 'classes'")
        default = _limits("limits.default", raw.get("default", {}), Limits(), ())
        classes: list[LimitClass] = []
        names: set[str] = set()
        listed = raw.get("classes", [])
        if not isinstance(listed, list):
            raise ConfigError("routes: 'limits.classes' must be a list")
        for index, entry in enumerate(listed):
            where = f"limits.classes[{index}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ConfigError(f"routes: {where} must be an object with a 'name'")
            name = entry["name"]
            if name in names or name == "default":
                raise ConfigError(f"routes: {where}: class name {name!r} is used twice")
            names.add(name)
            rule = Rule.from_raw(
                where, {k: v for k, v in entry.items() if k in ("principals", "scopes")}
            )
            limits = _limits(where, entry, default, ("name", "principals", "scopes"))
            classes.append(LimitClass(name, rule, limits))
        return cls(default, tuple(classes))


def _limits(where: str, raw: Any, base: Limits, other_keys: tuple[str, ...]) -> Limits:
    if not isinstance(raw, dict):
        raise ConfigError(f"routes: {where} must be an object")
    unknown = set(raw) - set(_KEYS) - set(other_keys)
    if unknown:
        raise ConfigError(
            f"routes: {where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"limits are {', '.join(_KEYS)}"
        )
    values: dict[str, Any] = {}
    for key, (attribute, low, high, integer) in _KEYS.items():
        if key not in raw:
            continue
        value = raw[key]
        numeric = isinstance(value, int) or (not integer and isinstance(value, float))
        if isinstance(value, bool) or not numeric or not math.isfinite(value):
            kind = "an integer" if integer else "a number"
            raise ConfigError(f"routes: {where}: {key!r} must be {kind}, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(
                f"routes: {where}: {key!r} must be between {low:g} and {high:g}, got {value!r}"
            )
        values[attribute] = int(value) if integer else float(value)
    assert {f.name for f in fields(Limits)} >= set(values)
    return replace(base, **values)
