"""Who a rule of the routing file applies to: principals by name, or callers holding a
scope or group.

A rule (``{"principals": [...], "scopes": [...]}``) matches a caller named in
``principals`` (by the principal the gateway keys its tasks with, or by the subject the
credential names: a JWT ``sub``, an API key's principal, an IAM ARN) or holding any of
``scopes`` (OAuth scopes and groups of a JWT: ``scope``, ``scp``, ``groups``,
``cognito:groups``). ``"*"`` among the principals matches every authenticated caller,
never ``anonymous``. A rule with neither list is refused at load: it would match nobody,
which is almost certainly a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from a2a_gateway.config import ConfigError

ANY_AUTHENTICATED = "*"
_ANONYMOUS = "anonymous"


class Caller(Protocol):
    """What a rule looks at (``gateway.auth.base.Identity`` has these)."""

    @property
    def principal(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def scopes(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Rule:
    """Principals and scopes; a caller matching either is in (module docstring)."""

    principals: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()

    def matches(self, caller: Caller) -> bool:
        if caller.principal == _ANONYMOUS:
            return _ANONYMOUS in self.principals
        if ANY_AUTHENTICATED in self.principals:
            return True
        if caller.principal in self.principals or caller.subject in self.principals:
            return True
        return not self.scopes.isdisjoint(caller.scopes)

    @classmethod
    def from_raw(cls, where: str, raw: Any) -> Rule:
        """The rule at ``where`` in the routing file, or a ``ConfigError`` naming it."""
        if not isinstance(raw, dict):
            raise ConfigError(f"routes: {where} must be an object with principals and/or scopes")
        unknown = set(raw) - {"principals", "scopes"}
        if unknown:
            raise ConfigError(f"routes: {where}: unknown key(s) {', '.join(sorted(unknown))}")
        lists = {key: _names(where, key, raw.get(key, [])) for key in ("principals", "scopes")}
        if not lists["principals"] and not lists["scopes"]:
            raise ConfigError(f"routes: {where} names no principal and no scope")
        return cls(lists["principals"], lists["scopes"])


def _names(where: str, key: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"routes: {where}: {key!r} must be a list of non-empty strings")
    return frozenset(value)
