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
* Only ``https`` URLs, and only hosts whose every address is public: loopback, private,
  link-local (instance metadata), multicast and reserved addresses are refused. The
  connection goes to the address that was checked (no second lookup), and redirects are
  not followed. ``A2A_PUSH_ALLOW_INSECURE_URLS`` / ``A2A_PUSH_ALLOW_PRIVATE_ADDRESSES``
  lift these rules for tests only. The function runs outside the VPC as a second fence.
* Retries are the state machine's job. ``PushRejected`` (unsafe URL, a 4xx other than 408
  and 429) must not be retried; ``PushDeliveryFailed`` (network error, timeout, 5xx, 408,
  429) may be. A 2xx returns ``{"delivered": true, "status": <code>, ...}``.
* Error messages name the webhook's host at most, never its URL (whose path or query may
  hold a secret) nor the token: they become the execution's error cause, which the state
  machine puts into the dead-letter queue.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
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
KEY_CACHE_SECONDS = 300.0


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
    """Parse and vet ``url``; raise ``PushRejected`` if it may not be called."""
    if not _URL_CHARACTERS.fullmatch(url):
        raise PushRejected("the webhook URL has spaces, control or non-ASCII characters")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise PushRejected("the webhook URL is not an http(s) URL with a host")
    if parts.scheme == "http" and not allow_insecure:
        raise PushRejected("webhook URLs must use https")
    if parts.username or parts.password:
        raise PushRejected("webhook URLs must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PushRejected(f"invalid port in the webhook URL of {parts.hostname}") from None
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PushDeliveryFailed(f"cannot resolve {parts.hostname}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not allow_private:
        for address in addresses:
            if not _is_public(address):
                raise PushRejected(f"{parts.hostname} resolves to a non-public address")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def sign(key: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(key, ``timestamp + "." + body``)."""
    message = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


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
    """Builds, signs and posts notifications; one instance per execution environment."""

    def __init__(
        self,
        signing_key: SigningKey,
        *,
        timeout: float = 10.0,
        allow_insecure: bool = False,
        allow_private: bool = False,
    ) -> None:
        self.signing_key = signing_key
        self.timeout = timeout
        self.allow_insecure = allow_insecure
        self.allow_private = allow_private

    @classmethod
    def from_env(cls) -> Sender:
        return cls(
            SigningKey(os.environ.get("A2A_PUSH_SIGNING_SECRET_ARN", "")),
            timeout=float(os.environ.get("A2A_PUSH_TIMEOUT_SECONDS", "10")),
            allow_insecure=_flag("A2A_PUSH_ALLOW_INSECURE_URLS"),
            allow_private=_flag("A2A_PUSH_ALLOW_PRIVATE_ADDRESSES"),
        )

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(event, dict) or not isinstance(event.get("url"), str):
            raise PushRejected("the event needs a 'url'")
        url: str = event["url"]
        token = event.get("token") or ""
        if token and not (isinstance(token, str) and _HEADER_VALUE.fullmatch(token)):
            raise PushRejected("the config's token is not a valid header value")
        task_id = str(event.get("taskId", ""))
        target = check_url(
            url, allow_insecure=self.allow_insecure, allow_private=self.allow_private
        )
        body = json.dumps(event.get("payload", {}), separators=(",", ":")).encode("utf-8")
        timestamp = str(int(time.time()))
        key = str(token) if token else self.signing_key.get()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "a2a-gateway-push/1",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(key, timestamp, body),
        }
        if token:
            headers[TOKEN_HEADER] = str(token)
        status = self._post(target, body, headers)
        summary = {"taskId": task_id, "host": target.host, "status": status}
        if 200 <= status < 300:
            logger.info("push delivered", extra=summary)
            return {"delivered": True, **summary}
        logger.warning("push refused by webhook", extra=summary)
        if status >= 500 or status in RETRYABLE_STATUS:
            raise PushDeliveryFailed(f"webhook answered {status}")
        raise PushRejected(f"webhook answered {status}")

    def _post(self, target: Target, body: bytes, headers: dict[str, str]) -> int:
        connection: http.client.HTTPConnection
        if target.scheme == "https":
            connection = _PinnedHTTPSConnection(target, self.timeout)
        else:
            connection = _PinnedHTTPConnection(target, self.timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            response.read(65536)
            return response.status
        except http.client.InvalidURL as exc:  # its text would quote the path and query
            raise PushRejected(f"the webhook URL of {target.host} is not valid") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise PushDeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()


SENDER = Sender.from_env()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Deliver one notification; raise ``PushRejected`` or ``PushDeliveryFailed`` otherwise."""
    return SENDER.send(event)
