"""The push sender: notifications posted to a real local receiver, checked as a receiver would.

The code is ``a2a_gateway.push.sender``, imported directly here; the Lambda is that file
copied beside ``functions/push_sender/app.py`` by the function's own Makefile target, and
the tests marked "Lambda package" build that package into a temporary directory and import
its ``app.py`` from there, as the Lambda runtime does (one of them in a Python that has
nothing but the standard library).

The receiver is a plain-HTTP ``http.server`` on 127.0.0.1, so these tests switch on
``allow_private`` (``A2A_PUSH_ALLOW_PRIVATE``, local development), which lets loopback
addresses through and ``http`` to them; separate tests prove that the production sender
refuses both, and that ``allow_private`` allows ``http`` to loopback only. Each notification is
signed with a real ES256 key set (``a2a_gateway.push.signing``), and the receiver verifies
what it got with ``verify_notification`` against the key set's JWKS.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import logging
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.push import sender as push_sender
from a2a_gateway.push.signing import KeySet, body_digest, notification_token, verify_notification

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "functions" / "push_sender"
SOURCE = ROOT / "src" / "a2a_gateway" / "push" / "sender.py"
ISSUER = "https://gateway.example"
KEYS = KeySet.generate()
# Spacing, key order, a float spelling, escapes and non-ASCII text that any
# re-serialisation (json.dumps with any options) would change.
BODY = '{"kind":"task",  "id": "task-1","z":1.0e2,"a":"caf\u00e9 \\u2713 \u2713","n":[ ]}\n'
SECRETS = ("SECRET-PATH", "SECRET-QUERY", "SECRET-TOKEN", "SECRET-AUTH")


def sign(url: str, body: str, jti: str = "task-1:config-1:0") -> str:
    return notification_token(
        KEYS.signer, issuer=ISSUER, audience=url, body=body.encode(), jti=jti, task_id="task-1"
    )


def event(url: str, body: str = BODY, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": url,
        "body": body,
        "contentType": "application/json",
        "token": "SECRET-TOKEN",
        "authorization": "Bearer SECRET-AUTH",
        "signature": sign(url, body),
        "taskId": "task-1",
        "configId": "config-1",
    }
    return {**base, **overrides}


class Receiver:
    """A webhook on 127.0.0.1 that records each request and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                if receiver.status in (301, 302):
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/SECRET-PATH?q=SECRET-QUERY"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def verify(self, index: int = -1) -> dict[str, Any]:
        """What a receiver does with a notification: verify its JWT against the JWKS
        (signature, issuer, audience, lifetime, the body's hash); return the claims."""
        _, headers, body = self.requests[index]
        return verify_notification(
            headers["X-A2A-Notification-JWT"],
            body,
            jwks=KEYS.jwks(),
            issuer=ISSUER,
            audience=self.url,
        )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()
        server.thread.join(5)


def local_sender(timeout: float = 5.0) -> push_sender.Sender:
    return push_sender.Sender(timeout=timeout, allow_private=True)


# ------------------------------------------------------------------ what is sent


def test_posts_the_exact_body_with_the_jwt_token_and_authorization(receiver: Receiver) -> None:
    result = local_sender().send(event(receiver.url))
    assert result == {
        "delivered": True,
        "taskId": "task-1",
        "configId": "config-1",
        "host": "127.0.0.1",
        "status": 200,
    }
    path, headers, body = receiver.requests[-1]
    assert path == "/SECRET-PATH?q=SECRET-QUERY"
    assert body == BODY.encode("utf-8"), "sent byte for byte, never re-serialised"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(BODY.encode("utf-8")))
    assert headers["X-A2A-Notification-Token"] == "SECRET-TOKEN"
    assert headers["Authorization"] == "Bearer SECRET-AUTH"
    claims = receiver.verify()
    assert claims["bodySha256"] == body_digest(body)
    assert claims["aud"] == receiver.url and claims["taskId"] == "task-1"
    assert "X-A2A-Signature" not in headers and "X-A2A-Timestamp" not in headers


def test_the_jwt_sent_is_the_one_given(receiver: Receiver) -> None:
    given = event(receiver.url)
    local_sender().send(given)
    assert receiver.requests[-1][1]["X-A2A-Notification-JWT"] == given["signature"]


def test_the_a2a_content_type_is_passed_through(receiver: Receiver) -> None:
    local_sender().send(event(receiver.url, contentType="application/a2a+json"))
    assert receiver.requests[-1][1]["Content-Type"] == "application/a2a+json"


