"""Push notification signing: keys, key sets, the notification JWT, and the receiver's
checks (``verify_notification``), each refusal for its own reason."""

from __future__ import annotations

import json
import time

import jwt
import pytest

from a2a_gateway.push.signing import (
    MAX_KEYS,
    TOKEN_SECONDS,
    KeySet,
    NotificationRejected,
    SigningKey,
    SigningKeyError,
    body_digest,
    notification_token,
    verify_notification,
)

ISSUER = "https://gateway.example/"
HOOK = "https://receiver.example/hook?id=1"
BODY = b'{"kind":"task","id":"t1","status":{"state":"completed"}}'


def token_for(keys: KeySet, body: bytes = BODY, **overrides: object) -> str:
    options: dict[str, object] = {
        "issuer": ISSUER,
        "audience": HOOK,
        "body": body,
        "jti": "t1:cfg:7",
        "task_id": "t1",
    }
    options.update(overrides)
    return notification_token(keys.signer, **options)  # type: ignore[arg-type]


def test_a_notification_verifies_with_the_published_keys_only() -> None:
    keys = KeySet.generate()
    token = token_for(keys)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": keys.signer.kid, "typ": "JWT"}
    claims = verify_notification(token, BODY, jwks=keys.jwks(), issuer=ISSUER, audience=HOOK)
    assert claims["jti"] == "t1:cfg:7" and claims["taskId"] == "t1"
    assert claims["exp"] - claims["iat"] == TOKEN_SECONDS
    assert claims["bodySha256"] == body_digest(BODY)
    published = keys.jwks()["keys"]
    assert [set(k) for k in published] == [{"kty", "crv", "x", "y", "kid", "alg", "use"}]
    assert keys.signer.private_jwk["d"] not in json.dumps(keys.jwks())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"kind":"task","id":"t1","status":{"state":"failed"}}'}, "body"),
        ({"audience": "https://other.example/hook"}, "InvalidAudienceError"),
        ({"issuer": "https://impostor.example/"}, "InvalidIssuerError"),
        ({"now": time.time() - TOKEN_SECONDS - 120}, "ExpiredSignatureError"),
        ({"keys": KeySet.generate()}, "unknown key id"),
    ],
)
def test_each_check_refuses_for_its_reason(change: dict[str, object], reason: str) -> None:
    keys = KeySet.generate()
    received = BODY
    token_options: dict[str, object] = {}
    verify_options = {"issuer": ISSUER, "audience": HOOK}
    if "body" in change:
        received = change["body"]  # type: ignore[assignment]
    if "audience" in change:
        verify_options["audience"] = change["audience"]  # type: ignore[assignment]
    if "issuer" in change:
        verify_options["issuer"] = change["issuer"]  # type: ignore[assignment]
    if "now" in change:
        token_options["now"] = change["now"]
    signed_by = change.get("keys", keys)
    token = token_for(signed_by, **token_options)  # type: ignore[arg-type]
    with pytest.raises(NotificationRejected, match=reason):
        verify_notification(token, received, jwks=keys.jwks(), **verify_options)


def test_a_token_signed_with_another_curve_or_alg_is_refused() -> None:
    keys = KeySet.generate()
    forged = jwt.encode(
        {"iss": ISSUER, "aud": HOOK, "iat": 1, "exp": 2**40, "jti": "x", "bodySha256": "y"},
        "a-shared-secret-long-enough-for-hs256!!",
        algorithm="HS256",
        headers={"kid": keys.signer.kid},
    )
    with pytest.raises(NotificationRejected):
        verify_notification(forged, BODY, jwks=keys.jwks(), issuer=ISSUER, audience=HOOK)


def test_rotation_publishes_old_and_new_and_signs_with_the_new() -> None:
    keys = KeySet.generate()
    old_token = token_for(keys)
    rotated = keys.rotated()
    assert rotated.signer.kid != keys.signer.kid
    assert [k["kid"] for k in rotated.jwks()["keys"]] == [rotated.signer.kid, keys.signer.kid]
    for token in (old_token, token_for(rotated)):
        verify_notification(token, BODY, jwks=rotated.jwks(), issuer=ISSUER, audience=HOOK)
    many = keys
    for _ in range(MAX_KEYS + 2):
        many = many.rotated()
    assert len(many.keys) == MAX_KEYS


def test_the_stored_form_round_trips_and_bad_sets_are_refused() -> None:
    keys = KeySet.generate().rotated()
    again = KeySet.from_json(keys.to_json())
    assert [k.kid for k in again.keys] == [k.kid for k in keys.keys]
    public_only = {k: v for k, v in keys.signer.private_jwk.items() if k != "d"}
    for bad in (
        "not json",
        "[]",
        '{"keys": []}',
        json.dumps({"keys": [public_only]}),
        json.dumps({"keys": [{**keys.signer.private_jwk, "crv": "P-384"}]}),
        json.dumps({"keys": [{"kty": "RSA", "n": "x", "e": "AQAB", "d": "y"}]}),
        json.dumps({"keys": [{**keys.signer.private_jwk, "x": "AAAA"}]}),
    ):
        with pytest.raises(SigningKeyError) as refused:
            KeySet.from_json(bad)
        assert keys.signer.private_jwk["d"] not in str(refused.value)


def test_kid_is_the_thumbprint_of_the_public_key() -> None:
    key = SigningKey.generate()
    again = SigningKey.from_jwk(dict(key.private_jwk))
    assert again.kid == key.kid and len(key.kid) == 43  # base64url of a SHA-256
