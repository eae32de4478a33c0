"""Push-notification sender: one POST of a signed notification to a client webhook.

One implementation, two dispatchers: the push state machine's Lambda
(``functions/push_sender/app.py``, which is this file copied beside it, so it imports only
the standard library and nothing of this package) and, outside AWS, the worker's delivery
loop. The dispatcher builds and signs the notification; this module checks it, vets the
URL and posts it.

Input (the state machine passes its execution input through)::

    {"url": "https://client.example/hook",
     "body": "{\\"id\\": \\"task-1\\", ...}",       # the exact JSON text to send
     "contentType": "application/json",            # or application/a2a+json; optional
     "token": "optional per-config token",
     "authorization": "Bearer abc",               # optional: the config's authentication
     "signature": "<JWT>",                         # required: the dispatcher's JWT
     "taskId": "...", "configId": "..."}           # optional, for logs and dead letters

Contract:

* ``body`` is sent byte for byte as given (its UTF-8 encoding), never re-serialised: the
  JWT in ``signature`` signs its SHA-256 (``bodySha256``, ``a2a_gateway.push.signing``).
  It must be the text of a JSON object (strict JSON: no NaN or infinities), at most
  ``MAX_BODY_BYTES`` (256 KiB) encoded, and the JWT's ``bodySha256`` claim must match it
  (the signature itself is not checked here: the sender holds no key). Headers sent:
  ``Content-Type`` (``contentType``, default ``application/json``),
  ``X-A2A-Notification-JWT`` (``signature``), ``X-A2A-Notification-Token`` (``token``, A2A
  spec) and ``Authorization`` (``authorization``, e.g. ``Bearer abc``), the last two only
  when given.
* Input errors are refused at once with ``PushRejected``, before anything is resolved or
  sent: an event that is not an object; a ``url`` that is missing, not a string, not
  ``https`` (``http`` only with ``allow_private``, below), has no valid host name or IP
  literal, has credentials (any ``@``), spaces, control or non-ASCII characters, or a port
  outside 1-65535; a ``body`` that is missing, not a string, not encodable as UTF-8, over
  the cap, or not a JSON object's text; a ``contentType`` other than the two above (absent
  or ``null`` is the default); a ``token`` or ``authorization`` that is neither
  absent/``null``/``""`` nor a string that is a valid header value; a ``signature`` that
  is missing, not a compact JWT (three base64url parts), or whose ``bodySha256`` is not
  the body's; a ``taskId`` or ``configId`` that is neither absent/``null`` nor a string.
  No input error escapes as another exception (the state machine would retry it).
* Only hosts whose every address is public are called. ``NON_PUBLIC_NETWORKS`` is the one
  table of what is not, and ``classify_address`` the one judge: the gateway's set-time
  check (``a2a_gateway.push.webhook_url``) imports both from here. Refused: loopback,
  private (RFC 1918), CGNAT ``100.64.0.0/10``, ``0.0.0.0/8``, link-local (instance
  metadata ``169.254.169.254``), the IETF, documentation, benchmarking, multicast and
  reserved ranges; for IPv6 the unspecified address, loopback, unique-local ``fc00::/7``,
  the metadata ``fd00:ec2::254``, link-local, site-local, multicast, documentation
  (``2001:db8::/32``, ``3fff::/20``), discard, SRv6 and the rest of ``2001::/23``, any
  address outside global unicast ``2000::/3``, and, whatever IPv4 address they embed, the
  forms that embed or reach IPv4: IPv4-mapped ``::ffff:0:0/96``, IPv4-compatible
  ``::/96``, IPv4-translated ``::ffff:0:0:0/96``, NAT64 ``64:ff9b::/96`` and
  ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo ``2001::/32``. The connection goes to
  the address that was checked (no second lookup). ``allow_private`` (``from_env``:
  ``A2A_PUSH_ALLOW_PRIVATE``, the gateway's local-development setting, which the template
  never sets) lets loopback and private (RFC 1918, unique-local) addresses through, never
  the metadata addresses or the embedded forms, and allows ``http`` when every address
  the host resolves to is loopback. The Lambda runs outside the VPC as a second fence.
* Each attempt has ONE total deadline, ``A2A_PUSH_TIMEOUT_SECONDS`` (default 10): connect,
  TLS handshake, sending the request and receiving the status line and headers all count
  against it (the DNS lookup before it does not). ``http.client`` cannot do this (its
  timeout applies to each socket operation, so a byte every 0.9 s never trips a 1 s
  timeout), so the sender speaks HTTP/1.1 on the socket itself, which is little code for
  one POST and a status line: before every blocking call (connect, the TLS handshake,
  which CPython bounds as a whole by the socket timeout, each ``send`` of at most 16 KiB,
  each ``recv`` of at most 4 KiB) the socket's timeout is set to the time left on a
  monotonic clock. A receiver that trickles, or accepts and never answers, cannot hold
  the sender past the deadline. Running out of it is ``PushDeliveryFailed``
  ("... deadline ...").
* Only the status line and headers are read, at most 64 KiB in all (``1xx`` interim
  responses are skipped); the body is never waited for, and a header section over the cap
  is ``PushDeliveryFailed``. Redirects are not followed: a ``3xx`` is ``PushRejected``
  (the webhook URL is wrong; a retry would get the same answer).
* Retries are the dispatcher's job. ``PushRejected`` (input error, unsafe URL, a 3xx,
  a 4xx other than 408 and 429) must not be retried; ``PushDeliveryFailed`` (name not
  resolved, network or TLS error, deadline, malformed response, 5xx, 408, 429) may be. A
  2xx returns ``{"delivered": true, "status": <code>, ...}``. The state machine matches
  the two errors by their class names.
* Error messages name the webhook's host at most, never its URL (whose path or query may
  hold a secret), the token, the authorization or the signature: they become the
  execution's error cause, which the state machine puts into the dead-letter queue.
* A ``Sender`` holds no per-call state: one instance may serve several threads.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import math
import os
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-A2A-Notification-Token"  # noqa: S105 - a header name, not a secret
JWT_HEADER = "X-A2A-Notification-JWT"
AUTHORIZATION_HEADER = "Authorization"
CONTENT_TYPES = ("application/json", "application/a2a+json")
RETRYABLE_STATUS = frozenset({408, 429})
MAX_BODY_BYTES = 256 * 1024
# Visible ASCII, spaces only inside: what an HTTP header value can carry unchanged.
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
# A compact JWS: header.payload.signature, each part base64url without padding.
_COMPACT_JWT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
# One DNS label (urlsplit lowercases the host); "_" appears in real names.
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
MAX_RESPONSE_BYTES = 65536  # status line and headers (incl. any 1xx); the body is not read
_RECV_BYTES = 4096
_SEND_BYTES = 16384
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.[0-9] ([1-5][0-9][0-9])(?:[ \t][^\r\n]*)?\r?")


class NonPublic(NamedTuple):
    """Why an address may not be called, for a message (``what``), and whether
    ``allow_private`` (``A2A_PUSH_ALLOW_PRIVATE``, local development) lets it through."""

    what: str
    local: bool


# The one table of non-public addresses, the sender's (send time) and the gateway's (set
# time, ``push.webhook_url``): (network, what it is, allowed with allow_private). The
# first match decides, so an exception precedes the row that holds it (the metadata
# fd00:ec2::254 before unique-local fc00::/7, Teredo before 2001::/23). Loopback and
# private rows alone are local; the metadata addresses and every form that embeds or
# reaches IPv4 never are, whatever they embed. ``classify_address`` then refuses what
# no row names: IPv6 outside global unicast 2000::/3, and what ``ipaddress`` calls
# non-global.
NON_PUBLIC_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, NonPublic], ...]
NON_PUBLIC_NETWORKS = tuple(
    (ipaddress.ip_network(network), NonPublic(what, local))
    for network, what, local in (
        ("0.0.0.0/8", "a this-network address (0.0.0.0/8)", False),
        ("10.0.0.0/8", "a private address (10.0.0.0/8)", True),
        ("100.64.0.0/10", "a shared CGNAT address (100.64.0.0/10)", False),
        ("127.0.0.0/8", "a loopback address (127.0.0.0/8)", True),
        ("169.254.0.0/16", "a link-local address (169.254.0.0/16, instance metadata)", False),
        ("172.16.0.0/12", "a private address (172.16.0.0/12)", True),
        ("192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)", False),
        ("192.0.2.0/24", "a documentation address (192.0.2.0/24)", False),
        ("192.88.99.0/24", "a 6to4 relay address (192.88.99.0/24)", False),
        ("192.168.0.0/16", "a private address (192.168.0.0/16)", True),
        ("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)", False),
        ("198.51.100.0/24", "a documentation address (198.51.100.0/24)", False),
        ("203.0.113.0/24", "a documentation address (203.0.113.0/24)", False),
        ("224.0.0.0/4", "a multicast address (224.0.0.0/4)", False),
        ("240.0.0.0/4", "a reserved address (240.0.0.0/4)", False),
        ("::/128", "the unspecified address (::)", False),
        ("::1/128", "the loopback address (::1)", True),
        ("::ffff:0:0/96", "an IPv4-mapped address (::ffff:0:0/96)", False),
        ("::/96", "an IPv4-compatible address (::/96)", False),
        ("::ffff:0:0:0/96", "an IPv4-translated address (::ffff:0:0:0/96)", False),
        ("64:ff9b::/96", "a NAT64 address (64:ff9b::/96)", False),
        ("64:ff9b:1::/48", "a NAT64 address (64:ff9b:1::/48)", False),
        ("100::/64", "a discard address (100::/64)", False),
        ("2001::/32", "a Teredo address (2001::/32)", False),
        ("2001:db8::/32", "a documentation address (2001:db8::/32)", False),
        ("2001::/23", "an IETF protocol assignment (2001::/23)", False),
        ("2002::/16", "a 6to4 address (2002::/16)", False),
        ("3fff::/20", "a documentation address (3fff::/20)", False),
        ("5f00::/16", "an SRv6 SID address (5f00::/16)", False),
        ("fd00:ec2::254/128", "the instance metadata address (fd00:ec2::254)", False),
        ("fc00::/7", "a unique-local address (fc00::/7)", True),
        ("fe80::/10", "a link-local address (fe80::/10)", False),
        ("fec0::/10", "a site-local address (fec0::/10)", False),
        ("ff00::/8", "a multicast address (ff00::/8)", False),
    )
)
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_RESERVED_IPV6 = NonPublic("a reserved IPv6 address (outside 2000::/3)", False)
_NOT_GLOBAL = NonPublic("a non-public address", False)
_NOT_AN_ADDRESS = NonPublic("something that is not an IP address", False)


def classify_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> NonPublic | None:
    """``None`` for a public unicast address; otherwise why it is not and whether
    ``allow_private`` lets it through (``NON_PUBLIC_NETWORKS``, first match; then IPv6
    outside ``2000::/3``; then what the standard library calls non-global)."""
    for network, found in NON_PUBLIC_NETWORKS:
        if address in network:
            return found
    if address.version == 6 and address not in _IPV6_GLOBAL_UNICAST:
        return _RESERVED_IPV6
    if not address.is_global:
        return _NOT_GLOBAL
    return None


class PushRejected(Exception):
    """The notification can never be delivered as asked; do not retry."""


class PushDeliveryFailed(Exception):
    """The webhook could not be reached or failed; a retry may succeed."""


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Target:
    """A webhook URL that passed the checks, pinned to the address that was checked."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def check_url(url: str, *, allow_private: bool) -> Target:
    """Parse and vet ``url``; raise ``PushRejected`` if it may not be called.

    A name that cannot be resolved is ``PushDeliveryFailed`` (DNS may recover); every
    address it resolves to must be public (``classify_address``; with ``allow_private``
    loopback and private ones pass too), and the first one is the one connected to.
    ``http`` needs ``allow_private`` and a host whose every address is loopback.
    """
    if not isinstance(url, str) or not _URL_CHARACTERS.fullmatch(url):
        raise PushRejected("the webhook URL has spaces, control or non-ASCII characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed "[" in the host; its text would quote the URL
        raise PushRejected("the webhook URL is not valid") from None
    if parts.scheme not in ("https", "http") or not host:
        raise PushRejected("the webhook URL is not an http(s) URL with a host")
    if parts.scheme == "http" and not allow_private:
        raise PushRejected("webhook URLs must use https")
    if "@" in parts.netloc:
        raise PushRejected("webhook URLs must not carry credentials")
    if not _valid_host(host):
        raise PushRejected("the webhook URL's host is not a valid host name or IP address")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    if not 0 < port < 65536:
        raise PushRejected(f"invalid port in the webhook URL of {host}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise PushDeliveryFailed(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise PushDeliveryFailed(f"{host} resolves to no address")
    parsed = [_parse_address(address) for address in addresses]
    for ip in parsed:
        found = _NOT_AN_ADDRESS if ip is None else classify_address(ip)
        if found is not None and not (found.local and allow_private):
            raise PushRejected(f"{host} resolves to a non-public address: {found.what}")
    if parts.scheme == "http" and not all(ip is not None and ip.is_loopback for ip in parsed):
        raise PushRejected("webhook URLs must use https (http is allowed only to a loopback host)")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, host, port, path, addresses[0])


def _valid_host(host: str) -> bool:
    """An IP literal, or a DNS name of 1-253 characters in labels of 1-63."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return True
    name = host.removesuffix(".")
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(x) for x in name.split("."))


def _parse_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address ``getaddrinfo`` returned, without its IPv6 zone id (``fe80::1%eth0``)."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None


class _Deadline:
    """A monotonic deadline that arms a socket with the time left before each call."""

    def __init__(self, seconds: float, host: str) -> None:
        self.seconds = seconds
        self.host = host
        self.at = time.monotonic() + seconds

    def left(self, doing: str) -> float:
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise self.exceeded(doing)
        return remaining

    def arm(self, sock: socket.socket, doing: str) -> None:
        sock.settimeout(self.left(doing))

    def exceeded(self, doing: str) -> PushDeliveryFailed:
        return PushDeliveryFailed(
            f"{self.host} exceeded the {self.seconds:g} s delivery deadline while {doing}"
        )


def _request(target: Target, body: bytes, headers: dict[str, str]) -> bytes:
    """The HTTP/1.1 request; every part was checked to be visible ASCII."""
    authority = f"[{target.host}]" if ":" in target.host else target.host
    if target.port != (443 if target.scheme == "https" else 80):
        authority = f"{authority}:{target.port}"
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {authority}",
        *(f"{name}: {value}" for name, value in headers.items()),
        f"Content-Length: {len(body)}",
        "Connection: close",
        "",
        "",
    ]
    return "\r\n".join(lines).encode("ascii") + body


def _exchange(
    target: Target, request: bytes, deadline: _Deadline, tls: ssl.SSLContext | None
) -> int:
    """Connect, send ``request`` and return the final status, all within ``deadline``."""
    doing = "connecting"
    sock = socket.create_connection((target.address, target.port), timeout=deadline.left(doing))
    try:
        if tls is not None:
            doing = "in the TLS handshake"
            deadline.arm(sock, doing)  # the handshake is one call bounded by the timeout
            sock = tls.wrap_socket(sock, server_hostname=target.host)
        doing = "sending the request"
        view = memoryview(request)
        sent = 0
        while sent < len(view):
            deadline.arm(sock, doing)
            sent += sock.send(view[sent : sent + _SEND_BYTES])
        doing = "waiting for the response headers"
        return _read_status(sock, deadline, doing)
    except TimeoutError:
        raise deadline.exceeded(doing) from None
    finally:
        sock.close()


def _read_status(sock: socket.socket, deadline: _Deadline, doing: str) -> int:
    """The status of the first non-1xx response; at most ``MAX_RESPONSE_BYTES`` are read."""
    buffer = b""
    received = 0
    while True:
        end = _HEADERS_END.search(buffer)
        while end is None:
            if received >= MAX_RESPONSE_BYTES:
                raise PushDeliveryFailed(
                    f"{deadline.host} sent more than {MAX_RESPONSE_BYTES} bytes of headers"
                )
            deadline.arm(sock, doing)
            chunk = sock.recv(min(_RECV_BYTES, MAX_RESPONSE_BYTES - received))
            if not chunk:
                raise PushDeliveryFailed(f"{deadline.host} closed the connection unanswered")
            received += len(chunk)
            buffer += chunk
            end = _HEADERS_END.search(buffer)
        status_line = buffer[: end.start()].split(b"\n", 1)[0]
        buffer = buffer[end.end() :]
        match = _STATUS_LINE.fullmatch(status_line)
        if match is None:
            raise PushDeliveryFailed(f"{deadline.host} did not answer with an HTTP/1 status")
        status = int(match.group(1))
        if status >= 200 or status == 101:
            return status
        # 100 Continue, 103 Early Hints, ...: an interim answer; the final one follows.


@dataclass(frozen=True)
class Notification:
    """A checked event: what is sent, and the ids that name it in logs."""

    url: str
    body: bytes
    headers: dict[str, str]
    task_id: str
    config_id: str


def parse_event(event: object) -> Notification:
    """Check every input of ``event`` (module docstring); ``PushRejected`` on the first
    error. Nothing is resolved or sent here."""
    if not isinstance(event, dict):
        raise PushRejected("the event is not a JSON object")
    url = event.get("url")
    if not isinstance(url, str):
        raise PushRejected("the event needs a 'url'")
    body = _body(event.get("body"))
    content_type = event.get("contentType")
    if content_type is None:
        content_type = CONTENT_TYPES[0]
    elif content_type not in CONTENT_TYPES:
        raise PushRejected(f"the event's 'contentType' is not one of {', '.join(CONTENT_TYPES)}")
    headers = {"Content-Type": str(content_type), "User-Agent": "a2a-gateway-push/1"}
    headers[JWT_HEADER] = _signature(event.get("signature"), body)
    for field, header in (("token", TOKEN_HEADER), ("authorization", AUTHORIZATION_HEADER)):
        value = _optional_header(event.get(field), field)
        if value:
            headers[header] = value
    return Notification(
        url=url,
        body=body,
        headers=headers,
        task_id=_optional_id(event.get("taskId"), "taskId"),
        config_id=_optional_id(event.get("configId"), "configId"),
    )


def _body(body: object) -> bytes:
    """``body`` as the bytes to send; ``PushRejected`` unless it is a JSON object's text
    of at most ``MAX_BODY_BYTES``. The text is parsed only to check it, never re-encoded."""
    if not isinstance(body, str):
        raise PushRejected("the event's 'body' is not a string")
    if len(body) > MAX_BODY_BYTES:  # every character is at least one byte
        raise PushRejected(f"the event's 'body' is over {MAX_BODY_BYTES} bytes")
    try:
        data = body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        raise PushRejected("the event's 'body' is not valid Unicode") from None
    if len(data) > MAX_BODY_BYTES:
        raise PushRejected(f"the event's 'body' is over {MAX_BODY_BYTES} bytes")
    try:
        parsed = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):  # not JSON, NaN or infinity, too deep, huge ints
        raise PushRejected("the event's 'body' is not JSON") from None
    if not isinstance(parsed, dict):
        raise PushRejected("the event's 'body' is not a JSON object")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _signature(signature: object, body: bytes) -> str:
    """The JWT to send; ``PushRejected`` unless it is a compact JWT whose ``bodySha256``
    claim is the SHA-256 of ``body`` (a dispatcher that re-serialised the body after
    signing it would send a notification no receiver accepts)."""
    if not isinstance(signature, str) or not signature:
        raise PushRejected("the event needs a 'signature' (the notification's JWT)")
    match = _COMPACT_JWT.fullmatch(signature)
    if match is None:
        raise PushRejected("the event's 'signature' is not a compact JWT")
    try:
        claims = json.loads(_unbase64url(match.group(2)))
    except (ValueError, RecursionError):  # bad base64, not UTF-8, not JSON
        raise PushRejected("the event's 'signature' has no readable claims") from None
    digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
    if not isinstance(claims, dict) or claims.get("bodySha256") != digest:
        raise PushRejected("the event's 'signature' does not sign this body (bodySha256)")
    return signature


def _unbase64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _optional_header(value: object, field: str) -> str:
    """An optional header value: absent, ``null`` or ``""`` is none; otherwise a string
    that an HTTP header carries unchanged (the message never quotes it)."""
    if value is None or value == "":
        return ""
    if not (isinstance(value, str) and _HEADER_VALUE.fullmatch(value)):
        raise PushRejected(f"the event's '{field}' is not a valid header value")
    return value


def _optional_id(value: object, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise PushRejected(f"the event's '{field}' is not a string")
    return value


class Sender:
    """Checks and posts notifications; one instance per process or execution environment.

    ``timeout`` is the total deadline of one attempt (see the module's docstring).
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
    ) -> None:
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("the push timeout must be a positive number of seconds")
        self.timeout = timeout
        self.allow_private = allow_private
        self._tls: ssl.SSLContext | None = None
        self._tls_lock = threading.Lock()

    @classmethod
    def from_env(cls) -> Sender:
        """``A2A_PUSH_TIMEOUT_SECONDS`` and ``A2A_PUSH_ALLOW_PRIVATE`` (local development
        only; the template never sets it)."""
        return cls(
            timeout=float(os.environ.get("A2A_PUSH_TIMEOUT_SECONDS", "10")),
            allow_private=_flag("A2A_PUSH_ALLOW_PRIVATE"),
        )

    def send(self, event: object) -> dict[str, Any]:
        """Deliver ``event``; every input is checked before anything is resolved or sent."""
        notification = parse_event(event)
        target = check_url(notification.url, allow_private=self.allow_private)
        status = self._post(target, notification.body, notification.headers)
        summary = {
            "taskId": notification.task_id,
            "configId": notification.config_id,
            "host": target.host,
            "status": status,
        }
        if 200 <= status < 300:
            logger.info("push delivered", extra=summary)
            return {"delivered": True, **summary}
        logger.warning("push refused by webhook", extra=summary)
        if status >= 500 or status in RETRYABLE_STATUS:
            raise PushDeliveryFailed(f"webhook answered {status}")
        if 300 <= status < 400:
            raise PushRejected(f"webhook answered {status}; redirects are not followed")
        raise PushRejected(f"webhook answered {status}")

    def _context(self) -> ssl.SSLContext:
        with self._tls_lock:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            return self._tls

    def _post(self, target: Target, body: bytes, headers: dict[str, str]) -> int:
        """POST to the pinned address within one total deadline; return the status."""
        deadline = _Deadline(self.timeout, target.host)
        tls = self._context() if target.scheme == "https" else None
        try:
            return _exchange(target, _request(target, body, headers), deadline, tls)
        except PushDeliveryFailed:
            raise
        except OSError as exc:  # refused, reset, unreachable, TLS (ssl.SSLError), ...
            raise PushDeliveryFailed(f"{target.host}: {type(exc).__name__}: {exc}") from exc
