"""The push sender's send-time fences: addresses, one total deadline, response cap, input.

The sender is ``a2a_gateway.push.sender`` imported directly; the handler test imports the
Lambda package's ``app.py`` (built into a temporary directory by the function's Makefile,
``sender.py`` beside it) as the Lambda runtime does. Address checks run against a
monkeypatched resolver (``socket.getaddrinfo``) and a ``socket.create_connection`` that
fails the test if anything is dialled. The deadline, redirect and response-cap tests run
against real TCP servers on 127.0.0.1 that misbehave on purpose (trickle, stay silent,
flood); the sender switches on ``allow_private`` (loopback, and ``http`` to it) to reach
them. The address table is the one the gateway's set-time check uses too
(``push.webhook_url``): every row is reachable and both checks judge it alike.
Events are signed with a real ES256 key (``a2a_gateway.push.signing``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.push import sender as push_sender
from a2a_gateway.push.signing import KeySet, notification_token
from a2a_gateway.push.webhook_url import WebhookRefused, check_webhook_url
from tests.unit.test_push_sender import build_lambda_package, import_lambda_app

if TYPE_CHECKING:
    import ipaddress
    from collections.abc import Callable, Iterator
    from types import ModuleType

SECRETS = ("SECRET-PATH", "SECRET-QUERY", "SECRET-TOKEN", "SECRET-AUTH")
PUBLIC = "93.184.215.14"
KEYS = KeySet.generate()
BODY = '{"jsonrpc": "2.0", "result": {"id": "task-1", "kind": "task"}}'

pytestmark = pytest.mark.timeout(60)


def production_sender() -> push_sender.Sender:
    """Production flags: https only, public addresses only."""
    return push_sender.Sender(timeout=5)


def local_sender(timeout: float = 1.0) -> push_sender.Sender:
    return push_sender.Sender(timeout=timeout, allow_private=True)


def signed(url: object, body: object) -> str:
    """The dispatcher's JWT for ``body`` (for ``BODY`` when ``body`` is no text)."""
    text = body if isinstance(body, str) else BODY
    return notification_token(
        KEYS.signer,
        issuer="https://gateway.example",
        audience=url if isinstance(url, str) else "",
        body=text.encode("utf-8", "surrogatepass"),
        jti="task-1:config-1:0",
        task_id="task-1",
    )


def event(url: Any, **overrides: Any) -> dict[str, Any]:
    """A well-formed event for ``url``, signed over its body, with ``overrides``."""
    base: dict[str, Any] = {
        "url": url,
        "body": BODY,
        "contentType": "application/json",
        "token": "SECRET-TOKEN",
        "authorization": "Bearer SECRET-AUTH",
        "taskId": "task-1",
        "configId": "config-1",
    }
    base["signature"] = signed(url, overrides.get("body", BODY))
    return {**base, **overrides}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The Lambda package's ``app.py``, importing the ``sender.py`` beside it."""
    package = build_lambda_package(tmp_path_factory.mktemp("push-sender-package"))
    return import_lambda_app(package, "push_sender_lambda_app_ssrf")


# ------------------------------------------------------------------ addresses


