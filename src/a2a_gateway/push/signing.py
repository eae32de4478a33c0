"""Who sent a push notification: the deployment's signing keys and the JWT each
notification carries.

Keys are ES256 (ECDSA on P-256), held as JWKs. A ``KeySet`` lists them newest first: the
first signs, every one is published (``jwks``), so a rotation adds a key in front, and
the old key is dropped only after the notifications it signed have expired
(``TOKEN_SECONDS``). Each key's ``kid`` is its RFC 7638 thumbprint.

A notification's token (``notification_token``) is a JWT whose header names the ``kid``
and whose claims are: ``iss`` (the gateway's base URL, where ``/.well-known/jwks.json``
is served), ``aud`` (the webhook URL it is sent to), ``iat``, ``exp`` (``iat`` +
``TOKEN_SECONDS``), ``jti`` (the delivery's idempotency key: one per event and config, the
same on every retry, so a receiver that remembers ``jti`` drops a repeat), ``taskId``, and
``bodySha256`` (base64url SHA-256 of the exact body bytes). ``verify_notification`` is the
receiver's side, in the few lines a receiver needs (``docs/push.md``). No cryptography is
written here: PyJWT and ``cryptography`` do it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ALGORITHM = "ES256"
TOKEN_SECONDS = 300
"""How long a notification's token is valid: long enough for a slow receiver, short
enough that a captured one is soon worthless (receivers also remember ``jti``)."""
MAX_KEYS = 4
"""Keys a set may hold (the signer and the ones still published during rotations)."""


class SigningKeyError(ValueError):
    """A key or key set is malformed (the message says how, never the key)."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def body_digest(body: bytes) -> str:
    """``bodySha256``: base64url (unpadded) SHA-256 of ``body``."""
    return _b64url(hashlib.sha256(body).digest())


def thumbprint(jwk: dict[str, Any]) -> str:
    """The RFC 7638 thumbprint of an EC public key (``crv``, ``kty``, ``x``, ``y``)."""
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True)
class SigningKey:
    """One ES256 key: its ``kid`` and its private JWK (``d`` included)."""

    kid: str
    private_jwk: dict[str, Any]

    @classmethod
    def generate(cls) -> SigningKey:
        private = ec.generate_private_key(ec.SECP256R1())
        return cls.from_jwk(ECAlgorithm.to_jwk(private, as_dict=True))

    @classmethod
    def from_jwk(cls, jwk: Any) -> SigningKey:
        """A key from its private JWK; ``SigningKeyError`` unless it is a P-256 EC key
        with its private part."""
        if not isinstance(jwk, dict) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise SigningKeyError("a signing key must be an EC P-256 JWK")
        if not all(isinstance(jwk.get(name), str) for name in ("x", "y", "d")):
            raise SigningKeyError("a signing key needs x, y and its private part d")
        try:
            ECAlgorithm.from_jwk(jwk)
        except (jwt.InvalidKeyError, ValueError) as err:
            raise SigningKeyError("the signing key does not load") from err
        kept = {name: jwk[name] for name in ("kty", "crv", "x", "y", "d")}
        return cls(kid=thumbprint(kept), private_jwk=kept)

    def public_jwk(self) -> dict[str, Any]:
        """What ``/.well-known/jwks.json`` publishes: the public part, ``kid``, ``alg``."""
        public = {k: v for k, v in self.private_jwk.items() if k != "d"}
        return {**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}

    def _private_key(self) -> Any:
        return ECAlgorithm.from_jwk(self.private_jwk)


@dataclass(frozen=True)
class KeySet:
    """The deployment's keys, newest first: ``keys[0]`` signs, all are published."""

    keys: tuple[SigningKey, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.keys) <= MAX_KEYS:
            raise SigningKeyError(f"a key set holds 1 to {MAX_KEYS} keys")

    @property
    def signer(self) -> SigningKey:
        return self.keys[0]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def rotated(self) -> KeySet:
        """A new key in front; the oldest dropped beyond ``MAX_KEYS``."""
        return KeySet((SigningKey.generate(), *self.keys)[:MAX_KEYS])

    def to_json(self) -> str:
        """The stored form: ``{"keys": [private JWK, …]}``, newest first. Secret."""
        return json.dumps({"keys": [key.private_jwk for key in self.keys]})

    @classmethod
    def from_json(cls, text: str | bytes) -> KeySet:
        try:
            document = json.loads(text)
        except ValueError as err:
            raise SigningKeyError("the key set is not JSON") from err
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise SigningKeyError('the key set must be {"keys": [JWK, …]}')
        return cls(tuple(SigningKey.from_jwk(jwk) for jwk in keys))

    @classmethod
    def generate(cls) -> KeySet:
        return cls((SigningKey.generate(),))


def notification_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str,
    body: bytes,
    jti: str,
    task_id: str,
    now: float | None = None,
) -> str:
    """The JWT for one delivery of ``body`` to ``audience`` (module docstring)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + TOKEN_SECONDS,
        "jti": jti,
        "taskId": task_id,
        "bodySha256": body_digest(body),
    }
    return jwt.encode(claims, key._private_key(), algorithm=ALGORITHM, headers={"kid": key.kid})


class NotificationRejected(Exception):
    """A notification that does not verify (the message says which check failed)."""


def verify_notification(
    token: str,
    body: bytes,
    *,
    jwks: dict[str, Any],
    issuer: str,
    audience: str,
    leeway: float = 30.0,
) -> dict[str, Any]:
    """The claims of a notification's token, after every check a receiver makes: the
    ``kid`` is in ``jwks``, the ES256 signature, ``iss``, ``aud``, ``iat``/``exp`` (with
    ``leeway`` seconds of clock skew), and ``bodySha256`` against the body received.
    Remembering ``jti`` (to drop repeats) is the receiver's, for ``TOKEN_SECONDS``."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        found = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid]
        if not found:
            raise NotificationRejected(f"unknown key id {kid!r}")
        claims = jwt.decode(
            token,
            jwt.PyJWK(found[0], algorithm=ALGORITHM),
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": ["iss", "aud", "iat", "exp", "jti", "bodySha256"]},
        )
    except jwt.PyJWTError as err:
        raise NotificationRejected(f"{type(err).__name__}: {err}") from err
    if claims["bodySha256"] != body_digest(body):
        raise NotificationRejected("the body is not the one that was signed")
    return claims
