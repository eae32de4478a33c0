"""Push-notification sender: one signed POST to a client webhook, run by the push state machine.

Input (the state machine passes its execution input through)::

    {"url": "https://client.example/hook", "token": "optional per-config token",
     "taskId": "...", "payload": {...the JSON body to deliver...}}

Contract:

* The body is ``payload`` as compact JSON. ``X-A2A-Timestamp`` (epoch seconds) and
  ``X-A2A-Signature: sha256=<hex>`` are added, the signature being HMAC-SHA256 over
  ``"<timestamp>.<body>"`` keyed with the config's ``token``, or, without one, with the
  deployment's signing key (Secrets Manager, ``A2A_PUSH_SIGNING_SECRET_ARN``). A config
  token is also sent as ``X-A2A-Notification-Token`` (A2A spec).
* Input errors are refused at once with ``PushRejected``, before anything is resolved or
  sent: an event that is not an object; a ``url`` that is missing, not a string, not
  ``https`` (``http`` only with the test flag), has no valid host name or IP literal, has
  credentials (any ``@``), spaces, control or non-ASCII characters, or a port outside
  1-65535; a ``payload`` that is missing or not a JSON object (or holds NaN, infinities or
  values JSON cannot carry); a ``token`` that is neither absent/``null``/``""`` nor a
  string that is a valid header value; a ``taskId`` that is neither absent/``null`` nor a
  string. No input error escapes as another exception (the state machine would retry it).
* Only hosts whose every address is public are called. Refused: loopback, private
  (RFC 1918), CGNAT ``100.64.0.0/10``, ``0.0.0.0/8``, link-local (instance metadata
  ``169.254.169.254``), the IETF, documentation, benchmarking, multicast and reserved
  ranges; for IPv6 everything outside global unicast ``2000::/3`` (so unique-local
  ``fc00::/7`` incl. the metadata ``fd00:ec2::254``, site-local, link-local, multicast,
  the unspecified address and loopback), and, whatever IPv4 address they embed, the
  translation and tunnelling prefixes: IPv4-compatible ``::/96``, IPv4-translated
  ``::ffff:0:0:0/96``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``,
  Teredo ``2001::/32`` (with all of ``2001::/23``), documentation ``2001:db8::/32`` and
  ``3fff::/20``. An IPv4-mapped address (``::ffff:a.b.c.d``) is judged by its IPv4
  address. The connection goes to the address that was checked (no second lookup).
  ``A2A_PUSH_ALLOW_INSECURE_URLS`` / ``A2A_PUSH_ALLOW_PRIVATE_ADDRESSES`` lift these rules
  for tests only. The function runs outside the VPC as a second fence.
* Each attempt has ONE total deadline, ``A2A_PUSH_TIMEOUT_SECONDS`` (default 10): connect,
  TLS handshake, sending the request and receiving the status line and headers all count
  against it (the DNS lookup before it and the signing-key fetch do not). ``http.client``
  cannot do this (its timeout applies to each socket operation, so a byte every 0.9 s
  never trips a 1 s timeout), so the sender speaks HTTP/1.1 on the socket itself, which is
  little code for one POST and a status line: before every blocking call (connect, the
  TLS handshake, which CPython bounds as a whole by the socket timeout, each ``send`` of
  at most 16 KiB, each ``recv`` of at most 4 KiB) the socket's timeout is set to the time
  left on a monotonic clock. A receiver that trickles, or accepts and never answers,
  cannot hold the sender past the deadline. Running out of it is ``PushDeliveryFailed``
  ("... deadline ...").
* Only the status line and headers are read, at most 64 KiB in all (``1xx`` interim
  responses are skipped); the body is never waited for, and a header section over the cap
  is ``PushDeliveryFailed``. Redirects are not followed: a ``3xx`` is ``PushRejected``
  (the webhook URL is wrong; a retry would get the same answer).
* Retries are the state machine's job. ``PushRejected`` (input error, unsafe URL, a 3xx,
  a 4xx other than 408 and 429) must not be retried; ``PushDeliveryFailed`` (name not
  resolved, network or TLS error, deadline, malformed response, 5xx, 408, 429) may be. A
  2xx returns ``{"delivered": true, "status": <code>, ...}``.
* Error messages name the webhook's host at most, never its URL (whose path or query may
  hold a secret) nor the token: they become the execution's error cause, which the state
  machine puts into the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import math
import os
import re
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger()
logger.setLevel(logging.INFO)

SIGNATURE_HEADER = "X-A2A-Signature"
TIMESTAMP_HEADER = "X-A2A-Timestamp"
TOKEN_HEADER = "X-A2A-Notification-Token"  # noqa: S105 - a header name, not a secret
RETRYABLE_STATUS = frozenset({408, 429})
# Visible ASCII, spaces only inside: what an HTTP header value can carry unchanged.
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
_URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
# One DNS label (urlsplit lowercases the host); "_" appears in real names.
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
KEY_CACHE_SECONDS = 300.0
MAX_RESPONSE_BYTES = 65536  # status line and headers (incl. any 1xx); the body is not read
_RECV_BYTES = 4096
_SEND_BYTES = 16384
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.[0-9] ([1-5][0-9][0-9])(?:[ \t][^\r\n]*)?\r?")

_REFUSED_IPV4 = tuple(
    ipaddress.IPv4Network(network)
    for network in (
        "0.0.0.0/8",  # "this network", incl. the unspecified address
        "10.0.0.0/8",  # private
        "100.64.0.0/10",  # carrier-grade NAT (shared address space)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local, incl. the instance metadata 169.254.169.254
        "172.16.0.0/12",  # private
        "192.0.0.0/24",  # IETF protocol assignments (DS-Lite, NAT64 discovery, ...)
        "192.0.2.0/24",  # documentation (TEST-NET-1)
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",  # private
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation (TEST-NET-2)
        "203.0.113.0/24",  # documentation (TEST-NET-3)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. the limited broadcast 255.255.255.255
    )
)
_IPV6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_REFUSED_IPV6 = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/96",  # IPv4-compatible (deprecated), incl. :: and ::1
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments: Teredo, benchmarking, ORCHID, ...
        "2001::/32",  # Teredo (inside the above; named for the reader)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique-local, incl. the instance metadata fd00:ec2::254
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)


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


def check_url(url: str, *, allow_insecure: bool, allow_private: bool) -> Target:
    """Parse and vet ``url``; raise ``PushRejected`` if it may not be called.

    A name that cannot be resolved is ``PushDeliveryFailed`` (DNS may recover); every
    address it resolves to must be public, and the first one is the one connected to.
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
    if parts.scheme == "http" and not allow_insecure:
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
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise PushRejected(f"{host} resolves to a non-public address")
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