class Network:
    """A fake resolver and a dialer that records instead of connecting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.addresses: list[str] = [PUBLIC]
        self.lookups: list[str] = []
        self.dialled: list[tuple[str, int]] = []
        monkeypatch.setattr(push_sender.socket, "getaddrinfo", self.getaddrinfo)
        monkeypatch.setattr(push_sender.socket, "create_connection", self.create_connection)

    def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        self.lookups.append(host)
        infos: list[Any] = []
        for address in self.addresses:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos

    def create_connection(self, address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        self.dialled.append(address)
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Network:
    return Network(monkeypatch)


REFUSED = [
    # NAT64, well-known and local-use prefixes, whatever they embed (8.8.8.8 included)
    "64:ff9b::808:808",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b:1::a00:1",
    "64:ff9b:1:ffff::808:808",
    # 6to4
    "2002:808:808::1",
    "2002:a9fe:a9fe::1",
    "2002:7f00:1::",
    # IPv4-compatible and IPv4-translated
    "::7f00:1",
    "::808:808",
    "::a9fe:a9fe",
    "::ffff:0:808:808",
    "::ffff:0:7f00:1",
    # Teredo and the rest of the IETF block 2001::/23 (benchmarking, ORCHID)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001::1",
    "2001:2::1",
    "2001:20::1",
    # IPv4 special ranges
    "100.64.0.1",  # CGNAT
    "100.127.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",  # instance metadata
    "169.254.0.1",
    "192.0.0.8",
    "192.0.0.170",
    "192.0.2.1",
    "198.51.100.1",
    "203.0.113.1",
    "192.88.99.1",
    "198.18.0.1",
    "198.19.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    # IPv6 special ranges
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fd00:ec2::254",  # instance metadata over IPv6
    "fec0::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "3fff::1",
    "100::1",
    "5f00::1",
    "4000::1",
    # IPv4-mapped, whatever they embed (as the set-time check: a public one too)
    "::ffff:8.8.8.8",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "::ffff:100.64.0.1",
    "::ffff:0.0.0.0",
]

ALLOWED = [
    PUBLIC,
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.1",
    "172.32.0.1",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "2001:200::1",
    "2a00:1450:4001:82a::200e",
]


@pytest.mark.parametrize("address", REFUSED)
def test_every_non_public_address_is_refused_before_dialling(
    network: Network, address: str
) -> None:
    network.addresses = [address]
    with pytest.raises(push_sender.PushRejected, match="non-public") as raised:
        production_sender().send(event("https://hooks.example.com/SECRET-PATH?SECRET-QUERY"))
    assert network.dialled == []
    message = str(raised.value)
    assert "hooks.example.com" in message
    assert not any(secret in message for secret in SECRETS), message


@pytest.mark.parametrize("address", REFUSED)
def test_one_non_public_address_among_public_ones_is_enough(network: Network, address: str) -> None:
    network.addresses = [PUBLIC, address, "2606:4700:4700::1111"]
    with pytest.raises(push_sender.PushRejected, match="non-public"):
        production_sender().send(event("https://hooks.example.com/hook"))
    assert network.dialled == []


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass_and_the_connection_is_pinned(network: Network, address: str) -> None:
    network.addresses = [address, PUBLIC]
    target = push_sender.check_url("https://hooks.example.com:8443/hook?x=1", allow_private=False)
    assert (target.host, target.port, target.path, target.address) == (
        "hooks.example.com",
        8443,
        "/hook?x=1",
        address,
    )
    with pytest.raises(push_sender.PushDeliveryFailed, match="ConnectionRefusedError") as raised:
        production_sender().send(event("https://hooks.example.com:8443/SECRET-PATH"))
    assert network.lookups == ["hooks.example.com", "hooks.example.com"]  # one per check
    assert network.dialled == [(address, 8443)], "dials the checked address, no new lookup"
    assert not any(secret in str(raised.value) for secret in SECRETS)


def test_resolver_errors_are_retryable_and_name_the_host_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(push_sender.socket, "getaddrinfo", fail)
    with pytest.raises(
        push_sender.PushDeliveryFailed, match=r"cannot resolve hooks\.example\.com"
    ) as e:
        production_sender().send(event("https://hooks.example.com/SECRET-PATH?SECRET-QUERY"))
    assert not any(secret in str(e.value) for secret in SECRETS), str(e.value)


def test_a_name_with_no_address_is_retryable(network: Network) -> None:
    network.addresses = []
    with pytest.raises(push_sender.PushDeliveryFailed, match="no address"):
        production_sender().send(event("https://hooks.example.com/"))
    assert network.dialled == []


# What A2A_PUSH_ALLOW_PRIVATE (local development) lets through at send time, and what it
# never does: the metadata addresses and every form that embeds or reaches IPv4.
LOCAL = ["127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "192.168.1.1", "::1"]
LOCAL += ["fc00::1", "fd12:3456::1"]
NEVER_LOCAL = [
    "169.254.169.254",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::7f00:1",
    "::ffff:0:7f00:1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::a00:1",
    "2002:7f00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "100.64.0.1",
    "0.0.0.0",
    "::",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "224.0.0.1",
]


@pytest.mark.parametrize("address", LOCAL)
def test_allow_private_lets_loopback_and_private_addresses_through(
    network: Network, address: str
) -> None:
    network.addresses = [address]
    with pytest.raises(push_sender.PushDeliveryFailed, match="ConnectionRefused"):
        local_sender().send(event("https://hooks.example.com/hook"))
    assert network.dialled == [(address, 443)]


@pytest.mark.parametrize("address", NEVER_LOCAL)
def test_allow_private_never_lets_metadata_or_embedded_forms_through(
    network: Network, address: str
) -> None:
    network.addresses = [address]
    with pytest.raises(push_sender.PushRejected, match="non-public"):
        local_sender().send(event("https://hooks.example.com/hook"))
    assert network.dialled == []


@pytest.mark.parametrize(
    ("addresses", "dialled"),
    [
        (["127.0.0.1"], True),
        (["::1", "127.0.0.1"], True),
        (["10.0.0.1"], False),
        (["127.0.0.1", "192.168.1.1"], False),
        (["fd12:3456::1"], False),
    ],
)
def test_allow_private_allows_http_only_when_every_address_is_loopback(
    network: Network, addresses: list[str], dialled: bool
) -> None:
    network.addresses = addresses
    url = "http://hooks.example.com:8080/hook"
    if dialled:
        with pytest.raises(push_sender.PushDeliveryFailed, match="ConnectionRefused"):
            local_sender().send(event(url))
        assert network.dialled == [(addresses[0], 8080)]
    else:
        with pytest.raises(push_sender.PushRejected, match="only to a loopback host"):
            local_sender().send(event(url))
        assert network.dialled == []


def uncovered(row: int) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The parts of row ``row``'s network that no earlier row holds (the first match
    decides, so a row with none is dead)."""
    networks = [network for network, _ in push_sender.NON_PUBLIC_NETWORKS]
    left: list[Any] = [networks[row]]
    for earlier in networks[:row]:
        rest: list[Any] = []
        for part in left:
            if part.version != earlier.version or not part.overlaps(earlier):
                rest.append(part)
            elif not part.subnet_of(earlier):
                rest.extend(part.address_exclude(earlier))
        left = rest
    return left


