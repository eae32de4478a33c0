"""API keys: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``, checked against a list
of SHA-256 digests kept in a file or in an AWS Secrets Manager secret.

The list holds no key, only ``{"keys": [{"sha256": "<hex>", "principal": "alice",
"name": "ci"}]}`` (``name`` optional, for logs); the principal goes through
``principal_id``. Trusted: whoever can write the list (they can mint principals).

Two sources, the same document:

* ``ApiKeys(path)``, a file (``A2A_API_KEYS_FILE``). Cached: the parsed entries, re-read when
  the file's mtime, size or inode changes, checked at most every ``reload_seconds``. A
  missing or malformed file at start is a ``ValueError`` (configuration error); on reload it
  is logged (path and reason only) and the previous keys stay in force, so a half-written
  file never locks everyone out. To revoke every key, write ``{"keys": []}``; deleting the
  file does not.
* ``SecretApiKeys(secret_id)``, the SecretString of a Secrets Manager secret
  (``A2A_API_KEYS_SECRET``, a name or an ARN), fetched with boto3 (part of the Lambda
  runtime) in a worker thread, never on the event loop. Cached for ``reload_seconds``
  (default 60), so a key put into the secret or taken out of it counts within a minute,
  without a restart. Nothing is fetched at construction. A fetch that fails, or a secret
  that does not parse, after a successful load keeps the previous keys and logs a warning
  (the secret's id and the reason; never its value); it is retried after
  ``retry_seconds``. Before any successful load there are no keys to check against: a
  request presenting an API key is ``AuthUnavailable`` (HTTP 503, retryable), never
  accepted. A broken document is rejected whole: no key is ever accepted from it.

Every presented key is hashed and compared with every entry by ``hmac.compare_digest``.
Neither a key nor its digest is ever logged or put in an error. A bearer token shaped like a
JWT (three dot-separated base64url parts) is not an API key: ``None``, for the JWT
authenticator. Challenge: ``Bearer realm="a2a-gateway"`` (RFC 6750), with
``error="invalid_token"`` after a refused key; ``X-API-Key`` has no registered scheme, so
the challenge names only the bearer form.

Operators create keys with ``new_entry`` (or ``python -m a2a_gateway.gateway.auth.apikey
new PRINCIPAL [NAME]``): the key, shown once to hand to the caller, and the entry (its
hash) to add to the list; ``add``/``revoke`` rewrite a document read on stdin (see
``docs/deploy.md``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import importlib
import importlib.util
import json
import logging
import os
import re
import secrets
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from a2a_gateway.gateway.auth.base import (
    AuthError,
    AuthUnavailable,
    Identity,
    bearer_challenge,
    bearer_token,
    header,
    looks_like_jwt,
    principal_id,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    Fetch = Callable[[str], str]

log = logging.getLogger(__name__)

_DIGEST = re.compile(r"[0-9a-fA-F]{64}")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+")
UNAVAILABLE = "cannot check API keys right now"
FAILURE_BACKOFF_SECONDS = 5.0


def hash_key(key: str) -> str:
    """The hex SHA-256 of ``key``: what the key list stores."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random key (256 bits, URL-safe; never shaped like a JWT)."""
    return secrets.token_urlsafe(32)


def new_entry(principal: str, name: str = "") -> tuple[str, dict[str, str]]:
    """A new key and the entry to add to the key list for it: ``(key, {"sha256": ...,
    "principal": principal, "name": name})``. The key is returned once and stored nowhere;
    hand it to the caller. ``ValueError`` for an empty principal."""
    if not principal:
        raise ValueError("the principal must not be empty")
    key = new_key()
    entry = {"sha256": hash_key(key), "principal": principal}
    if name:
        entry["name"] = name
    return key, entry


def with_entry(document: str, entry: Mapping[str, str]) -> str:
    """The key list ``document`` (JSON text) with ``entry`` appended, as JSON text; checked
    like the gateway checks it (``ValueError`` names the problem, never a digest)."""
    data = _document(document)
    data["keys"].append(dict(entry))
    text = json.dumps(data, indent=2)
    _parse(text)
    return text


