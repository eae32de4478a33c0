"""JWT bearer tokens (``Authorization: Bearer <JWT>``), verified with PyJWT against the
issuer's published keys (JWKS).

Trusted: the configured issuer, and the keys at ``jwks_url`` or at the ``jwks_uri`` of the
issuer's discovery document ``{issuer}/.well-known/openid-configuration`` (whose
``issuer`` must equal the configured one). Checked: the signature, the algorithm against an
allow-list of asymmetric algorithms (``none`` and ``HS*`` are refused at construction, so a
public key can never serve as an HMAC secret), the algorithm the key is bound to (a JWK
without ``alg`` is bound to its type's default: RS256, ES256/384/512 by curve, EdDSA),
``iss``, the audience, ``exp`` (required), ``nbf``/``iat`` with ``leeway_seconds``, and RSA
key length. The principal is ``principal_id(claims[principal_claim])``.

The audience: ``audience`` is one value or several (any one may match). With
``audience_claim="aud"`` (the default) PyJWT checks the token's ``aud`` (a string or a list)
as RFC 7519 says. Some issuers put the client the token was issued to in another claim
instead: Amazon Cognito *access* tokens carry no ``aud`` at all, but ``client_id`` (and
``token_use: access``). With ``audience_claim="client_id"`` (or any other claim name) that
claim is required, must be a string, and must equal one of the audience values; PyJWT's own
``aud`` check is off in that case only (an ``aud`` the token may carry is then not checked).

Cached: the key set, for ``cache_seconds`` (then refreshed on the next token; if that
fails the old keys stay in use and a warning is logged). A token whose ``kid`` is not in
the set triggers one refetch, so key rotation works, but at most one fetch happens per
``refetch_interval_seconds`` (counting every fetch), and after a failed fetch at most one
per ``min(5 s, refetch_interval_seconds)``: a flood of made-up kids cannot hammer the
issuer, and concurrent requests share one fetch. Fetches use ``httpx.AsyncClient`` and
never block the event loop.

When no keys can be had (the issuer is down and nothing is cached, or a refetch for an
unknown kid failed) the answer is ``AuthUnavailable`` ("cannot verify tokens right now"):
HTTP 503, retryable, not the client's fault. Never logged: tokens, claims.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import httpx
import jwt

from a2a_gateway.gateway.auth.base import (
    AuthError,
    AuthUnavailable,
    Identity,
    bearer_challenge,
    bearer_token,
    looks_like_jwt,
    principal_id,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["AuthUnavailable", "JwtAuthenticator", "check_algorithms"]

log = logging.getLogger(__name__)

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
FAILURE_BACKOFF_SECONDS = 5.0
UNAVAILABLE = "cannot verify tokens right now"
_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
_SCOPE_CLAIMS = ("scope", "scp", "groups", "cognito:groups")


def check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    """``algorithms`` if every one is an accepted asymmetric JWS algorithm, else
    ``ValueError`` naming the offender (``none`` and ``HS*`` are never accepted)."""
    if not algorithms:
        raise ValueError("no JWT algorithm configured")
    for name in algorithms:
        if name.lower() == "none" or name.upper().startswith("HS"):
            raise ValueError(
                f"JWT algorithm {name} is refused: only asymmetric algorithms are accepted "
                "(an HMAC algorithm would let the public key sign tokens)"
            )
        if name not in ASYMMETRIC:
            raise ValueError(f"unknown JWT algorithm {name}; use {', '.join(sorted(ASYMMETRIC))}")
    return tuple(dict.fromkeys(algorithms))


class JwtAuthenticator:
    """The ``jwt`` authenticator for tokens of ``issuer`` meant for ``audience``."""

    scheme = "jwt"

    def __init__(
        self,
        issuer: str,
        audience: str | Sequence[str],
        *,
        audience_claim: str = "aud",
        jwks_url: str | None = None,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        leeway_seconds: float = 60,
        principal_claim: str = "sub",
        refetch_interval_seconds: float = 60,
        cache_seconds: float = 3600,
        timeout_seconds: float = 5,
    ) -> None:
        audiences = (audience,) if isinstance(audience, str) else tuple(audience)
        if not issuer or not audiences or not all(audiences):
            raise ValueError("a JWT issuer and audience are both required")
        if not principal_claim:
            raise ValueError("the JWT principal claim must not be empty")
        if not audience_claim:
            raise ValueError("the JWT audience claim must not be empty")
        self.issuer = issuer
        self.audiences = tuple(dict.fromkeys(audiences))
        self.audience_claim = audience_claim
        self.algorithms = check_algorithms(algorithms)
        self.leeway_seconds = leeway_seconds
        self.principal_claim = principal_claim
        self.refetch_interval_seconds = refetch_interval_seconds
        self.cache_seconds = cache_seconds
        self.timeout_seconds = timeout_seconds
        self._jwks_url = jwks_url
        self._keys: list[jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None
        self._failed = False
        self._lock = asyncio.Lock()

    def challenge(self, error: AuthError | None = None) -> str:
        return bearer_challenge(error)

    async def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        token = bearer_token(headers)
        if token is None or not looks_like_jwt(token):
            return None
        claims = await self._verify(token)
        subject = claims.get(self.principal_claim)
        if not isinstance(subject, str) or not subject:
            raise AuthError(f"token has no {self.principal_claim} claim")
        return Identity(principal_id(subject), subject, self.scheme, _scopes(claims))

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            head = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        kid = head.get("kid")
        if head.get("alg") not in self.algorithms:
            raise AuthError("token algorithm not accepted")
        if kid is not None and not isinstance(kid, str):
            raise AuthError("malformed token")
        key = await self._key(kid)
        by_aud = self.audience_claim == "aud"
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=list(self.audiences) if by_aud else None,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={
                    "require": ["exp", "iss", "aud"] if by_aud else ["exp", "iss"],
                    "verify_aud": by_aud,
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise AuthError("token not meant for this audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token from another issuer") from None
        except jwt.MissingRequiredClaimError as err:
            raise AuthError(f"token has no {err.claim} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature does not verify") from None
        except jwt.PyJWTError:
            raise AuthError("invalid token") from None
        if not by_aud:
            self._check_audience_claim(claims)
        return claims

    def _check_audience_claim(self, claims: Mapping[str, Any]) -> None:
        """The audience in a claim other than ``aud`` (Cognito access tokens: ``client_id``):
        a string equal to one of the audience values."""
        value = claims.get(self.audience_claim)
        if value is None:
            raise AuthError(f"token has no {self.audience_claim} claim")
        if not isinstance(value, str) or value not in self.audiences:
            raise AuthError("token not meant for this audience")

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        """The cached key for ``kid``, refetching the set when allowed and needed."""
        if self._needs_fetch(kid):
            async with self._lock:  # one fetch at a time; waiters then see its result
                now = time.monotonic()
                if self._needs_fetch(kid) and self._may_fetch(now):
                    await self._fetch(now)
        if self._keys is None:
            raise AuthUnavailable(UNAVAILABLE)
        key = _find(self._keys, kid)
        if key is None:
            raise AuthUnavailable(UNAVAILABLE) if self._failed else AuthError("unknown signing key")
        return key

    def _needs_fetch(self, kid: str | None) -> bool:
        if self._keys is None or _find(self._keys, kid) is None:
            return True
        return time.monotonic() - self._fetched_at >= self.cache_seconds

    def _may_fetch(self, now: float) -> bool:
        if self._attempted_at is None:
            return True
        interval = self.refetch_interval_seconds
        if self._failed:
            interval = min(interval, FAILURE_BACKOFF_SECONDS)
        return now - self._attempted_at >= interval

    async def _fetch(self, now: float) -> None:
        self._attempted_at = now
        try:
            async with httpx.AsyncClient(timeout=self.timeout_seconds) as client:
                url = self._jwks_url or await self._discover(client)
                keys = _usable(await _get_json(client, url))
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as err:
            self._failed = True
            kept = "keeping the cached keys" if self._keys else "no keys cached"
            log.warning("JWKS of %s not fetched (%s): %s", self.issuer, kept, err)
            return
        self._failed = False
        self._keys, self._fetched_at = keys, now
        self._jwks_url = url
        log.info("JWKS of %s fetched: kids %s", self.issuer, ", ".join(str(k.key_id) for k in keys))

    async def _discover(self, client: httpx.AsyncClient) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await _get_json(client, url)
        if document.get("issuer") != self.issuer:
            raise ValueError(f"{url} names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ValueError(f"{url} has no usable jwks_uri")
        return jwks_uri


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await client.get(url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise ValueError(f"HTTP {response.status_code} from {url}")
    document = response.json()
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document


def _usable(jwks: dict[str, Any]) -> list[jwt.PyJWK]:
    """The signature keys of a JWKS document: asymmetric, ``use`` absent or ``sig``."""
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        raise ValueError("the JWKS has no keys list")
    signing = [
        k
        for k in keys
        if isinstance(k, dict) and k.get("kty") in _KEY_TYPES and k.get("use", "sig") == "sig"
    ]
    return list(jwt.PyJWKSet.from_dict({"keys": signing}))


def _find(keys: list[jwt.PyJWK], kid: str | None) -> jwt.PyJWK | None:
    """The key named ``kid``; a token without ``kid`` needs a set of exactly one key."""
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((k for k in keys if k.key_id == kid), None)


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """OAuth scopes (``scope``/``scp``, space-separated or a list) and groups."""
    found: set[str] = set()
    for name in _SCOPE_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str):
            found.update(value.split())
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, str) and v)
    return frozenset(found)
