"""API keys: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, checked against a file
of SHA-256 digests.

The file holds no key, only ``{"keys": [{"sha256": "<hex>", "principal": "alice",
"name": "ci"}]}`` (``name`` optional, for logs); the principal goes through
``principal_id``. Trusted: the file (whoever can write it can mint principals). Cached: the
parsed entries, re-read when the file's mtime, size or inode changes, checked at most every
``reload_seconds``, so keys are added and revoked without a restart. A missing or malformed
file at start is a ``ValueError`` (configuration error); on reload it is logged (path and
reason only) and the previous keys stay in force, so a half-written file never locks
everyone out. To revoke every key, write ``{"keys": []}``; deleting the file does not.

Every presented key is hashed and compared with every entry by ``hmac.compare_digest``.
Neither a key nor its digest is ever logged or put in an error. A bearer token shaped like a
JWT (three dot-separated base64url parts) is not an API key: ``None``, for the JWT
authenticator. Challenge: ``Bearer realm="a2a-gateway"`` (RFC 6750), with
``error="invalid_token"`` after a refused key; ``X-API-Key`` has no registered scheme, so
the challenge names only the bearer form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from a2a_gateway.gateway.auth.base import (
    AuthError,
    Identity,
    bearer_challenge,
    bearer_token,
    header,
    looks_like_jwt,
    principal_id,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"[0-9a-fA-F]{64}")


def hash_key(key: str) -> str:
    """The hex SHA-256 of ``key``: what the key file stores."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe; never shaped like a JWT)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    principal: str
    name: str


def _parse(text: str) -> list[_Entry]:
    """The entries of a key file, or ``ValueError`` saying what is wrong (never a digest)."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg}, line {err.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError('expected an object {"keys": [...]}')
    entries: list[_Entry] = []
    seen: set[bytes] = set()
    for i, item in enumerate(data["keys"]):
        if not isinstance(item, dict):
            raise ValueError(f"keys[{i}] is not an object")
        digest, principal, name = item.get("sha256"), item.get("principal"), item.get("name", "")
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ValueError(f"keys[{i}].sha256 is not 64 hex digits")
        if not isinstance(principal, str) or not principal:
            raise ValueError(f"keys[{i}].principal is missing or empty")
        if not isinstance(name, str):
            raise ValueError(f"keys[{i}].name is not a string")
        raw = bytes.fromhex(digest)
        if raw in seen:
            raise ValueError(f"keys[{i}] repeats the digest of an earlier key")
        seen.add(raw)
        entries.append(_Entry(raw, principal_id(principal), name or principal))
    return entries


class ApiKeys:
    """The ``apikey`` authenticator over the key file at ``path``."""

    scheme = "apikey"

    def __init__(self, path: Path, *, reload_seconds: float = 1.0) -> None:
        self.path = path
        self.reload_seconds = reload_seconds
        try:
            signature = self._signature()
            self._entries = _parse(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise ValueError(f"API key file {path}: {_describe(err)}") from None
        self._signature_seen = signature
        self._checked_at = time.monotonic()

    def challenge(self, error: AuthError | None = None) -> str:
        return bearer_challenge(error)

    async def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        key = self._presented(headers)
        if key is None:
            return None
        self._maybe_reload()
        digest = hashlib.sha256(key.encode()).digest()
        match: _Entry | None = None
        for entry in self._entries:  # no early exit: the time does not depend on the match
            if hmac.compare_digest(digest, entry.digest):
                match = entry
        if match is None:
            raise AuthError("invalid API key")
        return Identity(principal=match.principal, subject=match.name, scheme=self.scheme)

    @staticmethod
    def _presented(headers: Mapping[str, str]) -> str | None:
        """The key in the request, ``None`` without one; two different keys are an error."""
        explicit = header(headers, "x-api-key")
        token = bearer_token(headers)
        if token is not None and looks_like_jwt(token):
            token = None
        if explicit is not None:
            explicit = explicit.strip()
            if token is not None and token != explicit:
                raise AuthError("two different API keys in one request")
            token = explicit
        if token == "":
            raise AuthError("empty API key")
        return token

    def _signature(self) -> tuple[int, int, int]:
        """What tells a changed file: mtime, size and inode (an atomic rename is a change)."""
        stat = os.stat(self.path)
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.reload_seconds:
            return
        self._checked_at = now
        try:
            signature = self._signature()
        except OSError as err:
            signature, problem = (-1, -1, -1), _describe(err)
        else:
            if signature == self._signature_seen:
                return
            try:
                entries = _parse(self.path.read_text(encoding="utf-8"))
                problem = ""
            except (OSError, UnicodeDecodeError, ValueError) as err:
                problem = _describe(err)
        if signature == self._signature_seen:
            return  # still missing: reported already
        self._signature_seen = signature  # a bad file is reported once, not at every check
        if problem:
            log.error(
                "API key file %s not reloaded, keeping the previous %d keys: %s",
                self.path,
                len(self._entries),
                problem,
            )
            return
        self._entries = entries
        log.info("API key file %s reloaded: %d keys", self.path, len(entries))


def _describe(err: Exception) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    if isinstance(err, UnicodeDecodeError):
        return "not UTF-8"
    return str(err)