ROWS = range(len(push_sender.NON_PUBLIC_NETWORKS))


@pytest.mark.parametrize("row", ROWS)
def test_every_row_of_the_address_table_is_reachable(row: int) -> None:
    assert uncovered(row), f"{push_sender.NON_PUBLIC_NETWORKS[row][0]} is shadowed"


@pytest.mark.parametrize("row", ROWS)
def test_send_time_and_set_time_judge_every_row_alike(network: Network, row: int) -> None:
    """For an address of each row (one no earlier row holds): both checks refuse it by
    default, naming the row; with allow_private both pass it exactly when the row is local."""
    _, expected = push_sender.NON_PUBLIC_NETWORKS[row]
    address = min(uncovered(row)).network_address
    assert push_sender.classify_address(address) == expected
    literal = f"[{address}]" if address.version == 6 else str(address)
    url = f"https://{literal}/hook"
    network.addresses = [str(address)]
    with pytest.raises(push_sender.PushRejected, match="non-public") as raised:
        production_sender().send(event("https://hooks.example.com/hook"))
    assert expected.what in str(raised.value)
    with pytest.raises(WebhookRefused) as refused:
        check_webhook_url(url, allow_private=False)
    assert refused.value.rule == "address" and expected.what in str(refused.value)
    if expected.local:
        check_webhook_url(url, allow_private=True)
        with pytest.raises(push_sender.PushDeliveryFailed, match="ConnectionRefused"):
            local_sender().send(event("https://hooks.example.com/hook"))
    else:
        with pytest.raises(WebhookRefused):
            check_webhook_url(url, allow_private=True)
        with pytest.raises(push_sender.PushRejected, match="non-public"):
            local_sender().send(event("https://hooks.example.com/hook"))