def without(document: str, name: str) -> tuple[str, int]:
    """The key list ``document`` without the entries whose ``name`` (or, for entries without
    a name, ``principal``) is ``name``, and how many were removed."""
    data = _document(document)
    kept = [
        item
        for item in data["keys"]
        if not isinstance(item, dict) or (item.get("name") or item.get("principal")) != name
    ]
    removed = len(data["keys"]) - len(kept)
    data["keys"] = kept
    text = json.dumps(data, indent=2)
    _parse(text)
    return text, removed


def _document(text: str) -> dict[str, Any]:
    _parse(text)  # the same checks as the gateway's, before anything is changed
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    principal: str
    name: str


def _parse(text: str) -> list[_Entry]:
    """The entries of a key list, or ``ValueError`` saying what is wrong (never a digest)."""
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


def _identify(entries: Sequence[_Entry], key: str, scheme: str) -> Identity:
    digest = hashlib.sha256(key.encode()).digest()
    match: _Entry | None = None
    for entry in entries:  # no early exit: the time does not depend on the match
        if hmac.compare_digest(digest, entry.digest):
            match = entry
    if match is None:
        raise AuthError("invalid API key")
    return Identity(principal=match.principal, subject=match.name, scheme=scheme)


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
        key = _presented(headers)
        if key is None:
            return None
        self._maybe_reload()
        return _identify(self._entries, key, self.scheme)

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


