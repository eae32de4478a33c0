"""The configured authenticators, tried in order: who a request comes from.

``identify`` asks each authenticator in the order the modes were listed; the first
``Identity`` wins, and the first ``AuthError`` is raised at once (a bad credential is never
silently skipped for a weaker one). When none recognises the request the caller is
``ANONYMOUS_IDENTITY`` if mode ``none`` is on and the request presents no credential
(``Authorization`` or ``X-API-Key``; with other modes configured, a credential none of them
takes is refused, never downgraded to anonymous), else ``AuthError``. The modes'
credentials do not overlap: a JWT-shaped bearer token is the
``jwt`` scheme's, any other bearer token or ``X-API-Key`` the ``apikey`` scheme's, the
adapter's request context the ``iam`` scheme's. ``build`` refuses an unknown mode or a
mode without its settings, naming the environment variable to set. API keys come from
exactly one of a file (``A2A_API_KEYS_FILE``) and a Secrets Manager secret
(``A2A_API_KEYS_SECRET``); ``A2A_JWT_AUDIENCE`` may list several audiences, comma-separated.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from a2a_gateway.gateway.auth.apikey import ApiKeys, SecretApiKeys
from a2a_gateway.gateway.auth.base import ANONYMOUS_IDENTITY, AuthError, header
from a2a_gateway.gateway.auth.iam import IamAuthenticator
from a2a_gateway.gateway.auth.jwt import JwtAuthenticator, check_algorithms

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from a2a_gateway.gateway.auth.base import Authenticator, Identity

MODES = ("none", "apikey", "jwt", "iam")
REQUIRED = "authentication required"
UNRECOGNISED = "credential not accepted by any configured scheme"


def _presents_credential(headers: Mapping[str, str]) -> bool:
    return header(headers, "authorization") is not None or header(headers, "x-api-key") is not None


class Authentication:
    """``authenticators`` in precedence order; ``allow_anonymous`` admits callers with no
    credential as ``anonymous``."""

    def __init__(self, authenticators: Sequence[Authenticator], *, allow_anonymous: bool) -> None:
        if not authenticators and not allow_anonymous:
            raise ValueError("no authenticator and anonymous callers refused: nobody could call")
        self.authenticators = tuple(authenticators)
        self.allow_anonymous = allow_anonymous

    async def identify(self, headers: Mapping[str, str]) -> Identity:
        for authenticator in self.authenticators:
            try:
                identity = await authenticator.authenticate(headers)
            except AuthError as err:
                if err.scheme is None:
                    err.scheme = authenticator.scheme
                raise
            if identity is not None:
                return identity
        if self.allow_anonymous and not (self.authenticators and _presents_credential(headers)):
            return ANONYMOUS_IDENTITY
        if self.allow_anonymous:  # a credential no scheme took is refused, not ignored
            raise AuthError(UNRECOGNISED)
        raise AuthError(REQUIRED)

    def challenges(self, error: AuthError | None = None) -> list[str]:
        """The ``WWW-Authenticate`` values, one per scheme (duplicates dropped); the scheme
        that raised ``error`` says why it refused the credential."""
        values = (
            a.challenge(error if error is not None and error.scheme == a.scheme else None)
            for a in self.authenticators
        )
        return list(dict.fromkeys(values))


def build(
    modes: Sequence[str],
    *,
    api_keys_file: Path | str | None = None,
    api_keys_secret: str | None = None,
    api_keys_secret_reload_seconds: float = 60,
    jwt_issuer: str | None = None,
    jwt_audience: str | None = None,
    jwt_audience_claim: str = "aud",
    jwks_url: str | None = None,
    jwt_algorithms: Sequence[str] = ("RS256", "ES256"),
    jwt_leeway_seconds: float = 60,
    jwt_principal_claim: str = "sub",
) -> Authentication:
    """The ``Authentication`` for ``A2A_AUTH`` ``modes``, or ``ValueError`` naming what is
    wrong (an unknown mode, a missing setting, a refused algorithm, an unreadable key file,
    both or neither key source). The secret is not fetched here: a secret that cannot be
    read is HTTP 503 on the requests that present a key, not a failed start.
    """
    wanted = list(dict.fromkeys(m.strip().lower() for m in modes if m.strip()))
    if not wanted:
        raise ValueError(f"A2A_AUTH names no mode; use {', '.join(MODES)}")
    unknown = [m for m in wanted if m not in MODES]
    if unknown:
        raise ValueError(f"A2A_AUTH: unknown mode {', '.join(unknown)}; use {', '.join(MODES)}")
    authenticators: list[Authenticator] = []
    for mode in wanted:
        if mode == "apikey":
            authenticators.append(
                _api_keys(api_keys_file, api_keys_secret, api_keys_secret_reload_seconds)
            )
        elif mode == "jwt":
            audiences = [a.strip() for a in (jwt_audience or "").split(",") if a.strip()]
            for value, name in ((jwt_issuer, "A2A_JWT_ISSUER"), (audiences, "A2A_JWT_AUDIENCE")):
                if not value:
                    raise ValueError(f"A2A_AUTH includes jwt but {name} is not set")
            if not jwt_audience_claim:
                raise ValueError("A2A_JWT_AUDIENCE_CLAIM must not be empty")
            try:
                algorithms = check_algorithms(jwt_algorithms)
            except ValueError as err:
                raise ValueError(f"A2A_JWT_ALGORITHMS: {err}") from None
            if not jwt_principal_claim:
                raise ValueError("A2A_JWT_PRINCIPAL_CLAIM must not be empty")
            authenticators.append(
                JwtAuthenticator(
                    str(jwt_issuer),
                    audiences,
                    audience_claim=jwt_audience_claim,
                    jwks_url=jwks_url or None,
                    algorithms=algorithms,
                    leeway_seconds=jwt_leeway_seconds,
                    principal_claim=jwt_principal_claim,
                )
            )
        elif mode == "iam":
            authenticators.append(IamAuthenticator())
    return Authentication(authenticators, allow_anonymous="none" in wanted)


def _api_keys(
    path: Path | str | None, secret: str | None, reload_seconds: float
) -> ApiKeys | SecretApiKeys:
    """The API key source: exactly one of the file and the secret."""
    if path and secret:
        raise ValueError(
            "A2A_API_KEYS_FILE and A2A_API_KEYS_SECRET are both set: set exactly one "
            "(the file, or the Secrets Manager secret)"
        )
    if path:
        return ApiKeys(Path(path))
    if secret:
        if reload_seconds <= 0:
            raise ValueError("A2A_API_KEYS_SECRET_RELOAD_SECONDS must be positive")
        return SecretApiKeys(secret, reload_seconds=reload_seconds)
    raise ValueError(
        "A2A_AUTH includes apikey but neither A2A_API_KEYS_FILE nor A2A_API_KEYS_SECRET is set"
    )
