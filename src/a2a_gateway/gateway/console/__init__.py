"""The browser console at ``/console/`` (``A2A_CONSOLE``; on with ``make dev``, off in the
template unless its ``Console`` parameter turns it on).

Three static files (``index.html``, ``console.js``, ``console.css``; no build step, no
framework) and ``agents.json``, the agents to pick from. The page talks to the gateway
from the same origin, through the same endpoints (and the same authentication) as any
other client; serving it adds no capability. Contract: the files are read once, at app
build time, and served with a Content-Security-Policy that allows only this origin
(no inline script, no framing), ``nosniff`` and no referrer.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route as HttpRoute

if TYPE_CHECKING:
    from starlette.requests import Request

    from a2a_gateway.config import Settings
    from a2a_gateway.routing import Routing

FILES = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def agents_index(routing: Routing, settings: Settings) -> dict[str, Any]:
    """What the page needs to offer the agents: each one's endpoint and card, relative
    to the gateway's root (the page resolves them against its own URL, so the console
    works behind any host or path prefix); the accepted credentials; the body limit.
    Nothing here is not already public: every card is served to anyone."""
    agents = [
        {
            "name": name,
            "description": route.description,
            "path": f"agents/{quote(name, safe='')}/",
            "card": f"agents/{quote(name, safe='')}/.well-known/agent-card.json",
            "default": name == routing.default,
        }
        for name, route in routing.routes.items()
    ]
    return {
        "agents": agents,
        "auth": sorted(settings.auth_modes),
        "maxBodyBytes": settings.max_body_bytes,
    }


def routes(routing: Routing, settings: Settings) -> list[HttpRoute]:
    """The console's routes: ``/console`` (redirected to ``/console/``, so that the
    page's relative URLs resolve), its files and ``agents.json``."""
    package = resources.files(__name__)
    bodies = {name: (package / name).read_bytes() for name in FILES}
    index = agents_index(routing, settings)

    def serve(name: str) -> Any:
        async def endpoint(request: Request) -> Response:
            return Response(bodies[name], media_type=FILES[name], headers=HEADERS)

        return endpoint

    async def agents(request: Request) -> Response:
        return JSONResponse(index, headers={"Cache-Control": "no-cache"})

    async def slash(request: Request) -> Response:
        return RedirectResponse("console/", status_code=308)

    return [
        HttpRoute("/console", slash, methods=["GET"]),
        HttpRoute("/console/", serve("index.html"), methods=["GET"]),
        *(HttpRoute(f"/console/{name}", serve(name), methods=["GET"]) for name in FILES),
        HttpRoute("/console/agents.json", agents, methods=["GET"]),
    ]
