"""The push sender Lambda: signed POSTs to a real local receiver, moto for Secrets Manager.

The receiver is a plain-HTTP ``http.server`` on 127.0.0.1, so these tests switch on the
two escape hatches the production function refuses by default (``http`` URLs and
loopback addresses); separate tests prove that both are refused without them. The
signing secret is created in moto under the name ``template.yaml`` gives it.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from cfnlint.decode import decode_str
from moto import mock_aws

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "functions" / "push_sender" / "app.py"
REGION = "us-east-1"


def load_app() -> ModuleType:
    """The handler module as Lambda loads it: a file, not an installed package."""
    spec = importlib.util.spec_from_file_location("push_sender_app", APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


app = load_app()


class Receiver:
    """A webhook on 127.0.0.1 that records each request and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                if receiver.status in (301, 302):
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def verify(self, key: str) -> dict[str, Any]:
        """Check the last request's signature with ``key``; return its JSON body."""
        _, headers, body = self.requests[-1]
        timestamp = headers["X-A2A-Timestamp"]
        expected = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
        assert hmac.compare_digest(headers["X-A2A-Signature"], "sha256=" + expected.hexdigest())
        parsed: dict[str, Any] = json.loads(body)
        return parsed


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


@pytest.fixture
def signing_secret(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(ARN, value) of the signing secret, created in moto as the template declares it."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    template, errors = decode_str((ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert not errors and isinstance(template, dict)
    props = template["Resources"]["PushSigningSecret"]["Properties"]
    name = props["Name"]["Fn::Sub"].replace("${EnvironmentName}", "test")
    length = props["GenerateSecretString"]["PasswordLength"]
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        value = client.get_random_password(PasswordLength=length, ExcludePunctuation=True)[
            "RandomPassword"
        ]
        arn = client.create_secret(Name=name, SecretString=value)["ARN"]
        yield arn, value


def local_sender(secret_arn: str = "") -> Any:
    return app.Sender(
        app.SigningKey(secret_arn), timeout=5, allow_insecure=True, allow_private=True
    )


def event(url: str, token: str | None = "tok-123") -> dict[str, Any]:
    payload = {"jsonrpc": "2.0", "result": {"id": "task-1", "kind": "task"}}
    return {"url": url, "token": token, "taskId": "task-1", "payload": payload}


def test_posts_the_payload_signed_with_the_config_token(receiver: Receiver) -> None:
    result = local_sender().send(event(receiver.url))
    assert result == {"delivered": True, "taskId": "task-1", "host": "127.0.0.1", "status": 200}
    path, headers, _ = receiver.requests[-1]
    assert path == "/hook?x=1"
    assert headers["X-A2A-Notification-Token"] == "tok-123"
    assert headers["Content-Type"] == "application/json"
    assert receiver.verify("tok-123") == event(receiver.url)["payload"]


def test_without_a_token_signs_with_the_deployment_key(
    receiver: Receiver, signing_secret: tuple[str, str]
) -> None:
    arn, value = signing_secret
    sender = local_sender(arn)
    sender.send(event(receiver.url, token=None))
    sender.send(event(receiver.url, token=None))  # second call uses the cached key
    _, headers, _ = receiver.requests[-1]
    assert "X-A2A-Notification-Token" not in headers
    receiver.verify(value)


def test_handler_reads_its_flags_from_the_environment(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A2A_PUSH_ALLOW_INSECURE_URLS", "true")
    monkeypatch.setenv("A2A_PUSH_ALLOW_PRIVATE_ADDRESSES", "1")
    monkeypatch.setattr(app, "SENDER", app.Sender.from_env())
    assert app.handler(event(receiver.url), None)["delivered"] is True


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, "PushDeliveryFailed"),
        (503, "PushDeliveryFailed"),
        (429, "PushDeliveryFailed"),
        (408, "PushDeliveryFailed"),
        (404, "PushRejected"),
        (302, "PushRejected"),
    ],
)
def test_failures_say_whether_a_retry_can_help(receiver: Receiver, status: int, error: str) -> None:
    receiver.status = status
    with pytest.raises(getattr(app, error)):
        local_sender().send(event(receiver.url))
    assert len(receiver.requests) == 1, "redirects are not followed"


def test_unreachable_webhook_is_retryable() -> None:
    with pytest.raises(app.PushDeliveryFailed):
        local_sender().send(event("http://127.0.0.1:1/hook"))


def test_production_defaults_refuse_plain_http(receiver: Receiver) -> None:
    sender = app.Sender(app.SigningKey(""), allow_private=True)
    with pytest.raises(app.PushRejected, match="https"):
        sender.send(event(receiver.url))
    assert receiver.requests == []


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
    sender = app.Sender(app.SigningKey(""))
    with pytest.raises(app.PushRejected, match="non-public"):
        sender.send(event(url))


@pytest.mark.parametrize(
    "bad", [{}, {"url": 5}, {"url": "ftp://example.com/x"}, {"url": "https://u:p@example.com/"}]
)
def test_malformed_requests_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(app.PushRejected):
        app.Sender(app.SigningKey("")).send(bad)


def test_without_token_or_key_nothing_is_sent(receiver: Receiver) -> None:
    with pytest.raises(app.PushRejected, match="no token"):
        local_sender("").send(event(receiver.url, token=None))
    assert receiver.requests == []


def test_state_machine_knows_the_error_names() -> None:
    definition = (ROOT / "statemachine" / "push.asl.json").read_text(encoding="utf-8")
    assert '"PushRejected"' in definition
    assert issubclass(app.PushRejected, Exception) and issubclass(app.PushDeliveryFailed, Exception)
