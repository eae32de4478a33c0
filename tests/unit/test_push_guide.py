"""The receiver in ``docs/push.md`` is real code: it is run here, as written, against a
JWKS served over HTTP, on notifications made by ``push.signing``."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from a2a_gateway.push.signing import KeySet, notification_token

if TYPE_CHECKING:
    from collections.abc import Iterator

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "push.md"
HOOK = "https://me.example/hook"


@pytest.fixture
def gateway() -> Iterator[tuple[str, KeySet]]:
    keys = KeySet.generate()
    document = json.dumps(keys.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path == "/.well-known/jwks.json" else 404
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(document if status == 200 else b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", keys
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def guide_receiver(gateway_url: str) -> dict[str, Any]:
    """The guide's Python block, run with its two constants pointed here."""
    (code,) = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    code = code.replace('"https://gateway.example/"', repr(gateway_url))
    code = code.replace('"https://me.example/hook"', repr(HOOK))
    namespace: dict[str, Any] = {}
    exec(compile(code, str(GUIDE), "exec"), namespace)
    return namespace


def test_the_guides_receiver_verifies_refuses_and_drops_repeats(
    gateway: tuple[str, KeySet],
) -> None:
    url, keys = gateway
    verify = guide_receiver(url)["verify"]
    body = b'{"kind":"task","id":"t1","status":{"state":"completed"}}'
    token = notification_token(
        keys.signer, issuer=url, audience=HOOK, body=body, jti="t1:c:4", task_id="t1"
    )
    headers = {"x-a2a-notification-jwt": token}
    assert verify(headers, body)["taskId"] == "t1"
    with pytest.raises(ValueError, match="repeat"):
        verify(headers, body)
    other = notification_token(
        keys.signer, issuer=url, audience=HOOK, body=body, jti="t1:c:5", task_id="t1"
    )
    with pytest.raises(ValueError, match="body"):
        verify({"x-a2a-notification-jwt": other}, body.replace(b"completed", b"failed"))
    elsewhere = notification_token(
        keys.signer, issuer=url, audience="https://other.example/", body=body, jti="x", task_id="t1"
    )
    with pytest.raises(jwt.InvalidAudienceError):
        verify({"x-a2a-notification-jwt": elsewhere}, body)
