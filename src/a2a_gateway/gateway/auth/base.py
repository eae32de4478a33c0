"""The authentication contract: an ``Identity``, the ``Authenticator`` protocol, errors.

An authenticator looks at request headers only. It answers ``None`` when the request
carries no credential of its scheme (so another authenticator may take it), an
``Identity`` when it carries a valid one, and raises ``AuthError`` when it carries one
that is not valid. ``AuthError.reason`` is short, fixed text that is safe to send to the
client: never the credential, never a stack, never key material. ``AuthUnavailable`` is
the one retryable failure (the issuer's keys cannot be fetched): HTTP 503, not 401.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from a2a_gateway.store.keys import ANONYMOUS, is_valid_id

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class Identity:
    """Who is calling. ``principal`` scopes keys and workflow ids; ``subject`` is for logs."""

    principal: str
    subject: str
    scheme: str
    scopes: frozenset[str] = field(default_factory=frozenset)


ANONYMOUS_IDENTITY = Identity(principal=ANONYMOUS, subject=ANONYMOUS, scheme="none")
_HASHED = re.compile(r"h-[0-9a-f]{40}")
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
REALM = "a2a-gateway"


class AuthError(Exception):
    """A credential was presented and is not valid (HTTP 401). ``reason`` is client-safe.

    ``scheme`` is the scheme that refused the credential (set by ``Authentication``), so
    that its challenge can say why (RFC 6750 ``error="invalid_token"``)."""

    def __init__(self, reason: str, *, scheme: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.scheme = scheme


class AuthUnavailable(AuthError):
    """The credential cannot be checked right now (the issuer's keys are unreachable):
    retryable, HTTP 503 with ``Retry-After``, not 401."""


def principal_id(name: str) -> str:
    """``name`` if it is a valid key id (``store.keys.is_valid_id``), else ``"h-"`` and the
    first 40 hex digits of its SHA-256 (JWT subs with ``|`` or ``@``, IAM ARNs), so that any
    subject maps to a stable key-safe principal.

    A name that already has the hashed form (``h-`` and 40 lower-case hex digits) is hashed
    too: otherwise a subject someone can choose (a username claim) could be spelt as the
    hashed principal of another subject and share its tasks. So the mapping is one-to-one
    short of a SHA-256 collision."""
    if is_valid_id(name) and not _HASHED.fullmatch(name):
        return name
    return "h-" + hashlib.sha256(name.encode()).hexdigest()[:40]


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (lower case), also from a case-sensitive mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None


def bearer_challenge(error: AuthError | None = None) -> str:
    """An RFC 6750 ``Bearer`` challenge: plain when no token was refused, else with
    ``error="invalid_token"`` and the (client-safe) reason as ``error_description``."""
    if error is None:
        return f'Bearer realm="{REALM}"'
    description = re.sub(r'[^\x20-\x7e]|["\\]', "", error.reason)
    return f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'


def looks_like_jwt(token: str) -> bool:
    """Whether ``token`` has the compact JWS shape, three dot-separated base64url parts (an
    unsigned ``a.b.`` included, so that the JWT authenticator is the one to refuse it)."""
    return bool(_JWT_SHAPE.fullmatch(token))


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive),
    ``""`` for a bearer header without a token, ``None`` without a bearer header."""
    value = header(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


class Authenticator(Protocol):
    """One authentication scheme; see the module docstring for the three answers."""

    scheme: str

    def challenge(self, error: AuthError | None = None) -> str:
        """The ``WWW-Authenticate`` value for this scheme; ``error`` is this scheme's
        refusal of the request's credential, when there was one."""
        ...

    async def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        """``None`` (no credential of this scheme), an ``Identity``, or ``AuthError``."""
        ...
