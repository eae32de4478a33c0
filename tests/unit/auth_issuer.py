"""A real token issuer for the authenticator tests: keys made with ``cryptography``, tokens
signed by PyJWT, and a discovery document and JWKS served over HTTP on 127.0.0.1 by a
thread that counts the requests it answers. Tests change what it publishes while it runs.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

if TYPE_CHECKING:
    from collections.abc import Iterator

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
AUDIENCE = "a2a-gateway-tests"
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/jwks"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(kid: str, key: SigningKey, *, alg: str | None) -> dict[str, Any]:
    if isinstance(key, rsa.RSAPrivateKey):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    else:
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "use": "sig"})
    if alg:
        jwk["alg"] = alg
    return jwk


class Issuer:
    """An OpenID issuer at ``url``: ``publish`` what the JWKS holds, ``token`` to sign."""

    def __init__(self) -> None:
        self.keys: dict[str, SigningKey] = {}
        self.published: list[dict[str, Any]] = []
        self.status = 200
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with issuer._lock:
                    issuer.hits[self.path] += 1
                    status = issuer.status
                    documents = {
                        DISCOVERY: {"issuer": issuer.url, "jwks_uri": issuer.url + JWKS},
                        JWKS: {"keys": list(issuer.published)},
                    }
                body = json.dumps(documents.get(self.path, {})).encode()
                if self.path not in documents:
                    status = 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.jwks_url = self.url + JWKS
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def add(self, kid: str, key: SigningKey, *, alg: str | None = None) -> None:
        """Sign with ``key`` as ``kid`` and publish its public half (without ``alg`` unless
        given: PyJWT binds the type's default)."""
        self.keys[kid] = key
        with self._lock:
            self.published.append(public_jwk(kid, key, alg=alg))

    def publish_only(self, *kids: str) -> None:
        with self._lock:
            self.published = [
                public_jwk(kid, self.keys[kid], alg=None) for kid in kids if kid in self.keys
            ]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": AUDIENCE,
            "sub": "alice",
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, kid: str, alg: str = "RS256", *, key: Any = None, **claims: Any) -> str:
        """A token signed by ``kid``'s key (or ``key``); claim ``None`` removes a claim."""
        signing_key = key if key is not None else self.keys[kid]
        return jwt.encode(self.claims(**claims), signing_key, algorithm=alg, headers={"kid": kid})


@contextlib.contextmanager
def issuer_with_one_key(kid: str = "k1") -> Iterator[Issuer]:
    """A running issuer publishing one fresh RSA key as ``kid``; stopped on exit."""
    server = Issuer()
    server.add(kid, rsa_key())
    try:
        yield server
    finally:
        server.stop()
