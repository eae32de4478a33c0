"""Agent cards, generated from the routing table and settings: one per hosted agent.

One card serves every protocol version: the 0.2.5 fields, the 0.3 fields
(``protocolVersion``, ``preferredTransport``, ``additionalInterfaces``) for the JSON-RPC
interface that serves 0.2.5 and 0.3, and the 1.0 ``supportedInterfaces`` list, in
preference order: JSON-RPC 1.0, HTTP+JSON 1.0, JSON-RPC 0.3. Each client reads the fields
of its version and ignores the rest. All interfaces share the agent's URL, published with
a trailing slash (``…/agents/progress/``) because clients that resolve the card path
relative to it (``@a2a-js/sdk``) would otherwise drop its last segment; the gateway
answers with and without the slash.

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

PROTOCOL_VERSION = "0.3.0"
JSONRPC = "JSONRPC"
HTTP_JSON = "HTTP+JSON"


def agent_path(routing: Routing, route: Route) -> str:
    """The base path of an agent: ``/`` for the default one, else ``/agents/<name>/``."""
    return "/" if route.name == routing.default else f"/agents/{route.name}/"


def interfaces(url: str) -> list[dict[str, str]]:
    """The 1.0 ``supportedInterfaces`` of an agent at ``url``, preferred first."""
    return [
        {"url": url, "protocolBinding": JSONRPC, "protocolVersion": "1.0"},
        {"url": url, "protocolBinding": HTTP_JSON, "protocolVersion": "1.0"},
        {"url": url, "protocolBinding": JSONRPC, "protocolVersion": "0.3"},
    ]


def agent_card(routing: Routing, route: Route, base_url: str, settings: Settings) -> dict[str, Any]:
    """The public card of ``route``; ``base_url`` is the deployment's public URL."""
    base = base_url.rstrip("/")
    url = base + agent_path(routing, route)
    card: dict[str, Any] = {
        "protocolVersion": PROTOCOL_VERSION,
        "name": route.name,
        "description": route.description or f"The {route.name} agent.",
        "url": url,
        "preferredTransport": JSONRPC,
        "additionalInterfaces": [{"url": url, "transport": JSONRPC}],
        "supportedInterfaces": interfaces(url),
        "version": route.version,
        "provider": {"organization": settings.provider_organization, "url": base + "/"},
        "capabilities": {
            "streaming": True,
            "pushNotifications": settings.push_notifications,
            "stateTransitionHistory": False,
            "extendedAgentCard": False,
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
