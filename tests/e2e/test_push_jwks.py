"""``/.well-known/jwks.json`` on the real stack: served while push notifications are on,
the same keys from every gateway of a deployment, and a notification token signed with
the stored key verifies with PyJWT's own JWKS client, as a receiver would do it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import jwt

from a2a_gateway.push import keystore
from a2a_gateway.push.signing import body_digest, notification_token

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx
    from redis.asyncio import Redis

HOOK = "https://receiver.example/hook"


async def test_the_keys_are_published_while_push_is_on(
    http: httpx.AsyncClient,
    gateway_url: str,
    push_gateway_url: str,
    start_gateway: Callable[..., str],
) -> None:
    assert (await http.get(gateway_url + "/.well-known/jwks.json")).status_code == 404
    other = start_gateway(A2A_PUSH_NOTIFICATIONS="true")
    documents = [
        (await http.get(url + "/.well-known/jwks.json")).json() for url in (push_gateway_url, other)
    ]
    assert documents[0] == documents[1]  # one deployment, one key set
    (key,) = documents[0]["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES256" and "d" not in key


async def test_a_signed_notification_verifies_with_a_standard_jwks_client(
    push_gateway_url: str, redis: Redis
) -> None:
    keys = await keystore.load_or_create(redis, "a2a")
    body = b'{"kind":"task","id":"t-1","status":{"state":"completed"}}'
    token = notification_token(
        keys.signer, issuer=push_gateway_url + "/", audience=HOOK, body=body, jti="j", task_id="t-1"
    )
    # What a receiver writes: the JWKS URL from the issuer, PyJWT's client, the checks.
    issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
    client = jwt.PyJWKClient(issuer + ".well-known/jwks.json")
    signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
    claims = jwt.decode(
        token,
        signing_key,
        algorithms=["ES256"],
        audience=HOOK,
        issuer=issuer,
        options={"require": ["iat", "exp", "jti"]},
    )
    assert claims["bodySha256"] == body_digest(body) and claims["taskId"] == "t-1"
