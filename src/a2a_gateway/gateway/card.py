"""Agent cards, generated from the routing table: one per hosted agent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from a2a_gateway import __version__

if TYPE_CHECKING:
    from a2a_gateway.routing import Route, Routing

PROTOCOL_VERSION = "0.2.5"


def agent_path(routing: Routing, route: Route) -> str:
    """The JSON-RPC path of an agent: ``/`` for the default one, else ``/agents/<name>``."""
    return "/" if route.name == routing.default else f"/agents/{route.name}"


def agent_card(routing: Routing, route: Route, base_url: str) -> dict[str, Any]:
    """The public card of ``route``; ``base_url`` is the deployment's public URL."""
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "name": route.name,
        "description": route.description or f"The {route.name} agent.",
        "url": base_url.rstrip("/") + agent_path(routing, route),
        "preferredTransport": "JSONRPC",
        "version": route.version,
        "provider": {"organization": "a2a-gateway", "url": base_url.rstrip("/") or "/"},
        "capabilities": {
            "streaming": True,
            "pushNotifications": False,
            "stateTransitionHistory": False,
        },
        "defaultInputModes": ["text/plain", "application/json"],
        "defaultOutputModes": ["text/plain", "application/json"],
        "skills": route.skills
        or [
            {
                "id": route.name,
                "name": route.name,
                "description": route.description or route.name,
                "tags": [],
            }
        ],
        "supportsAuthenticatedExtendedCard": False,
        "metadata": {"gatewayVersion": __version__},
    }