@pytest.mark.parametrize(
    "host",
    [
        "[::7f00:1]",
        "[64:ff9b::a9fe:a9fe]",
        "[2002:a9fe:a9fe::]",
        "[::ffff:169.254.169.254]",
        "0x7f000001",
        "2130706433",
        "127.1",
        "0",
    ],
)
def test_numeric_spellings_are_refused_by_the_real_resolver(host: str) -> None:
    """No patching: the system resolver turns these into the addresses they spell."""
    with pytest.raises(push_sender.PushRejected, match="non-public"):
        production_sender().send(event(f"https://{host}/hook"))


# ------------------------------------------------------------------ misbehaving servers


class RawServer:
    """A TCP server on 127.0.0.1 that runs ``script(connection, stop)`` per connection."""

    def __init__(self, script: Callable[[socket.socket, threading.Event], None]) -> None:
        self.script = script
        self.stop = threading.Event()
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/SECRET-PATH?q=SECRET-QUERY"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the sender hung up: expected
            self.script(connection, self.stop)

    def close(self) -> None:
        self.stop.set()
        self.acceptor.join(5)
        self.listener.close()
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(script: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


TRICKLE_SECONDS = 0.3
TRICKLE_FOR = 12.0  # "forever" for a 1 s deadline; bounded so a regression cannot hang


def read_request(connection: socket.socket) -> bytes:
    """Whatever the sender wrote within half a second (the request is small)."""
    connection.settimeout(0.5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data


def trickler(prefix: bytes, unit: bytes) -> Callable[[socket.socket, threading.Event], None]:
    """Send ``prefix`` at once, then ``unit`` every 0.3 s until stopped."""

    def script(connection: socket.socket, stop: threading.Event) -> None:
        read_request(connection)
        connection.sendall(prefix)
        until = time.monotonic() + TRICKLE_FOR
        while not stop.wait(TRICKLE_SECONDS) and time.monotonic() < until:
            connection.sendall(unit)

    return script


def silent(connection: socket.socket, stop: threading.Event) -> None:
    read_request(connection)
    stop.wait(TRICKLE_FOR)


@pytest.mark.parametrize(
    ("scheme", "script"),
    [
        pytest.param("http", silent, id="accepts-and-never-answers"),
        pytest.param("http", trickler(b"", b"H"), id="status-line-one-byte-at-a-time"),
        pytest.param(
            "http", trickler(b"HTTP/1.1 200 OK\r\n", b"X"), id="headers-one-byte-at-a-time"
        ),
        pytest.param(
            "http",
            trickler(b"", b"HTTP/1.1 100 Continue\r\n\r\n"),
            id="endless-interim-responses",
        ),
        pytest.param("https", silent, id="tls-handshake-never-answered"),
        pytest.param("https", trickler(b"\x16\x03\x03\x40\x00", b"\x00"), id="tls-trickled"),
    ],
)
def test_one_total_deadline_bounds_a_slow_receiver(
    serve: Callable[..., RawServer],
    scheme: str,
    script: Callable[[socket.socket, threading.Event], None],
) -> None:
    server = serve(script)
    started = time.monotonic()
    with pytest.raises(push_sender.PushDeliveryFailed, match="deadline") as raised:
        local_sender(timeout=1.0).send(event(server.url(scheme)))
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"held for {elapsed:.1f} s past a 1 s deadline"
    message = str(raised.value)
    assert "127.0.0.1" in message
    assert not any(secret in message for secret in SECRETS), message


def test_a_trickled_body_is_not_waited_for(serve: Callable[..., RawServer]) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n"
    server = serve(trickler(head, b"x"))
    started = time.monotonic()
    result = local_sender(timeout=1.0).send(event(server.url()))
    assert result["delivered"] is True and result["status"] == 200
    assert time.monotonic() - started < 10


def flood(head: bytes, unit: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def script(connection: socket.socket, stop: threading.Event) -> None:
        read_request(connection)
        connection.sendall(head)
        until = time.monotonic() + TRICKLE_FOR
        while not stop.is_set() and time.monotonic() < until:
            connection.sendall(unit)

    return script


def test_an_endless_body_is_not_read(serve: Callable[..., RawServer]) -> None:
    server = serve(flood(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n", b"x" * 16384))
    assert local_sender(timeout=5.0).send(event(server.url()))["status"] == 200


def test_headers_over_64_kib_are_a_failed_delivery(serve: Callable[..., RawServer]) -> None:
    server = serve(flood(b"HTTP/1.1 200 OK\r\nX-Big: ", b"a" * 1024))
    with pytest.raises(push_sender.PushDeliveryFailed, match="more than 65536 bytes") as raised:
        local_sender(timeout=5.0).send(event(server.url()))
    assert not any(secret in str(raised.value) for secret in SECRETS)


def answer(response: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def script(connection: socket.socket, stop: threading.Event) -> None:
        read_request(connection)
        connection.sendall(response)

    return script


@pytest.mark.parametrize("status", [300, 301, 302, 303, 307, 308])
def test_redirects_are_rejected_and_not_followed(
    serve: Callable[..., RawServer], status: int
) -> None:
    elsewhere = serve(answer(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    location = f"http://127.0.0.1:{elsewhere.port}/stolen".encode()
    server = serve(
        answer(
            b"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % (status, location)
        )
    )
    with pytest.raises(push_sender.PushRejected, match="redirects are not followed"):
        local_sender().send(event(server.url()))
    assert server.connections == 1
    assert elsewhere.connections == 0


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204),
        (b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 202 Accepted\r\n\r\n", 202),
        (b"HTTP/1.0 200\r\n\r\n", 200),
        (b"HTTP/1.1 201 Created\n\n", 201),
    ],
)
def test_interim_responses_are_skipped(
    serve: Callable[..., RawServer], response: bytes, expected: int
) -> None:
    server = serve(answer(response))
    assert local_sender().send(event(server.url()))["status"] == expected


@pytest.mark.parametrize(
    "response",
    [b"", b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\n"],
)
def test_garbage_or_no_answer_is_retryable(
    serve: Callable[..., RawServer], response: bytes
) -> None:
    server = serve(answer(response))
    with pytest.raises(push_sender.PushDeliveryFailed) as raised:
        local_sender().send(event(server.url()))
    assert not any(secret in str(raised.value) for secret in SECRETS)


def test_the_request_is_well_formed(serve: Callable[..., RawServer]) -> None:
    seen: list[bytes] = []

    def script(connection: socket.socket, stop: threading.Event) -> None:
        seen.append(read_request(connection))
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    server = serve(script)
    local_sender().send(event(server.url()))
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /SECRET-PATH?q=SECRET-QUERY HTTP/1.1"
    headers = dict(line.split(b": ", 1) for line in lines[1:])
    assert headers[b"Host"] == f"127.0.0.1:{server.port}".encode()
    assert headers[b"Content-Length"] == str(len(body)).encode()
    assert headers[b"Connection"] == b"close"
    assert headers[b"X-A2A-Notification-Token"] == b"SECRET-TOKEN"
    assert headers[b"Authorization"] == b"Bearer SECRET-AUTH"
    assert headers[b"Content-Type"] == b"application/json"
    assert headers[b"X-A2A-Notification-JWT"].count(b".") == 2
    assert body == BODY.encode()


# ------------------------------------------------------------------ malformed input


class Unserialisable:
    pass


def cyclic() -> dict[str, Any]:
    payload: dict[str, Any] = {}
    payload["self"] = payload
    return payload


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in event(GOOD_URL).items() if k != name}


def claims_replaced(part: str) -> str:
    header, _, signature = signed(GOOD_URL, BODY).split(".")
    return f"{header}.{part}.{signature}"


GOOD_URL = "https://hooks.example.com/hook"
OVER_THE_CAP = '{"x": "' + "a" * push_sender.MAX_BODY_BYTES + '"}'

MALFORMED: list[Any] = [
    # the event itself
    None,
    [],
    "https://hooks.example.com/hook",
    5,
    {},
    # url
    {**event(GOOD_URL), "url": None},
    {**event(GOOD_URL), "url": 5},
    {**event(GOOD_URL), "url": ["https://hooks.example.com/"]},
    event(""),
    event("ftp://hooks.example.com/x"),
    event("javascript:alert(1)"),
    event("//hooks.example.com/x"),
    event("https:///x"),
    event("http://hooks.example.com/x"),  # plain http without the test flag
    event("https://u:p@hooks.example.com/"),
    event("https://@hooks.example.com/"),
    event("https://hooks.example.com@evil.example/"),
    event("https://hooks.example.com/a b"),
    event("https://hooks.example.com/\x00"),
    event("https://hooks.example.com/x\r\nX-Injected: 1"),
    event("https://hooks.exämple.com/"),
    event("https://hooks.example.com:0/"),
    event("https://hooks.example.com:65536/"),
    event("https://hooks.example.com:99999/"),
    event("https://hooks.example.com:-1/"),
    event("https://hooks.example.com:abc/"),
    event("https://[::1/"),
    event("https://[hooks.example.com]/"),
    event("https://a..b/"),
    event("https://.example.com/"),
    event("https://" + "a" * 64 + ".example.com/"),
    event("https://" + ".".join(["abcdefgh"] * 30) + "/"),
    event("https://hooks%2eexample.com/"),
    event("https://hooks.example.com\\@evil/"),
    # body: the exact text of a JSON object (the old "payload" object is refused)
    without("body"),
    {**without("body"), "payload": json.loads(BODY)},
    event(GOOD_URL, body=None),
    event(GOOD_URL, body="[1, 2]"),
    event(GOOD_URL, body="text"),
    event(GOOD_URL, body='"text"'),
    event(GOOD_URL, body=""),
    event(GOOD_URL, body=5),
    event(GOOD_URL, body=BODY.encode()),
    event(GOOD_URL, body='{"x": NaN}'),
    event(GOOD_URL, body='{"x": Infinity}'),
    event(GOOD_URL, body='{"x": -Infinity}'),
    event(GOOD_URL, body='{"x": 1} trailing'),
    event(GOOD_URL, body='{"x": ' + "9" * 5000 + "}"),  # beyond int's digit limit
    event(GOOD_URL, body='{"x": ' + "[" * 100000 + "]" * 100000 + "}"),
    event(GOOD_URL, body='{"x": "\ud800"}'),  # a lone surrogate, not UTF-8
    event(GOOD_URL, body=OVER_THE_CAP),
    event(GOOD_URL, body='{"x": "' + "\u00e9" * (push_sender.MAX_BODY_BYTES // 2) + '"}'),
    event(GOOD_URL, body={"x": {1, 2}}),
    event(GOOD_URL, body={"x": Unserialisable()}),
    event(GOOD_URL, body={(1, 2): "tuple key"}),
    event(GOOD_URL, body=cyclic()),
    # contentType
    event(GOOD_URL, contentType="text/plain"),
    event(GOOD_URL, contentType="application/json; charset=utf-8"),
    event(GOOD_URL, contentType="APPLICATION/JSON"),
    event(GOOD_URL, contentType="application/json\r\nX-Injected: 1"),
    event(GOOD_URL, contentType=""),
    event(GOOD_URL, contentType=5),
    event(GOOD_URL, contentType=["application/json"]),
    # signature: the dispatcher's JWT over this very body
    without("signature"),
    event(GOOD_URL, signature=None),
    event(GOOD_URL, signature=""),
    event(GOOD_URL, signature=5),
    event(GOOD_URL, signature=["a.b.c"]),
    event(GOOD_URL, signature="SECRET-TOKEN"),
    event(GOOD_URL, signature="a.b"),
    event(GOOD_URL, signature="a.b.c.d"),
    event(GOOD_URL, signature="a..c"),
    event(GOOD_URL, signature="a.b.c="),
    event(GOOD_URL, signature="a.b.c\r\nX-Injected: 1"),
    event(GOOD_URL, signature=signed(GOOD_URL, BODY) + " "),
    event(GOOD_URL, signature=signed(GOOD_URL, '{"other": "body"}')),
    event(GOOD_URL, signature=signed(GOOD_URL, BODY + " ")),  # one byte more
    event(GOOD_URL, signature=claims_replaced("bm90IGpzb24")),  # "not json"
    event(GOOD_URL, signature=claims_replaced("WzFd")),  # [1]
    event(GOOD_URL, signature=claims_replaced("e30")),  # {}: no bodySha256
    event(GOOD_URL, signature=claims_replaced("_w")),  # not UTF-8
    event(GOOD_URL, signature=claims_replaced("a")),  # not base64
    # token
    event(GOOD_URL, token=0),
    event(GOOD_URL, token=False),
    event(GOOD_URL, token=[]),
    event(GOOD_URL, token={}),
    event(GOOD_URL, token=5),
    event(GOOD_URL, token=["SECRET-TOKEN"]),
    event(GOOD_URL, token=" SECRET-TOKEN"),
    event(GOOD_URL, token="SECRET-TOKEN\r\nX-Injected: 1"),
    event(GOOD_URL, token="SECRET-TOKEN\x00"),
    event(GOOD_URL, token="SECRET-TÖKEN"),
    # authorization: sent as the Authorization header
    event(GOOD_URL, authorization=0),
    event(GOOD_URL, authorization=False),
    event(GOOD_URL, authorization={"schemes": ["Bearer"], "credentials": "SECRET-AUTH"}),
    event(GOOD_URL, authorization=["Bearer SECRET-AUTH"]),
    event(GOOD_URL, authorization=" Bearer SECRET-AUTH"),
    event(GOOD_URL, authorization="Bearer SECRET-AUTH "),
    event(GOOD_URL, authorization="Bearer SECRET-AUTH\r\nX-Injected: 1"),
    event(GOOD_URL, authorization="Bearer SECRET-AUTH\n"),
    event(GOOD_URL, authorization="Bearer SECRET-AUTH\x00"),
    event(GOOD_URL, authorization="Bearer SECRET-AUTHÖ"),
    # taskId
    event(GOOD_URL, taskId=5),
    event(GOOD_URL, taskId=["task-1"]),
    event(GOOD_URL, taskId={"id": "task-1"}),
    event(GOOD_URL, taskId=True),
    # configId
    event(GOOD_URL, configId=5),
    event(GOOD_URL, configId=["config-1"]),
    event(GOOD_URL, configId=False),
]


@pytest.mark.parametrize("bad", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_input_is_rejected_at_once(network: Network, bad: Any) -> None:
    """Never a generic exception (the state machine would retry it), never a connection."""
    with pytest.raises(push_sender.PushRejected) as raised:
        production_sender().send(bad)
    assert network.dialled == []
    assert network.lookups == [], "rejected before anything is resolved"
    message = str(raised.value)
    secrets = [*SECRETS, "X-Injected", "/hook"]
    signature = bad.get("signature") if isinstance(bad, dict) else None
    if isinstance(signature, str):
        secrets += [part for part in signature.split(".") if len(part) > 8]
    assert not any(secret in message for secret in secrets), message


def test_handler_rejects_malformed_input_too(network: Network, app: ModuleType) -> None:
    with pytest.raises(app.PushRejected):
        app.handler(["not", "an", "object"], None)
    with pytest.raises(app.PushRejected):
        app.handler(event(GOOD_URL, body="[]"), None)
    with pytest.raises(app.PushRejected):
        app.handler(without("signature"), None)
    assert network.dialled == []


def test_a_well_formed_event_gets_as_far_as_dialling(network: Network) -> None:
    """The counterpart of the table: the same fake network lets a good event through."""
    for good in (
        event(GOOD_URL),
        event(GOOD_URL, token=None, taskId=None),
        event(GOOD_URL, authorization=None, configId=None, contentType=None),
        event(GOOD_URL, authorization="", contentType="application/a2a+json"),
        {"url": GOOD_URL, "body": BODY, "signature": signed(GOOD_URL, BODY)},
        event(GOOD_URL, body='{"x": "' + "a" * (push_sender.MAX_BODY_BYTES - 9) + '"}'),
        event(GOOD_URL, body=' {"x": 1, "x": 2}\n'),  # whitespace and duplicate names: JSON
        event("https://hooks.example.com./hook", token=""),
        event("https://hooks_1.example.com:8443/hook#fragment"),
        event("https://[2606:4700:4700::1111]/hook"),
    ):
        network.dialled.clear()
        with pytest.raises(push_sender.PushDeliveryFailed, match="ConnectionRefused"):
            production_sender().send(good)
        assert len(network.dialled) == 1, good


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf")])
def test_the_deadline_must_be_a_positive_number(timeout: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        push_sender.Sender(timeout=timeout)