class SecretApiKeys:
    """The ``apikey`` authenticator over the SecretString of the Secrets Manager secret
    ``secret_id`` (a name or an ARN). ``fetch(secret_id)`` returns that string; it blocks,
    so it runs in a worker thread (default: boto3's ``GetSecretValue`` with
    ``timeout_seconds`` for connecting and for reading, two attempts)."""

    scheme = "apikey"

    def __init__(
        self,
        secret_id: str,
        *,
        reload_seconds: float = 60.0,
        retry_seconds: float = FAILURE_BACKOFF_SECONDS,
        timeout_seconds: float = 5.0,
        fetch: Fetch | None = None,
    ) -> None:
        if not secret_id:
            raise ValueError("the API key secret id must not be empty")
        if reload_seconds <= 0 or retry_seconds <= 0:
            raise ValueError("the API key secret's reload and retry intervals must be positive")
        self.secret_id = secret_id
        self.reload_seconds = reload_seconds
        self.retry_seconds = retry_seconds
        self._fetch = fetch or secrets_manager_fetch(secret_id, timeout_seconds)
        self._entries: list[_Entry] | None = None
        self._attempted_at: float | None = None
        self._problem = ""  # of the current run of failed fetches, logged once
        self._lock = asyncio.Lock()

    def challenge(self, error: AuthError | None = None) -> str:
        return bearer_challenge(error)

    async def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        key = _presented(headers)
        if key is None:
            return None
        entries = await self._current()
        return _identify(entries, key, self.scheme)

    async def _current(self) -> list[_Entry]:
        """The keys in force, fetched again when due. While a refresh runs, requests that
        already have keys use them rather than wait; the first load is waited for."""
        if self._lock.locked():  # a fetch is running
            if self._entries is None:
                async with self._lock:  # the first load: wait for its outcome
                    pass
        elif self._due():
            async with self._lock:
                await self._load()
        if self._entries is None:
            raise AuthUnavailable(UNAVAILABLE)
        return self._entries

    def _due(self) -> bool:
        if self._attempted_at is None:
            return True
        interval = self.reload_seconds
        if self._problem:
            interval = min(interval, self.retry_seconds)
        return time.monotonic() - self._attempted_at >= interval

    async def _load(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            entries = _parse(await asyncio.to_thread(self._fetch, self.secret_id))
        except Exception as err:  # any failure keeps what is in force; nothing is accepted
            self._failed(_describe(err))
            return
        recovered, self._problem = self._problem, ""
        if entries != self._entries or recovered:
            log.info("API key secret %s loaded: %d keys", self.secret_id, len(entries))
        self._entries = entries

    def _failed(self, problem: str) -> None:
        if problem == self._problem:
            log.debug("API key secret %s still not loaded: %s", self.secret_id, problem)
            return
        self._problem = problem
        if self._entries is None:
            log.warning(
                "API key secret %s not loaded, API key requests get 503 until it is: %s",
                self.secret_id,
                problem,
            )
        else:
            log.warning(
                "API key secret %s not reloaded, keeping the previous %d keys: %s",
                self.secret_id,
                len(self._entries),
                problem,
            )


def secrets_manager_fetch(secret_id: str, timeout_seconds: float = 5.0) -> Fetch:
    """A blocking ``fetch(secret_id) -> SecretString`` over boto3 (in the Lambda runtime;
    elsewhere ``pip install 'a2a-gateway[aws]'``). The region is the ARN's, else the
    environment's."""
    if importlib.util.find_spec("boto3") is None:
        raise ValueError(
            "A2A_API_KEYS_SECRET needs boto3 (part of the AWS Lambda Python runtime; "
            "elsewhere: pip install 'a2a-gateway[aws]')"
        )
    boto3: Any = importlib.import_module("boto3")
    config: Any = importlib.import_module("botocore.config")
    arn = _SECRET_ARN.fullmatch(secret_id)
    try:
        client = boto3.session.Session().client(
            "secretsmanager",
            region_name=arn.group(1) if arn else None,
            config=config.Config(
                connect_timeout=timeout_seconds,
                read_timeout=timeout_seconds,
                retries={"mode": "standard", "total_max_attempts": 2},
            ),
        )
    except Exception as err:  # botocore's own errors (no region, ...) at start-up
        raise ValueError(f"A2A_API_KEYS_SECRET: no Secrets Manager client: {err}") from None

    def fetch(secret: str) -> str:
        response = client.get_secret_value(SecretId=secret)
        value = response.get("SecretString")
        if not isinstance(value, str):
            raise TypeError("the secret has no SecretString (a binary secret is not supported)")
        return value

    return fetch


def _describe(err: Exception) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file"
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    if isinstance(err, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(err, (ValueError, TypeError)):
        return str(err)
    return f"{type(err).__name__}: {err}"


USAGE = """\
usage: python -m a2a_gateway.gateway.auth.apikey new PRINCIPAL [NAME]
       python -m a2a_gateway.gateway.auth.apikey add PRINCIPAL [NAME] < keys.json > new.json
       python -m a2a_gateway.gateway.auth.apikey revoke NAME < keys.json > new.json

new     print a new key (give it to the caller; it is stored nowhere) and its entry
add     read a key list on stdin, write it with a new key's entry on stdout; the key
        goes to stderr
revoke  read a key list on stdin, write it without the entries named NAME (or, without
        a name, whose principal is NAME) on stdout
"""


def main(argv: Sequence[str] | None = None) -> int:
    """The operator command: create a key, add it to a key list, revoke one."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else ""
    try:
        if command == "new" and 1 <= len(args) <= 2:
            key, entry = new_entry(*args)
            print(f"key (give it to the caller, it is not stored): {key}")
            print(f"entry (add it to the key list): {json.dumps(entry)}")
            return 0
        if command == "add" and 1 <= len(args) <= 2:
            key, entry = new_entry(*args)
            document = with_entry(sys.stdin.read(), entry)
            print(document)
            print(f"key for {entry['principal']} (give it to the caller): {key}", file=sys.stderr)
            return 0
        if command == "revoke" and len(args) == 1:
            document, removed = without(sys.stdin.read(), args[0])
            print(document)
            print(f"{removed} entries removed", file=sys.stderr)
            return 0 if removed else 1
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(USAGE, file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main())