def test_optional_fields_may_be_left_out(receiver: Receiver) -> None:
    minimal = {"url": receiver.url, "body": BODY, "signature": sign(receiver.url, BODY)}
    result = local_sender().send(minimal)
    assert result["delivered"] is True and result["taskId"] == "" and result["configId"] == ""
    local_sender().send(
        event(receiver.url, token="", authorization=None, contentType=None, taskId=None)
    )
    for _, headers, body in receiver.requests:
        assert "X-A2A-Notification-Token" not in headers
        assert "Authorization" not in headers
        assert headers["Content-Type"] == "application/json"
        assert body == BODY.encode()
    receiver.verify(0)
    receiver.verify(1)


def test_a_body_at_the_cap_is_delivered_whole(receiver: Receiver) -> None:
    prefix, suffix = '{"text":"', '"}'
    room = push_sender.MAX_BODY_BYTES - len(prefix) - len(suffix)
    body = prefix + "\u00e9" * (room // 2) + "x" * (room % 2) + suffix
    assert len(body.encode()) == push_sender.MAX_BODY_BYTES
    local_sender().send(event(receiver.url, body=body))
    assert receiver.requests[-1][2] == body.encode()
    receiver.verify()


def test_one_sender_serves_several_threads(receiver: Receiver) -> None:
    """The worker's delivery loop calls ``send`` from threads on one instance."""
    sender = local_sender()
    results: list[dict[str, Any]] = []
    bodies = [json.dumps({"n": n}) for n in range(8)]

    def deliver(body: str) -> None:
        results.append(sender.send(event(receiver.url, body=body)))

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8 and all(r["delivered"] for r in results)
    assert sorted(r[2] for r in receiver.requests) == sorted(b.encode() for b in bodies)
    for index in range(8):
        receiver.verify(index)


# ------------------------------------------------------------------ what the webhook says


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, "PushDeliveryFailed"),
        (503, "PushDeliveryFailed"),
        (429, "PushDeliveryFailed"),
        (408, "PushDeliveryFailed"),
        (404, "PushRejected"),
        (401, "PushRejected"),
        (302, "PushRejected"),
    ],
)
def test_failures_say_whether_a_retry_can_help(receiver: Receiver, status: int, error: str) -> None:
    receiver.status = status
    with pytest.raises(getattr(push_sender, error)) as raised:
        local_sender().send(event(receiver.url))
    assert len(receiver.requests) == 1, "redirects are not followed"
    assert not any(secret in str(raised.value) for secret in SECRETS)


def test_unreachable_webhook_is_retryable() -> None:
    url = "http://127.0.0.1:1/hook"
    with pytest.raises(push_sender.PushDeliveryFailed):
        local_sender().send(event(url))


def test_production_defaults_refuse_plain_http(receiver: Receiver) -> None:
    with pytest.raises(push_sender.PushRejected, match="https"):
        push_sender.Sender().send(event(receiver.url))
    assert receiver.requests == []


def test_allow_private_allows_http_to_loopback_only(receiver: Receiver) -> None:
    """``http`` only when every address of the host is loopback (private addresses pass
    the address check, then the ``http`` rule refuses them before anything is sent)."""
    sender = push_sender.Sender(timeout=1, allow_private=True)
    assert sender.send(event(receiver.url))["delivered"] is True
    target = push_sender.check_url("http://localhost:8080/hook", allow_private=True)
    assert ipaddress.ip_address(target.address).is_loopback
    for url in ("http://10.0.0.5/hook", "http://192.168.1.1/hook", "http://[fd00::1]/hook"):
        with pytest.raises(push_sender.PushRejected, match="only to a loopback host"):
            sender.send(event(url))
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_production_defaults_refuse_non_public_addresses(url: str) -> None:
    with pytest.raises(push_sender.PushRejected, match="non-public"):
        push_sender.Sender().send(event(url))


# ------------------------------------------------------------------ malformed input

