"""Admission of a protocol request, before its body is read: who is calling, may they use
this agent, and have they a request left.

Contract, in this order, for every protocol endpoint of every version (JSON-RPC and
HTTP+JSON): the caller is identified (``identity.identify``: 401, or 503 when keys
cannot be fetched); a caller the agent's ``access`` rule does not name gets 403; a caller
over its request rate gets 429 with ``Retry-After``. None of these looks at a task, so
none reveals whether one exists. Cards and ``/healthz`` are not admitted: they are public
and cost no Redis round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from a2a_gateway.errors import (
    ForbiddenError,
    LimitExceededError,
    LimitsUnavailableError,
    RPCError,
)
from a2a_gateway.gateway.identity import auth_failure, identify

if TYPE_CHECKING:
    from collections.abc import Mapping

    from a2a_gateway.gateway import audit
    from a2a_gateway.gateway.auth.base import Identity
    from a2a_gateway.gateway.auth.chain import Authentication
    from a2a_gateway.gateway.quota import Quota
    from a2a_gateway.limit_classes import Limits
    from a2a_gateway.routing import Route


@dataclass(frozen=True)
class Admitted:
    """An admitted caller and the limits of its class."""

    identity: Identity
    limits: Limits


def may_use(identity: Identity, route: Route) -> bool:
    """Whether the agent's ``access`` rule (if any) lets ``identity`` use ``route``."""
    return route.access is None or route.access.matches(identity)


class Admission:
    """The authenticators and the per-principal limits, applied to each request."""

    def __init__(self, auth: Authentication, quota: Quota) -> None:
        self.auth = auth
        self.quota = quota

    async def admit(
        self, headers: Mapping[str, str], route: Route | None, entry: audit.Record
    ) -> Admitted:
        """The admitted caller, or the ``RPCError`` that answers the request (module
        docstring); the audit ``entry`` learns who called as soon as that is known.
        ``route`` None (no such agent) skips the access rule, so that the caller's 404
        comes after authentication, as for any other path."""
        identity = await identify(self.auth, headers)
        entry.note(principal=identity.principal, scheme=identity.scheme)
        if route is not None and not may_use(identity, route):
            raise ForbiddenError(
                f"You may not use agent {route.name!r}", data={"agent": route.name}
            )
        limits = self.quota.limits(identity)
        await self.quota.admit(identity, limits)
        return Admitted(identity, limits)

    def refuse(self, body: Any, error: RPCError) -> Response:
        """The HTTP response for a refused admission (or a limit met later), with ``body``
        in the caller's protocol shape."""
        if isinstance(error, (LimitExceededError, LimitsUnavailableError)):
            headers = {"Retry-After": str(error.retry_after)}
            return JSONResponse(body, status_code=error.http_status, headers=headers)
        if isinstance(error, ForbiddenError):
            return JSONResponse(body, status_code=error.http_status)
        return auth_failure(body, error, self.auth)
