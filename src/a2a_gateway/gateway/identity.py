"""Who is calling: the request's identity from the configured authenticators
(``gateway.auth``), and the HTTP answer when there is none.

Contract: every protocol endpoint (JSON-RPC of every version, HTTP+JSON) identifies the
caller before it reads the body; the identity's principal scopes every key and workflow
id the request touches, so another principal's task is simply not found (-32001). A
missing or invalid credential is HTTP 401 with ``WWW-Authenticate`` naming every accepted
scheme and an error body in the caller's protocol shape; keys that cannot be fetched are
HTTP 503 with ``Retry-After``. Neither says anything about tasks. Cards and ``/healthz``
stay public.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from a2a_gateway.config import is_loopback
from a2a_gateway.errors import AuthUnavailableError, RPCError, UnauthenticatedError
from a2a_gateway.gateway.auth.base import AuthError
from a2a_gateway.gateway.auth.chain import Authentication, build
from a2a_gateway.gateway.auth.jwt import AuthUnavailable
from a2a_gateway.gateway.capacity import RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from a2a_gateway.config import Settings
    from a2a_gateway.gateway.auth.base import Identity

log = logging.getLogger(__name__)


def authentication(settings: Settings) -> Authentication:
    """The authenticators ``A2A_AUTH`` names, built from the settings (a missing setting
    fails at start-up, naming it). Serving without authentication on a non-loopback
    address is refused by ``Settings.validate`` unless ``A2A_AUTH=none`` is explicit; then
    it is allowed with a warning."""
    modes = settings.auth_modes
    if "none" in modes and not is_loopback(settings.bind_host):
        log.warning(
            "A2A_AUTH includes none and the gateway binds to %s: anyone who can reach it "
            "can use every agent",
            settings.bind_host,
        )
    return build(
        modes,
        api_keys_file=Path(settings.api_keys_file) if settings.api_keys_file else None,
        api_keys_secret=settings.api_keys_secret or None,
        api_keys_secret_reload_seconds=settings.api_keys_secret_reload_seconds,
        jwt_issuer=settings.jwt_issuer,
        jwt_audience=settings.jwt_audience,
        jwt_audience_claim=settings.jwt_audience_claim.strip(),
        jwks_url=settings.jwks_url or None,
        jwt_algorithms=[a.strip() for a in settings.jwt_algorithms.split(",") if a.strip()],
        jwt_leeway_seconds=settings.jwt_leeway_seconds,
        jwt_principal_claim=settings.jwt_principal_claim,
    )


async def identify(auth: Authentication, headers: Mapping[str, str]) -> Identity:
    """The caller's identity, or the ``RPCError`` that answers the request."""
    try:
        return await auth.identify(headers)
    except AuthUnavailable as err:
        raise AuthUnavailableError(data={"reason": err.reason}) from err
    except AuthError as err:
        raise UnauthenticatedError(err.reason, data={"reason": err.reason}) from err


def auth_failure(body: Any, error: RPCError, auth: Authentication) -> Response:
    """The HTTP response for an identification failure, with ``body`` in the caller's
    protocol shape."""
    if error.http_status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    else:  # the scheme that refused the credential says why (RFC 6750 error="invalid_token")
        cause = error.__cause__ if isinstance(error.__cause__, AuthError) else None
        headers = {"WWW-Authenticate": ", ".join(auth.challenges(cause))}
    return JSONResponse(body, status_code=error.http_status, headers=headers)
