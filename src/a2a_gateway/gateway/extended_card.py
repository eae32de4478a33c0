"""The authenticated extended card: an agent's card plus the ``extendedSkills`` the routing
file lists for it, for callers who proved who they are and may use the agent.

Served by ``GET …/agent/authenticatedExtendedCard`` (0.3), ``GET …/extendedAgentCard``
(1.0 HTTP+JSON), ``agent/getAuthenticatedExtendedCard`` (0.3 JSON-RPC) and
``GetExtendedAgentCard`` (1.0 JSON-RPC). Admission has already refused a caller the agent's
``access`` rule does not name (403). Here: with no authentication configured there is no
extended card (0.3: -32007; 1.0: -32004, as the public card's
``capabilities.extendedAgentCard: false`` announces); an anonymous caller on a gateway
that also admits anonymous callers gets 401.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from a2a_gateway.errors import (
    AuthenticatedExtendedCardNotConfiguredError,
    RPCError,
    UnauthenticatedError,
    UnsupportedOperationError,
)
from a2a_gateway.store.keys import ANONYMOUS

if TYPE_CHECKING:
    from a2a_gateway.gateway.auth.base import Identity
    from a2a_gateway.routing import Route

NOT_CONFIGURED = "no authentication is configured on this deployment"


def refusal(identity: Identity, auth_modes: list[str], version: str) -> RPCError | None:
    """Why ``identity`` gets no extended card in ``version``, or None if it gets one."""
    if not [m for m in auth_modes if m != "none"]:
        if version == "1.0":
            return UnsupportedOperationError(
                "This agent has no extended agent card (capabilities.extendedAgentCard is false)",
                data={"reason": NOT_CONFIGURED},
            )
        return AuthenticatedExtendedCardNotConfiguredError(data={"reason": NOT_CONFIGURED})
    if identity.principal == ANONYMOUS:
        return UnauthenticatedError(
            "The extended card is served to authenticated callers only",
            data={"reason": "authentication required"},
        )
    return None


def extended(card: dict[str, Any], route: Route) -> dict[str, Any]:
    """``card`` (the agent's public card) with the route's extended skills added."""
    if not route.extended_skills:
        return card
    known = {s.get("id") for s in card.get("skills", [])}
    extra = [s for s in route.extended_skills if s.get("id") not in known]
    return {**card, "skills": [*card.get("skills", []), *extra]}
