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
current status and the message history, not every past status).

Security: the card states exactly the configured ``A2A_AUTH`` modes (``security_fields``).
One JSON serves every version here too, in the shape the official a2a-sdk 1.x server
gives its own cards (``agent_card_to_dict`` merges the 0.3 rendering into the 1.0 one):

* ``securitySchemes``: one entry per scheme, holding the OpenAPI fields of 0.2.5/0.3
  (``{"type": "apiKey", "in": "header", "name": "X-API-Key"}``) *and* the 1.0 ProtoJSON
  oneof (``{"apiKeySecurityScheme": {"location": "header", "name": "X-API-Key"}}``),
  both describing the same scheme. Each reader finds its own: the 0.2/0.3 models ignore
  the oneof key, a2a-sdk 1.x converts the OpenAPI fields (and ignores the oneof key under
  them), a ProtoJSON parser that skips unknown fields reads the oneof.
* ``security`` (0.2.5/0.3: ``[{"apikey": []}]``) and ``securityRequirements`` (1.0:
  ``[{"schemes": {"apikey": {"list": []}}}]``): one alternative (OR) per mode, in the
  configured order; with ``none`` among the modes, the empty requirement (anonymous).
* ``supportsAuthenticatedExtendedCard`` and ``capabilities.extendedAgentCard`` are true
  when a mode other than ``none`` is on.

With ``none`` alone the card has no security fields at all.

What depends on the settings alone (the security fields, the offered extensions) is built
once per ``Settings`` and shared by every card made with them: a card is a read-only
value, serialized as it is (``extended_card.extended`` copies before it adds).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from a2a_gateway.core import extensions

if TYPE_CHECKING:
    from a2a_gateway.config import Settings
    from a2a_gateway.routing import Route, Routing

PROTOCOL_VERSION = "0.3.0"
JSONRPC = "JSONRPC"
HTTP_JSON = "HTTP+JSON"

API_KEY_HEADER = "X-API-Key"
SIGV4 = "AWS4-HMAC-SHA256"
OIDC_DISCOVERY = "/.well-known/openid-configuration"
# The 1.0 ProtoJSON oneof member of each OpenAPI scheme type, and its fields' 1.0 names.
_ONEOF = {
    "apiKey": "apiKeySecurityScheme",
    "http": "httpAuthSecurityScheme",
    "openIdConnect": "openIdConnectSecurityScheme",
}
_V1_FIELD = {"in": "location"}


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


def oidc_discovery_url(settings: Settings) -> str | None:
    """The issuer's OpenID Connect discovery document, when the gateway itself finds the
    issuer's keys through it (``jwt`` on, ``A2A_JWT_ISSUER`` set, no ``A2A_JWKS_URL``):
    only then is the document known to exist."""
    if "jwt" not in settings.auth_modes or not settings.jwt_issuer or settings.jwks_url:
        return None
    return settings.jwt_issuer.rstrip("/") + OIDC_DISCOVERY


def security_schemes(settings: Settings) -> dict[str, dict[str, str]]:
    """The schemes of the configured modes, as OpenAPI 3.0 Security Scheme Objects (the
    0.2.5/0.3 shape), by name: ``apikey``, ``jwt`` (and ``oidc``), ``iam``."""
    modes = settings.auth_modes
    schemes: dict[str, dict[str, str]] = {}
    if "apikey" in modes:
        schemes["apikey"] = {
            "type": "apiKey",
            "in": "header",
            "name": API_KEY_HEADER,
            "description": (
                f"An API key issued by the operator, sent as {API_KEY_HEADER}: <key>; "
                "Authorization: Bearer <key> works too."
            ),
        }
    if "jwt" in modes:
        issuer = settings.jwt_issuer or "the configured issuer"
        audience = f" for the audience {settings.jwt_audience}" if settings.jwt_audience else ""
        schemes["jwt"] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                f"A JWT issued by {issuer}{audience}, sent as Authorization: Bearer <token>."
            ),
        }
        discovery = oidc_discovery_url(settings)
        if discovery:
            schemes["oidc"] = {
                "type": "openIdConnect",
                "openIdConnectUrl": discovery,
                "description": (
                    f"The OpenID Connect provider that issues the jwt scheme's tokens{audience}; "
                    "send its access token as Authorization: Bearer <token>."
                ),
            }
    if "iam" in modes:
        schemes["iam"] = {
            "type": "http",
            "scheme": SIGV4,
            "description": (
                "AWS Signature Version 4 (service lambda, the function's region): sign each "
                "request with the credentials of an IAM principal allowed to invoke the "
                "function URL, which verifies the signature."
            ),
        }
    return schemes


def security_alternatives(settings: Settings) -> list[list[str]]:
    """The requirement alternatives (OR), one per mode in the configured order, each the
    scheme names it needs; ``[]`` is anonymous (``none``). Empty with ``none`` alone."""
    return _alternatives(settings, security_schemes(settings))


def _alternatives(settings: Settings, schemes: dict[str, dict[str, str]]) -> list[list[str]]:
    modes = list(dict.fromkeys(settings.auth_modes))
    if modes == ["none"]:
        return []
    alternatives: list[list[str]] = []
    for mode in modes:
        if mode == "none":
            alternatives.append([])
        elif mode == "jwt":
            alternatives += [[name] for name in ("jwt", "oidc") if name in schemes]
        elif mode in schemes:
            alternatives.append([mode])
    return alternatives


def dual_scheme(openapi: dict[str, str]) -> dict[str, Any]:
    """An OpenAPI scheme object with its 1.0 ProtoJSON oneof member added beside its fields
    (what the official a2a-sdk 1.x server renders)."""
    fields = {_V1_FIELD.get(k, k): v for k, v in openapi.items() if k != "type"}
    return {**openapi, _ONEOF[openapi["type"]]: fields}


@functools.cache
def security_fields(settings: Settings) -> dict[str, Any]:
    """``securitySchemes``, ``security`` (0.2.5/0.3) and ``securityRequirements`` (1.0) of
    the configured modes; nothing for ``none`` alone. Built once per settings and shared
    (module docstring): not to be changed."""
    schemes = security_schemes(settings)
    alternatives = _alternatives(settings, schemes)
    if not alternatives:
        return {}
    return {
        "securitySchemes": {name: dual_scheme(scheme) for name, scheme in schemes.items()},
        "security": [{name: [] for name in names} for names in alternatives],
        "securityRequirements": [
            {"schemes": {name: {"list": []} for name in names}} for names in alternatives
        ],
    }


def agent_card(routing: Routing, route: Route, base_url: str, settings: Settings) -> dict[str, Any]:
    """The public card of ``route``; ``base_url`` is the deployment's public URL."""
    base = base_url.rstrip("/")
    url = base + agent_path(routing, route)
    security = security_fields(settings)
    authenticated = any(mode != "none" for mode in settings.auth_modes)
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
            "extendedAgentCard": authenticated,
            **({"extensions": offered_extensions()} if settings.push_notifications else {}),
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
        **security,
        "supportsAuthenticatedExtendedCard": authenticated,
    }
    documentation = route.documentation_url or settings.documentation_url
    if documentation:
        card["documentationUrl"] = documentation
    return card


@functools.cache
def offered_extensions() -> list[dict[str, object]]:
    """``capabilities.extensions``: what a client may activate (``core.extensions``), the
    same shape in 0.3 and 1.0 (``uri``, ``description``, ``required``). Built once and
    shared (module docstring): not to be changed."""
    return [
        {"uri": uri, "description": text, "required": False}
        for uri, text in extensions.DESCRIPTIONS.items()
    ]