def _is_public(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast address no tunnel can redirect."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        refused = any(ip in network for network in _REFUSED_IPV4)
    else:
        refused = ip not in _IPV6_GLOBAL_UNICAST or any(ip in n for n in _REFUSED_IPV6)
    # The explicit lists above decide; the standard library's registry is a second opinion.
    return not (
        refused
        or not ip.is_global
        or ip.is_multicast
        or ip.is_private
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
    )


def sign(key: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(key, ``timestamp + "." + body``)."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


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


class SigningKey:
    """The deployment's signing key from Secrets Manager, cached for a few minutes."""

    def __init__(self, secret_arn: str) -> None:
        self.secret_arn = secret_arn
        self._client: Any = None
        self._value = ""
        self._fetched = 0.0

    def get(self) -> str:
        if not self.secret_arn:
            raise PushRejected("no token in the config and no A2A_PUSH_SIGNING_SECRET_ARN")
        if self._value and time.monotonic() - self._fetched < KEY_CACHE_SECONDS:
            return self._value
        if self._client is None:
            import boto3  # noqa: PLC0415 - part of the Lambda runtime; only needed here

            self._client = boto3.client("secretsmanager")
        response = self._client.get_secret_value(SecretId=self.secret_arn)
        self._value = str(response["SecretString"])
        self._fetched = time.monotonic()
        return self._value


class Sender:
    """Builds, signs and posts notifications; one instance per execution environment.

    ``timeout`` is the total deadline of one attempt (see the module's docstring).
    """

    def __init__(
        self,
        signing_key: SigningKey,
        *,
        timeout: float = 10.0,
        allow_insecure: bool = False,
        allow_private: bool = False,
    ) -> None:
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("the push timeout must be a positive number of seconds")
        self.signing_key = signing_key
        self.timeout = timeout
        self.allow_insecure = allow_insecure
        self.allow_private = allow_private
        self._tls: ssl.SSLContext | None = None

    @classmethod
    def from_env(cls) -> Sender:
        return cls(
            SigningKey(os.environ.get("A2A_PUSH_SIGNING_SECRET_ARN", "")),
            timeout=float(os.environ.get("A2A_PUSH_TIMEOUT_SECONDS", "10")),
            allow_insecure=_flag("A2A_PUSH_ALLOW_INSECURE_URLS"),
            allow_private=_flag("A2A_PUSH_ALLOW_PRIVATE_ADDRESSES"),
        )

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        """Deliver ``event``; every input is checked before anything is resolved or sent."""
        if not isinstance(event, dict):
            raise PushRejected("the event is not a JSON object")
        url = event.get("url")
        if not isinstance(url, str):
            raise PushRejected("the event needs a 'url'")
        token = event.get("token")
        if token is None or token == "":
            token = ""
        elif not (isinstance(token, str) and _HEADER_VALUE.fullmatch(token)):
            raise PushRejected("the config's token is not a valid header value")
        task_id = event.get("taskId")
        if task_id is None:
            task_id = ""
        elif not isinstance(task_id, str):
            raise PushRejected("the event's 'taskId' is not a string")
        body = _body(event.get("payload"))
        target = check_url(
            url, allow_insecure=self.allow_insecure, allow_private=self.allow_private
        )
        timestamp = str(int(time.time()))
        key = token or self.signing_key.get()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "a2a-gateway-push/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(key, timestamp, body),
        }
        if token:
            headers[TOKEN_HEADER] = token
        status = self._post(target, body, headers)
        summary = {"taskId": task_id, "host": target.host, "status": status}
        if 200 <= status < 300:
            logger.info("push delivered", extra=summary)
            return {"delivered": True, **summary}
        logger.warning("push refused by webhook", extra=summary)
        if status >= 500 or status in RETRYABLE_STATUS:
            raise PushDeliveryFailed(f"webhook answered {status}")
        if 300 <= status < 400:
            raise PushRejected(f"webhook answered {status}; redirects are not followed")
        raise PushRejected(f"webhook answered {status}")

    def _post(self, target: Target, body: bytes, headers: dict[str, str]) -> int:
        """POST to the pinned address within one total deadline; return the status."""
        deadline = _Deadline(self.timeout, target.host)
        tls = None
        if target.scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            return _exchange(target, _request(target, body, headers), deadline, tls)
        except PushDeliveryFailed:
            raise
        except OSError as exc:  # refused, reset, unreachable, TLS (ssl.SSLError), ...
            raise PushDeliveryFailed(f"{target.host}: {type(exc).__name__}: {exc}") from exc


def _body(payload: object) -> bytes:
    """``payload`` as compact, strict JSON; ``PushRejected`` unless it is a JSON object."""
    if not isinstance(payload, dict):
        raise PushRejected("the event's 'payload' is not a JSON object")
    try:
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):  # an odd value, NaN, a cycle, depth
        raise PushRejected("the event's 'payload' cannot be sent as JSON") from None
    return text.encode("utf-8")


SENDER = Sender.from_env()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deliver one notification; raise ``PushRejected`` or ``PushDeliveryFailed`` otherwise."""
    return SENDER.send(event)
