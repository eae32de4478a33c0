"""The set-time check of a push notification webhook URL: pure, no DNS, no I/O.

``check_webhook_url`` passes a URL or raises ``WebhookRefused`` naming the rule it breaks
(the message is safe to show the caller: it never repeats the URL). The rules, in order:

1. At most ``MAX_URI_LENGTH`` characters; only visible ASCII (no whitespace, control or
   non-ASCII characters, checked on the raw string before any parsing) and no backslash,
   which browsers read as ``/`` and Python as a plain character.
2. ``https``. ``http`` only when ``allow_private`` and the host is ``localhost`` or a
   loopback literal (127.0.0.0/8, ``::1``).
3. An authority (``//host``) without credentials (``user:password@``), a port (if given)
   from 1 to 65535, and no fragment.
4. A host that ends in a number is an IPv4 address in any spelling ``inet_aton`` and URL
   parsers accept (``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``); if it is not a
   valid one it is refused. Bracketed IPv6 is parsed by ``ipaddress``; a zone id is
   refused. An address must be public unicast as the sender judges it at send time:
   ``classify_address`` and its table ``NON_PUBLIC_NETWORKS`` in
   ``a2a_gateway.push.sender`` are the one definition for both checks. Private,
   loopback, link-local (instance metadata), CGNAT, this-network, unique-local,
   site-local, multicast, documentation, benchmarking and reserved ranges are refused,
   and so are IPv6 forms that embed or reach IPv4 (mapped, compatible, translated,
   NAT64, 6to4, Teredo), whatever they embed. With ``allow_private`` loopback and
   private (RFC 1918, unique-local) literals pass; the metadata addresses and the rest
   never do.
5. A name: letters, digits, ``-`` and ``_`` in labels of 1-63 (one trailing dot allowed).
   ``localhost`` and ``*.localhost`` are loopback (refused unless ``allow_private``).
   Names under TLDs that exist only inside networks (``.internal`` with
   ``metadata.google.internal``, ``.local``, ``.localdomain``, ``.home.arpa``, ``.lan``,
   ``.intranet``, ``.corp``, ``.home``) are refused. A name without a dot is refused too:
   a resolver completes it with its search domains (``instance-data``, ``metadata``,
   ``redis``), and no public host answers to one label (ICANN allows no dotless TLD).

A name is not resolved here: what it points to may change, so the sender resolves and
checks every address at send time. This check only refuses what is wrong whatever DNS says.
"""

from __future__ import annotations

import ipaddress
import re

from a2a_gateway.core.limits import MAX_URI_LENGTH
from a2a_gateway.push.sender import classify_address


