"""Request guards: the Host allow-list (against DNS rebinding),
the JSON media type rule (browsers send ``text/plain`` and forms cross-site without a
preflight) opt-in CORS, and the body size limit.

Contract: a request whose Host the policy does not allow gets HTTP 400 with a JSON-RPC
error body before any routing; the loopback names are always allowed, so a local run and
the Lambda adapter's readiness check (which calls 127.0.0.1) are never locked out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse

from a2a_gateway.config import ConfigError, in_lambda
from a2a_gateway.errors import InvalidRequestError
from a2a_gateway.gateway import jsonrpc

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

    from a2a_gateway.config import Settings

JSON_MEDIA_TYPES = frozenset({"application/json", "application/a2a+json"})
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
# What an allowed-host entry may name: a DNS name or IPv4 address, or a bracketed IPv6.
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "last-event-id",
    "a2a-version",
    "a2a-extensions",
    "x-a2a-extensions",
    "x-api-key",
)
CORS_EXPOSE_HEADERS = (
    "retry-after",
    "www-authenticate",
    "x-request-id",
    "a2a-version",
    "a2a-extensions",
    "x-a2a-extensions",
)


class BodyTooLarge(Exception):
    """The request body is over the configured limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def is_json(content_type: str | None) -> bool:
    """Whether a Content-Type names a JSON media type (``application/json`` or A2A 1.0's
    ``application/a2a+json``), with or without parameters such as ``charset``."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in JSON_MEDIA_TYPES


def accepts_event_stream(accept: str | None) -> bool:
    """Whether an Accept header admits ``text/event-stream``: when absent, when it names it,
    or through ``text/*`` or ``*/*`` (with any q other than 0)."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (p.strip().lower() for p in item.split(";"))
        if media not in ("text/event-stream", "text/*", "*/*"):
            continue
        if not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            return True
    return False


def host_of(header: str | None) -> str | None:
    """The host of a Host header, lower-cased, without its port (an IPv6 literal keeps its
    brackets: ``[::1]``); None if the header is missing or malformed."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        end = value.find("]")
        host, port = value[: end + 1], value[end + 1 :]
        if end < 0 or (port and not (port.startswith(":") and port[1:].isdigit())):
            return None
        return host
    host, _, port = value.partition(":")
    if not host or (port and not port.isdigit()):
        return None
    return host


@dataclass(frozen=True)
class HostPolicy:
    """Which Host headers the server answers to: the loopback names always, plus exact
    names, ``*.example.com`` (any subdomain of example.com) or ``*`` (any host)."""

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()
    any: bool = False

    @classmethod
    def parse(cls, setting: str) -> HostPolicy:
        """From ``A2A_ALLOWED_HOSTS`` (comma-separated); a malformed entry is a
        ``ConfigError`` naming it."""
        names, suffixes = set(LOOPBACK_HOSTS), []
        for entry in (e.strip().lower() for e in setting.split(",")):
            if entry == "*":
                return cls(frozenset(names), (), any=True)
            if not entry:
                continue
            wildcard = entry.startswith("*.")
            host = host_of(entry[2:] if wildcard else entry)
            if host is None or not _HOST_NAME.fullmatch(host):
                raise ConfigError(f"A2A_ALLOWED_HOSTS: {entry!r} is not a host name or *.domain")
            if wildcard:
                suffixes.append("." + host)
            else:
                names.add(host)
        return cls(frozenset(names), tuple(suffixes))

    def allows(self, header: str | None) -> bool:
        host = host_of(header)
        if host is None:
            return self.any
        return self.any or host in self.names or host.endswith(self.suffixes)


class HostGuard:
    """ASGI middleware: a request whose Host the policy does not allow gets HTTP 400 with a
    JSON-RPC error body, before any routing (defeats DNS rebinding against a local or
    intranet gateway)."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.policy.allows(_header(scope, b"host")):
            error = InvalidRequestError(
                "This server does not answer to that Host; its operator can allow it "
                "with A2A_ALLOWED_HOSTS"
            )
            response = JSONResponse(jsonrpc.failure(None, error), status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


# ``loopback`` in A2A_CORS_ORIGINS: any page served from this machine (any port), which
# is what local development needs (``make dev`` sets it) and nothing a remote site matches.
LOOPBACK_ORIGINS = "loopback"
LOOPBACK_ORIGIN_PATTERN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"


def cors_origins(setting: str) -> list[str]:
    """``A2A_CORS_ORIGINS`` as a list of origins (``*`` allows any; ``loopback`` is kept
    as a word, see ``LOOPBACK_ORIGINS``)."""
    return [o.strip().rstrip("/") for o in setting.split(",") if o.strip()]


def middleware(settings: Settings) -> list[Middleware]:
    """Host check outermost, then CORS when origins are configured (off by default)."""
    stack = [Middleware(HostGuard, policy=HostPolicy.parse(settings.allowed_hosts))]
    origins = cors_origins(settings.cors_origins)
    loopback = LOOPBACK_ORIGINS in origins
    origins = [o for o in origins if o != LOOPBACK_ORIGINS]
    if origins or loopback:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_origin_regex=LOOPBACK_ORIGIN_PATTERN if loopback else None,
                allow_methods=["GET", "POST", "DELETE"],
                allow_headers=list(CORS_ALLOW_HEADERS),
                expose_headers=list(CORS_EXPOSE_HEADERS),
                max_age=600,
            )
        )
    return stack


def public_base_url(request: Request, settings: Settings) -> str:
    """Where clients reach this gateway, for the URLs the cards publish.

    ``A2A_PUBLIC_URL`` when set. Else, in Lambda, the domain the invocation arrived
    through, from the request context the Lambda Web Adapter writes (``domainName`` of
    ``x-amzn-request-context``; a client cannot forge it there, the adapter overwrites
    it): not the ``Host`` header, which the template's allow-list matches by wildcard
    (``*.lambda-url.<region>.on.aws`` covers every function URL of the region, so a forged
    Host could send clients to someone else's function). Elsewhere the request's own URL,
    whose Host ``HostGuard`` allowed: a loopback name, a configured name, or a subdomain
    of a configured wildcard, which its operator owns (``A2A_ALLOWED_HOSTS=*`` requires
    ``A2A_PUBLIC_URL``, see ``Settings.validate``)."""
    if settings.public_url:
        return settings.public_url
    if in_lambda():
        domain = _invoked_domain(request.headers.get("x-amzn-request-context"))
        if domain is not None:
            return f"https://{domain}/"
    return str(request.base_url)


def _invoked_domain(context: str | None) -> str | None:
    """The ``domainName`` of a Lambda request context, if it is a plain host name."""
    try:
        parsed = json.loads(context or "null")
    except ValueError:
        return None
    domain = parsed.get("domainName") if isinstance(parsed, dict) else None
    if isinstance(domain, str) and _HOST_NAME.fullmatch(domain.lower()):
        return domain.lower()
    return None
