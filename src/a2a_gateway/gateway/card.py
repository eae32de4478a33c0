"""Agent cards, generated from the routing table and settings: one per hosted agent.

Capabilities are declared truthfully: streaming always, push notifications only when
``A2A_PUSH_NOTIFICATIONS`` is on, no state-transition history (the gateway keeps the
current status and the message history, not every past status). No authentication is
configured yet, so the card declares no security schemes and no extended card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from a2a_gateway.config import Settings
    from a2a_gateway.routing import Route, Routing

PROTOCOL_VERSION = "0.2.5"


def agent_path(routing: Routing, route: Route) -> str:
    """The JSON-RPC path of an agent: ``/`` for the default one, else ``/agents/<name>``."""
    return "/" if route.name == routing.default else f"/agents/{route.name}"


def agent_card(routing: Routing, route: Route, base_url: str, settings: Settings) -> dict[str, Any]:
    """The public card of ``route``; ``base_url`` is the deployment's public URL."""
    base = base_url.rstrip("/")
    card: dict[str, Any] = {
        "protocolVersion": PROTOCOL_VERSION,
        "name": route.name,
        "description": route.description or f"The {route.name} agent.",
        "url": base + agent_path(routing, route),
        "preferredTransport": "JSONRPC",
        "version": route.version,
        "provider": {"organization": settings.provider_organization, "url": base + "/"},
        "capabilities": {
            "streaming": True,
            "pushNotifications": settings.push_notifications,
            "stateTransitionHistory": False,
        },
        "defaultInputModes": route.input_modes,
        "defaultOutputModes": route.output_modes,
        "skills": route.skills
        or [
            {
                "id": route.name,
                "name": route.name,
                "description": route.description or route.name,
                "tags": [route.name],
            }
        ],
        "supportsAuthenticatedExtendedCard": False,
    }
    documentation = route.documentation_url or settings.documentation_url
    if documentation:
        card["documentationUrl"] = documentation
    return card