OVERSIZE = '{"text":"' + "a" * push_sender.MAX_BODY_BYTES + '"}'
OVERSIZE_IN_BYTES = '{"text":"' + "\u00e9" * (push_sender.MAX_BODY_BYTES // 2) + '"}'


def malformed(url: str) -> list[tuple[str, Any]]:
    """(what is wrong, the event): each must be ``PushRejected`` with nothing sent."""
    good = event(url)
    other_body = sign(url, '{"kind":"task","id":"task-2"}')
    header, claims, signature = good["signature"].split(".")
    return [
        ("signature missing", {k: v for k, v in good.items() if k != "signature"}),
        ("signature null", {**good, "signature": None}),
        ("signature empty", {**good, "signature": ""}),
        ("signature not a string", {**good, "signature": ["x.y.z"]}),
        ("signature not a JWT", {**good, "signature": "SECRET-SIGNATURE"}),
        ("signature of two parts", {**good, "signature": f"{header}.{claims}"}),
        ("signature of four parts", {**good, "signature": good["signature"] + ".x"}),
        ("signature padded", {**good, "signature": good["signature"] + "="}),
        ("signature with a space", {**good, "signature": " " + good["signature"]}),
        ("signature with CRLF", {**good, "signature": good["signature"] + "\r\nX-Injected: 1"}),
        ("signature of another body", {**good, "signature": other_body}),
        ("claims not JSON", {**good, "signature": f"{header}.bm90LWpzb24.{signature}"}),
        ("claims not an object", {**good, "signature": f"{header}.WzFd.{signature}"}),
        ("claims not base64", {**good, "signature": f"{header}.a.{signature}"}),
        ("body missing", {k: v for k, v in good.items() if k != "body"}),
        ("old payload shape", {**{k: v for k, v in good.items() if k != "body"}, "payload": {}}),
        ("body null", {**good, "body": None}),
        ("body an object, not text", {**good, "body": json.loads(BODY)}),
        ("body bytes", {**good, "body": BODY.encode()}),
        ("body an array", event(url, body="[1, 2]")),
        ("body a string", event(url, body='"text"')),
        ("body null text", event(url, body="null")),
        ("body empty", event(url, body="")),
        ("body not JSON", event(url, body="{kind: task}")),
        ("body two objects", event(url, body="{}{}")),
        ("body with NaN", event(url, body='{"x": NaN}')),
        ("body with Infinity", event(url, body='{"x": -Infinity}')),
        ("body too deep", event(url, body='{"x":' + "[" * 100000 + "]" * 100000 + "}")),
        ("body over the cap", event(url, body=OVERSIZE)),
        ("body over the cap in bytes", event(url, body=OVERSIZE_IN_BYTES)),
        ("body with a lone surrogate", {**good, "body": '{"x": "\ud800"}'}),
        ("content type text/plain", {**good, "contentType": "text/plain"}),
        ("content type with charset", {**good, "contentType": "application/json; charset=utf-8"}),
        ("content type upper case", {**good, "contentType": "Application/JSON"}),
        ("content type not a string", {**good, "contentType": 5}),
        ("authorization with CRLF", {**good, "authorization": "Bearer SECRET-AUTH\r\nX: 1"}),
        ("authorization padded", {**good, "authorization": " Bearer SECRET-AUTH"}),
        ("authorization non-ASCII", {**good, "authorization": "Bearer SECRET-AUTH\u00e9"}),
        ("authorization not a string", {**good, "authorization": {"scheme": "Bearer"}}),
        ("token with CRLF", {**good, "token": "SECRET-TOKEN\r\nX: 1"}),
        ("token not a string", {**good, "token": 5}),
        ("configId not a string", {**good, "configId": 5}),
        ("taskId not a string", {**good, "taskId": ["task-1"]}),
        ("not an object", [good]),
        ("not an object but its text", json.dumps(good)),
    ]


@pytest.mark.parametrize("index", range(len(malformed("http://x/"))))
def test_malformed_input_is_rejected_before_anything_is_sent(
    receiver: Receiver, index: int
) -> None:
    what, bad = malformed(receiver.url)[index]
    with pytest.raises(push_sender.PushRejected) as raised:
        local_sender().send(bad)
    assert receiver.requests == [], what
    message = str(raised.value)
    secrets = [*SECRETS, "SECRET-SIGNATURE", "X-Injected"]
    signature = bad.get("signature") if isinstance(bad, dict) else None
    if isinstance(signature, str) and len(signature) > 20:
        secrets += [part for part in signature.split(".") if len(part) > 20]
    assert not any(secret in message for secret in secrets), message


def test_a_bad_signature_is_named_as_such(receiver: Receiver) -> None:
    good = event(receiver.url)
    with pytest.raises(push_sender.PushRejected, match="needs a 'signature'"):
        local_sender().send({k: v for k, v in good.items() if k != "signature"})
    other = sign(receiver.url, "{}")
    with pytest.raises(push_sender.PushRejected, match="bodySha256"):
        local_sender().send({**good, "signature": other})
    with pytest.raises(push_sender.PushRejected, match="not a JSON object"):
        local_sender().send(event(receiver.url, body="[]"))
    with pytest.raises(push_sender.PushRejected, match="over 262144 bytes"):
        local_sender().send(event(receiver.url, body=OVERSIZE))
    assert receiver.requests == []


# ------------------------------------------------------------------ the Lambda package


def build_lambda_package(directory: Path) -> Path:
    """The function's package, made by the Makefile target ``sam build`` runs."""
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-f",
            str(FUNCTION / "Makefile"),
            "build-PushSenderFunction",
            f"ARTIFACTS_DIR={directory}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def import_lambda_app(directory: Path, name: str) -> ModuleType:
    """``app.py`` imported as the Lambda runtime does: the package directory on
    ``sys.path`` (``/var/task``), so ``sender`` is the copy beside it."""
    root = logging.getLogger()
    level = root.level
    saved = sys.modules.pop("sender", None)
    sys.path.insert(0, str(directory))
    try:
        spec = importlib.util.spec_from_file_location(name, directory / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop("sender", None)
        if saved is not None:
            sys.modules["sender"] = saved
        root.setLevel(level)
    return module


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda_package(tmp_path_factory.mktemp("push-sender-package"))


@pytest.fixture(scope="module")
def app(package: Path) -> ModuleType:
    return import_lambda_app(package, "push_sender_lambda_app")


def test_the_package_is_app_and_an_exact_copy_of_the_sender(package: Path) -> None:
    assert sorted(p.name for p in package.iterdir()) == ["app.py", "sender.py"]
    assert (package / "sender.py").read_bytes() == SOURCE.read_bytes()
    assert (package / "app.py").read_bytes() == (FUNCTION / "app.py").read_bytes()


def test_lambda_app_uses_the_sender_beside_it(app: ModuleType, package: Path) -> None:
    assert app.Sender.__module__ == "sender"
    assert Path(app.Sender.send.__code__.co_filename) == package / "sender.py"
    assert app.PushRejected is not push_sender.PushRejected  # not the installed package
    assert isinstance(app.SENDER, app.Sender)


def test_lambda_handler_reads_its_flags_from_the_environment(
    app: ModuleType, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2A_PUSH_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("A2A_PUSH_TIMEOUT_SECONDS", "3")
    monkeypatch.setattr(app, "SENDER", app.Sender.from_env())
    assert app.SENDER.timeout == 3
    assert app.handler(event(receiver.url), None)["delivered"] is True
    assert receiver.requests[-1][2] == BODY.encode()
    receiver.verify()
    with pytest.raises(app.PushRejected):
        app.handler(event(receiver.url, signature="x.y"), None)
    receiver.status = 503
    with pytest.raises(app.PushDeliveryFailed):
        app.handler(event(receiver.url), None)


def test_lambda_package_runs_on_the_standard_library_alone(
    package: Path, receiver: Receiver
) -> None:
    """No site-packages (``-S``), no inherited environment: only the package and the
    standard library, like the Lambda runtime minus its boto3. The handler delivers."""
    script = (
        "import importlib.util, json, sys\n"
        "assert importlib.util.find_spec('a2a_gateway') is None, 'a2a_gateway is importable'\n"
        "import app\n"
        "assert app.Sender.__module__ == 'sender'\n"
        "print(json.dumps(app.handler(json.load(sys.stdin), None)))\n"
    )
    env = {
        "A2A_PUSH_ALLOW_PRIVATE": "true",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=package,
        env=env,
        input=json.dumps(event(receiver.url)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["delivered"] is True
    assert receiver.requests[-1][2] == BODY.encode()
    receiver.verify()


@pytest.mark.parametrize(("value", "allowed"), [(None, False), ("false", False), ("true", True)])
def test_from_env_reads_the_gateways_allow_private_setting(
    monkeypatch: pytest.MonkeyPatch, value: str | None, allowed: bool
) -> None:
    """One setting for the set-time and send-time checks: ``A2A_PUSH_ALLOW_PRIVATE``."""
    if value is None:
        monkeypatch.delenv("A2A_PUSH_ALLOW_PRIVATE", raising=False)
    else:
        monkeypatch.setenv("A2A_PUSH_ALLOW_PRIVATE", value)
    assert push_sender.Sender.from_env().allow_private is allowed


def test_state_machine_knows_the_error_names(app: ModuleType) -> None:
    definition = (ROOT / "statemachine" / "push.asl.json").read_text(encoding="utf-8")
    for module in (app, push_sender):
        for error in (module.PushRejected, module.PushDeliveryFailed):
            assert issubclass(error, Exception)
            assert f'"{error.__name__}"' in definition
