"""JwtAuthenticator against a real issuer: real RSA/EC keys, PyJWT-signed tokens, a JWKS
served over HTTP on 127.0.0.1 (tests/unit/auth_issuer.py), requests counted at the server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives import serialization

from a2a_gateway.gateway.auth.base import AuthError, AuthUnavailable
from a2a_gateway.gateway.auth.jwt import JwtAuthenticator
from tests.unit.auth_issuer import AUDIENCE, DISCOVERY, JWKS, Issuer, ec_key, rsa_key

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cryptography.hazmat.primitives.asymmetric import ec, rsa


@pytest.fixture(scope="module")
def rsa_a() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def rsa_b() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture(scope="module")
def ec_a() -> ec.EllipticCurvePrivateKey:
    return ec_key()


@pytest.fixture
def issuer(
    rsa_a: rsa.RSAPrivateKey, ec_a: ec.EllipticCurvePrivateKey, rsa_b: rsa.RSAPrivateKey
) -> Iterator[Issuer]:
    server = Issuer()
    server.add("rsa-a", rsa_a)
    server.add("ec-a", ec_a, alg="ES256")
    server.keys["rsa-b"] = rsa_b  # known to the issuer, not yet published
    try:
        yield server
    finally:
        server.stop()


def verifier(issuer: Issuer, **options: object) -> JwtAuthenticator:
    return JwtAuthenticator(issuer.url, AUDIENCE, **options)  # type: ignore[arg-type]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refused(auth: JwtAuthenticator, token: str) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await auth.authenticate(bearer(token))
    return caught.value


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_rs256_token_via_discovery(issuer: Issuer) -> None:
    auth = verifier(issuer)
    token = issuer.token("rsa-a", scope="tasks.read tasks.write", groups=["admins"])
    identity = await auth.authenticate(bearer(token))
    assert identity is not None
    assert (identity.principal, identity.subject, identity.scheme) == ("alice", "alice", "jwt")
    assert identity.scopes == frozenset({"tasks.read", "tasks.write", "admins"})
    assert issuer.hits[DISCOVERY] == 1 and issuer.hits[JWKS] == 1
    await auth.authenticate(bearer(issuer.token("rsa-a", sub="bob")))
    assert issuer.hits[DISCOVERY] == 1 and issuer.hits[JWKS] == 1  # cached


async def test_es256_token_via_jwks_url(issuer: Issuer) -> None:
    auth = verifier(issuer, jwks_url=issuer.jwks_url)
    token = issuer.token("ec-a", "ES256", sub="carol", scp=["agents"], **{"cognito:groups": ["g"]})
    identity = await auth.authenticate(bearer(token))
    assert identity is not None and identity.principal == "carol"
    assert identity.scopes == frozenset({"agents", "g"})
    assert issuer.hits[DISCOVERY] == 0 and issuer.hits[JWKS] == 1


async def test_expired_token_is_refused_beyond_the_leeway(issuer: Issuer) -> None:
    auth = verifier(issuer, leeway_seconds=60)
    now = int(time.time())
    assert (await refused(auth, issuer.token("rsa-a", exp=now - 120))).reason == "token expired"
    within = await auth.authenticate(bearer(issuer.token("rsa-a", exp=now - 30)))
    assert within is not None and within.principal == "alice"


async def test_token_without_exp_is_refused(issuer: Issuer) -> None:
    error = await refused(verifier(issuer), issuer.token("rsa-a", exp=None))
    assert error.reason == "token has no exp claim"


async def test_token_not_yet_valid_is_refused(issuer: Issuer) -> None:
    token = issuer.token("rsa-a", nbf=int(time.time()) + 600)
    assert (await refused(verifier(issuer), token)).reason == "token not yet valid"


async def test_wrong_audience_is_refused(issuer: Issuer) -> None:
    error = await refused(verifier(issuer), issuer.token("rsa-a", aud="another-service"))
    assert error.reason == "token not meant for this audience"


async def test_any_of_several_audiences_is_accepted(issuer: Issuer) -> None:
    auth = JwtAuthenticator(issuer.url, ["service-a", AUDIENCE])
    for aud in ("service-a", AUDIENCE, ["unrelated", "service-a"]):
        assert await auth.authenticate(bearer(issuer.token("rsa-a", aud=aud))) is not None
    error = await refused(auth, issuer.token("rsa-a", aud="service-b"))
    assert error.reason == "token not meant for this audience"
    assert (await refused(auth, issuer.token("rsa-a", aud=None))).reason == "token has no aud claim"


# Amazon Cognito access tokens (client credentials): no aud; the app client is in client_id,
# and for a machine caller sub is the client id too.
CLIENT = "4uur8k042u3ehga49tid3lpaqj"
OTHER_CLIENT = "7c9ka0ad9vc9hrrlm5bfhq3fg"


def cognito_access_token(issuer: Issuer, **claims: object) -> str:
    defaults: dict[str, object] = {
        "aud": None,
        "sub": CLIENT,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "a2a/invoke",
    }
    return issuer.token("rsa-a", **{**defaults, **claims})


def by_client_id(issuer: Issuer, *clients: str) -> JwtAuthenticator:
    return JwtAuthenticator(issuer.url, list(clients or (CLIENT,)), audience_claim="client_id")


async def test_client_id_audience_claim_accepts_the_client(issuer: Issuer) -> None:
    identity = await by_client_id(issuer).authenticate(bearer(cognito_access_token(issuer)))
    assert identity is not None
    assert (identity.principal, identity.subject, identity.scheme) == (CLIENT, CLIENT, "jwt")
    assert identity.scopes == frozenset({"a2a/invoke"})
    # Any of several clients; an aud the token may carry besides is not what is checked.
    auth = by_client_id(issuer, OTHER_CLIENT, CLIENT)
    token = cognito_access_token(issuer, sub=OTHER_CLIENT, client_id=OTHER_CLIENT, aud="x")
    assert (await auth.authenticate(bearer(token))) is not None


async def test_client_id_audience_claim_refuses_another_client(issuer: Issuer) -> None:
    token = cognito_access_token(issuer, sub=OTHER_CLIENT, client_id=OTHER_CLIENT)
    error = await refused(by_client_id(issuer), token)
    assert error.reason == "token not meant for this audience"
    # A matching aud does not stand in for client_id.
    token = cognito_access_token(issuer, client_id=OTHER_CLIENT, aud=CLIENT)
    assert (
        await refused(by_client_id(issuer), token)
    ).reason == "token not meant for this audience"
    token = cognito_access_token(issuer, client_id=[CLIENT])
    assert (
        await refused(by_client_id(issuer), token)
    ).reason == "token not meant for this audience"


async def test_client_id_audience_claim_refuses_tokens_without_it(issuer: Issuer) -> None:
    error = await refused(by_client_id(issuer), cognito_access_token(issuer, client_id=None))
    assert error.reason == "token has no client_id claim"
    # A Cognito ID token names the client in aud and has no client_id: refused.
    id_token = cognito_access_token(issuer, client_id=None, aud=CLIENT, token_use="id")
    assert (await refused(by_client_id(issuer), id_token)).reason == "token has no client_id claim"


async def test_client_id_audience_claim_keeps_every_other_check(issuer: Issuer) -> None:
    now = int(time.time())
    auth = by_client_id(issuer)
    cases = {
        "token expired": cognito_access_token(issuer, exp=now - 600),
        "token has no exp claim": cognito_access_token(issuer, exp=None),
        "token from another issuer": cognito_access_token(issuer, iss="https://evil.example"),
        "token signature does not verify": cognito_access_token(issuer)[:-4] + "AAAA",
    }
    for reason, token in cases.items():
        assert (await refused(auth, token)).reason == reason
    with pytest.raises(ValueError, match="audience claim"):
        JwtAuthenticator(issuer.url, CLIENT, audience_claim="")
    with pytest.raises(ValueError, match="audience"):
        JwtAuthenticator(issuer.url, [])


async def test_wrong_issuer_is_refused(issuer: Issuer) -> None:
    error = await refused(verifier(issuer), issuer.token("rsa-a", iss="https://evil.example"))
    assert error.reason == "token from another issuer"


async def test_alg_none_is_refused_without_fetching_keys(issuer: Issuer) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": "rsa-a"}).encode())
    payload = b64(json.dumps(issuer.claims()).encode())
    error = await refused(verifier(issuer), f"{header}.{payload}.")
    assert error.reason == "token algorithm not accepted"
    assert sum(issuer.hits.values()) == 0


async def test_hs256_signed_with_the_public_key_is_refused(
    issuer: Issuer, rsa_a: rsa.RSAPrivateKey
) -> None:
    pem = rsa_a.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-a"}).encode())
    payload = b64(json.dumps(issuer.claims()).encode())
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    auth = verifier(issuer, algorithms=["RS256", "ES256"])
    error = await refused(auth, f"{header}.{payload}.{b64(signature)}")
    assert error.reason == "token algorithm not accepted"


@pytest.mark.parametrize("algorithm", ["none", "HS256", "hs512", "RS1", ""])
def test_unsafe_or_unknown_algorithms_are_refused_at_construction(
    issuer: Issuer, algorithm: str
) -> None:
    with pytest.raises(ValueError, match=r"refused|unknown|no JWT algorithm"):
        verifier(issuer, algorithms=[algorithm] if algorithm else [])


async def test_token_naming_a_key_of_another_type_is_refused(issuer: Issuer) -> None:
    token = issuer.token("ec-a", "RS256", key=issuer.keys["rsa-a"])  # RSA-signed, kid of EC key
    assert (await refused(verifier(issuer), token)).reason == "invalid token"


async def test_signature_by_an_unpublished_key_is_refused(issuer: Issuer) -> None:
    token = issuer.token("rsa-a", key=issuer.keys["rsa-b"])
    error = await refused(verifier(issuer), token)
    assert error.reason == "token signature does not verify"


async def test_unknown_kid_refetches_once_so_rotation_works(issuer: Issuer) -> None:
    auth = verifier(issuer, jwks_url=issuer.jwks_url, refetch_interval_seconds=0.3)
    assert await auth.authenticate(bearer(issuer.token("rsa-a"))) is not None
    assert issuer.hits[JWKS] == 1
    issuer.publish_only("rsa-b")  # rotation: the old key is withdrawn
    new = issuer.token("rsa-b", sub="rotated")
    # Right after a fetch an unknown kid is not worth another one: refused, not fetched.
    assert (await refused(auth, new)).reason == "unknown signing key"
    assert issuer.hits[JWKS] == 1
    await asyncio.sleep(0.35)
    identity = await auth.authenticate(bearer(new))
    assert identity is not None and identity.principal == "rotated"
    assert issuer.hits[JWKS] == 2
    # The withdrawn key is gone from the cache too.
    assert (await refused(auth, issuer.token("rsa-a"))).reason == "unknown signing key"
    assert issuer.hits[JWKS] == 2


async def test_a_flood_of_unknown_kids_fetches_at_most_once_per_interval(issuer: Issuer) -> None:
    auth = verifier(issuer, jwks_url=issuer.jwks_url, refetch_interval_seconds=0.3)
    assert await auth.authenticate(bearer(issuer.token("rsa-a"))) is not None
    await asyncio.sleep(0.35)  # a refetch is allowed again

    async def attempt(i: int) -> str:
        token = issuer.token(f"made-up-{i}", key=issuer.keys["rsa-a"])
        try:
            await auth.authenticate(bearer(token))
        except AuthError as err:
            return err.reason
        return "accepted"

    reasons = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert reasons == ["unknown signing key"] * 50
    assert issuer.hits[JWKS] == 2  # the first fetch and exactly one refetch
    reasons = await asyncio.gather(*(attempt(i) for i in range(50, 100)))
    assert set(reasons) == {"unknown signing key"} and issuer.hits[JWKS] == 2
    # Known keys are still served from the cache meanwhile.
    assert await auth.authenticate(bearer(issuer.token("rsa-a"))) is not None
    assert issuer.hits[JWKS] == 2


async def test_keys_are_refreshed_after_cache_seconds(issuer: Issuer) -> None:
    auth = verifier(
        issuer, jwks_url=issuer.jwks_url, cache_seconds=0.2, refetch_interval_seconds=0.1
    )
    assert await auth.authenticate(bearer(issuer.token("rsa-a"))) is not None
    issuer.publish_only("ec-a")  # rsa-a revoked at the issuer
    await asyncio.sleep(0.25)
    assert (await refused(auth, issuer.token("rsa-a"))).reason == "unknown signing key"
    assert issuer.hits[JWKS] == 2


async def test_missing_sub_is_refused(issuer: Issuer) -> None:
    error = await refused(verifier(issuer), issuer.token("rsa-a", sub=None))
    assert error.reason == "token has no sub claim"


async def test_sub_that_is_not_a_key_id_becomes_a_hashed_principal(issuer: Issuer) -> None:
    sub = "auth0|5f7c8ec7c33c6c004bbafe82"
    identity = await verifier(issuer).authenticate(bearer(issuer.token("rsa-a", sub=sub)))
    assert identity is not None and identity.subject == sub
    assert identity.principal == "h-" + hashlib.sha256(sub.encode()).hexdigest()[:40]


async def test_principal_claim_is_configurable(issuer: Issuer) -> None:
    auth = verifier(issuer, principal_claim="email")
    token = issuer.token("rsa-a", email="dana@example.com")
    identity = await auth.authenticate(bearer(token))
    assert identity is not None and identity.subject == "dana@example.com"
    assert identity.principal.startswith("h-") and len(identity.principal) == 42
    error = await refused(auth, issuer.token("rsa-a"))
    assert error.reason == "token has no email claim"


async def test_jwks_down_is_auth_unavailable(rsa_a: rsa.RSAPrivateKey) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    auth = JwtAuthenticator(
        "https://issuer.example", AUDIENCE, jwks_url=f"http://127.0.0.1:{port}/jwks"
    )
    issuer = Issuer()
    try:
        issuer.add("k", rsa_a)
        token = issuer.token("k")
    finally:
        issuer.stop()
    with pytest.raises(AuthUnavailable) as caught:
        await auth.authenticate(bearer(token))
    assert caught.value.reason == "cannot verify tokens right now"


async def test_failing_jwks_is_retried_after_a_backoff_then_recovers(issuer: Issuer) -> None:
    issuer.status = 500
    auth = verifier(issuer, jwks_url=issuer.jwks_url, refetch_interval_seconds=0.3)
    token = issuer.token("rsa-a")
    for _ in range(5):
        with pytest.raises(AuthUnavailable):
            await auth.authenticate(bearer(token))
    assert issuer.hits[JWKS] == 1  # failures are rate-limited too
    issuer.status = 200
    await asyncio.sleep(0.35)
    identity = await auth.authenticate(bearer(token))
    assert identity is not None and identity.principal == "alice"
    assert issuer.hits[JWKS] == 2


async def test_discovery_naming_another_issuer_is_unavailable(issuer: Issuer) -> None:
    auth = JwtAuthenticator(issuer.url + "/other", AUDIENCE)
    issuer.hits.clear()
    with pytest.raises(AuthUnavailable):
        await auth.authenticate(bearer(issuer.token("rsa-a", iss=issuer.url + "/other")))
    assert issuer.hits[JWKS] == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic YTpi"}],
)
async def test_requests_without_a_jwt_are_not_this_schemes(
    issuer: Issuer, headers: dict[str, str]
) -> None:
    assert await verifier(issuer).authenticate(headers) is None
    assert sum(issuer.hits.values()) == 0


async def test_malformed_jwt_is_refused(issuer: Issuer) -> None:
    assert (await refused(verifier(issuer), "abc.def.ghi")).reason == "malformed token"


def test_challenge_follows_rfc_6750(issuer: Issuer) -> None:
    auth = verifier(issuer)
    assert auth.challenge() == 'Bearer realm="a2a-gateway"'
    assert auth.challenge(AuthError("token expired")) == (
        'Bearer realm="a2a-gateway", error="invalid_token", error_description="token expired"'
    )