class WebhookRefused(ValueError):
    """A webhook URL broke a rule. ``rule`` is a short name for it (``length``,
    ``characters``, ``scheme``, ``credentials``, ``fragment``, ``host``,
    ``port``, ``address``, ``name``); the message says it for a person."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]*")
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"0x[0-9a-f]*")
_OCTAL = re.compile(r"0[0-7]+")
_INTERNAL_TLDS = (
    "internal",
    "local",
    "localdomain",
    "home.arpa",
    "lan",
    "intranet",
    "corp",
    "home",
)


def check_webhook_url(url: str, *, allow_private: bool) -> None:
    """Pass ``url`` or raise ``WebhookRefused`` with the rule it breaks (module docstring).
    ``allow_private`` is the local-development setting ``A2A_PUSH_ALLOW_PRIVATE``."""
    if len(url) > MAX_URI_LENGTH:
        raise WebhookRefused(
            "length", f"the webhook URL is longer than {MAX_URI_LENGTH} characters"
        )
    if not _VISIBLE_ASCII.fullmatch(url):
        raise WebhookRefused(
            "characters", "the webhook URL has whitespace, control or non-ASCII characters"
        )
    if "\\" in url:
        raise WebhookRefused("characters", "the webhook URL has a backslash")
    scheme, _, rest = url.partition(":")
    scheme = scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_private):
        raise WebhookRefused("scheme", "webhook URLs must use https")
    if "#" in url:
        raise WebhookRefused("fragment", "the webhook URL must not have a fragment (#...)")
    authority = re.split(r"[/?]", rest.removeprefix("//"), maxsplit=1)[0]
    if not rest.startswith("//") or not authority:
        raise WebhookRefused("host", "the webhook URL has no host")
    if "@" in authority:
        raise WebhookRefused("credentials", "the webhook URL must not carry credentials (user@)")
    host, port = _split_authority(authority)
    if not host:
        raise WebhookRefused("host", "the webhook URL has no host")
    if port and not (_DECIMAL.fullmatch(port) and 1 <= int(port) <= 65535):
        raise WebhookRefused("port", "the webhook URL's port is not a number from 1 to 65535")
    loopback = _check_host(host, allow_private=allow_private)
    if scheme == "http" and not loopback:
        raise WebhookRefused(
            "scheme",
            "webhook URLs must use https (http is allowed only to a loopback host)",
        )


def _split_authority(netloc: str) -> tuple[str, str]:
    """``(host, port)`` of an authority without credentials; an IPv6 host keeps its
    brackets. Split here, not by ``urllib``, whose checks differ between Python releases."""
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[: end + 1], netloc[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            raise WebhookRefused("host", "the webhook URL's host is not a valid IP address or name")
        return host, rest[1:]
    host, _, port = netloc.partition(":")
    return host, port


def _check_host(host: str, *, allow_private: bool) -> bool:
    """Refuse a host that may not be called; whether it is loopback for the ``http`` rule:
    a loopback literal or exactly ``localhost`` (``*.localhost`` may go to DNS)."""
    if host.startswith("["):
        literal = host[1:-1]
        if "%" in literal:
            raise WebhookRefused("address", "the webhook URL's host has an IPv6 zone id")
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(literal)
        except ValueError:
            raise WebhookRefused(
                "host", "the webhook URL's host is not a valid IPv6 address"
            ) from None
        return _check_address(address, allow_private=allow_private)
    name = host.lower()
    name = name.removesuffix(".") if name.endswith(".") and len(name) > 1 else name
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise WebhookRefused("host", "the webhook URL's host is not a valid IP address or name")
    if _DECIMAL.fullmatch(labels[-1]) or _HEX.fullmatch(labels[-1]):
        return _check_address(_ipv4(labels), allow_private=allow_private)
    return _check_name(name, labels, allow_private=allow_private)


def _ipv4(labels: list[str]) -> ipaddress.IPv4Address:
    """The address of a numeric host as ``inet_aton`` and the WHATWG URL parser read it:
    one to four parts, each decimal, octal (leading ``0``) or hex (``0x``); the last part
    fills the remaining bytes (``127.1`` is 127.0.0.1, ``2130706433`` too)."""
    invalid = WebhookRefused("host", "the webhook URL's host is not a valid IPv4 address")
    numbers = [_ipv4_number(label) for label in labels]
    if len(numbers) > 4 or None in numbers:
        raise invalid
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise invalid
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _ipv4_number(label: str) -> int | None:
    if _HEX.fullmatch(label):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8) if _OCTAL.fullmatch(label) else None
    return int(label) if _DECIMAL.fullmatch(label) else None


def _check_address(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, *, allow_private: bool
) -> bool:
    found = classify_address(address)
    if found is None:
        return False
    if found.local and allow_private:
        return address.is_loopback
    raise WebhookRefused("address", f"the webhook URL's host is {found.what}")


def _check_name(name: str, labels: list[str], *, allow_private: bool) -> bool:
    if name == "localhost" or labels[-1] == "localhost":
        if not allow_private:
            raise WebhookRefused("name", "the webhook URL's host is a loopback name (localhost)")
        return name == "localhost"
    for tld in _INTERNAL_TLDS:
        if name == tld or name.endswith("." + tld):
            raise WebhookRefused("name", f"the webhook URL's host is an internal name (.{tld})")
    if len(labels) == 1:
        raise WebhookRefused(
            "name", "the webhook URL's host is a single-label name; use a fully qualified name"
        )
    return False
