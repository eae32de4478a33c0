"""principal_id, and Authentication/build: precedence, anonymous callers, challenges,
configuration errors. Real authenticators: a key file, a local issuer, adapter headers."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import pytest

from a2a_gateway.gateway.auth.apikey import ApiKeys, hash_key
from a2a_gateway.gateway.auth.base import (
    ANONYMOUS_IDENTITY,
    AuthError,
    Identity,
    principal_id,
)
from a2a_gateway.gateway.auth.chain import Authentication, build
from a2a_gateway.gateway.auth.iam import IamAuthenticator
from a2a_gateway.gateway.auth.jwt import JwtAuthenticator
from tests.unit.auth_issuer import AUDIENCE, Issuer, issuer_with_one_key

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

KEY = "alice-key-" + "a" * 30
IAM = {
    "x-amzn-request-context": json.dumps(
        {"authorizer": {"iam": {"userArn": "arn:aws:iam::1:user/u", "accountId": "1"}}}
    )
}


def h(name: str) -> str:
    return "h-" + hashlib.sha256(name.encode()).hexdigest()[:40]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice", "alice"),
        ("svc.worker-1_a", "svc.worker-1_a"),
        ("a" * 128, "a" * 128),
        ("a" * 129, h("a" * 129)),
        ("auth0|123", h("auth0|123")),
        ("bob@example.com", h("bob@example.com")),
        ("-leading-dash", h("-leading-dash")),
        ("", h("")),
        # Spelling another subject's hashed principal does not reach its tasks.
        (h("auth0|123"), h(h("auth0|123"))),
    ],
)
def test_principal_id(name: str, expected: str) -> None:
    assert principal_id(name) == expected


def test_anonymous_identity() -> None:
    expected = Identity("anonymous", "anonymous", "none", frozenset())
    assert expected == ANONYMOUS_IDENTITY


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    entry = {"sha256": hash_key(KEY), "principal": "key-alice", "name": "ci"}
    path.write_text(json.dumps({"keys": [entry]}))
    return path


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    with issuer_with_one_key() as server:
        yield server


async def test_first_identity_in_the_listed_order_wins(key_file: Path, issuer: Issuer) -> None:
    token = issuer.token("k1", sub="jwt-alice")
    headers = {"Authorization": f"Bearer {token}", "X-API-Key": KEY, **IAM}
    common = {
        "api_keys_file": key_file,
        "jwt_issuer": issuer.url,
        "jwt_audience": AUDIENCE,
        "jwks_url": issuer.jwks_url,
    }
    first = await build(["apikey", "jwt", "iam"], **common).identify(headers)  # type: ignore[arg-type]
    assert (first.principal, first.scheme) == ("key-alice", "apikey")
    second = await build(["jwt", "apikey"], **common).identify(headers)  # type: ignore[arg-type]
    assert (second.principal, second.scheme) == ("jwt-alice", "jwt")
    third = await build(["iam", "jwt"], **common).identify(headers)  # type: ignore[arg-type]
    assert (third.principal, third.scheme) == (h("arn:aws:iam::1:user/u"), "iam")


async def test_each_credential_goes_to_its_scheme(key_file: Path, issuer: Issuer) -> None:
    auth = build(
        ["apikey", "jwt"],
        api_keys_file=key_file,
        jwt_issuer=issuer.url,
        jwt_audience=AUDIENCE,
        jwks_url=issuer.jwks_url,
    )
    by_key = await auth.identify({"Authorization": f"Bearer {KEY}"})
    by_jwt = await auth.identify({"Authorization": f"Bearer {issuer.token('k1')}"})
    assert (by_key.scheme, by_key.principal) == ("apikey", "key-alice")
    assert (by_jwt.scheme, by_jwt.principal) == ("jwt", "alice")


async def test_an_invalid_credential_is_refused_even_if_a_later_scheme_matches(
    key_file: Path,
) -> None:
    auth = Authentication([ApiKeys(key_file), IamAuthenticator()], allow_anonymous=True)
    with pytest.raises(AuthError) as caught:
        await auth.identify({"X-API-Key": "wrong", **IAM})
    assert (caught.value.reason, caught.value.scheme) == ("invalid API key", "apikey")


async def test_anonymous_allowed_or_refused(key_file: Path) -> None:
    open_ = Authentication([ApiKeys(key_file)], allow_anonymous=True)
    assert await open_.identify({}) is ANONYMOUS_IDENTITY
    closed = Authentication([ApiKeys(key_file)], allow_anonymous=False)
    with pytest.raises(AuthError) as caught:
        await closed.identify({})
    assert caught.value.reason == "authentication required" and caught.value.scheme is None
    identity = await closed.identify({"X-API-Key": KEY})
    assert identity.principal == "key-alice"


def test_challenges(key_file: Path) -> None:
    jwt_auth = JwtAuthenticator("https://issuer.example", AUDIENCE)
    auth = Authentication([ApiKeys(key_file), jwt_auth, IamAuthenticator()], allow_anonymous=False)
    assert auth.challenges() == ['Bearer realm="a2a-gateway"', "AWS4-HMAC-SHA256"]
    refused = AuthError("token expired", scheme="jwt")
    assert auth.challenges(refused) == [
        'Bearer realm="a2a-gateway"',
        'Bearer realm="a2a-gateway", error="invalid_token", error_description="token expired"',
        "AWS4-HMAC-SHA256",
    ]
    assert Authentication([IamAuthenticator()], allow_anonymous=True).challenges() == [
        "AWS4-HMAC-SHA256"
    ]


def test_build_none_only_admits_everyone_as_anonymous() -> None:
    auth = build(["none"])
    assert auth.authenticators == () and auth.allow_anonymous
    assert auth.challenges() == []


def test_build_normalises_modes(key_file: Path) -> None:
    auth = build([" APIKEY", "iam", "apikey", ""], api_keys_file=str(key_file))
    assert [a.scheme for a in auth.authenticators] == ["apikey", "iam"]
    assert not auth.allow_anonymous


@pytest.mark.parametrize(
    ("modes", "settings", "message"),
    [
        (["kerberos"], {}, "unknown mode kerberos"),
        ([], {}, "names no mode"),
        (["apikey"], {}, "neither A2A_API_KEYS_FILE nor A2A_API_KEYS_SECRET is set"),
        (
            ["apikey"],
            {"api_keys_file": "keys.json", "api_keys_secret": "a2a/keys"},
            "A2A_API_KEYS_FILE and A2A_API_KEYS_SECRET are both set",
        ),
        (["jwt"], {"jwt_issuer": "https://i.example", "jwt_audience": " , "}, "A2A_JWT_AUDIENCE"),
        (
            ["jwt"],
            {"jwt_issuer": "https://i", "jwt_audience": "a", "jwt_audience_claim": ""},
            "A2A_JWT_AUDIENCE_CLAIM must not be empty",
        ),
        (["jwt"], {"jwt_audience": "a"}, "A2A_JWT_ISSUER is not set"),
        (["jwt"], {"jwt_issuer": "https://i.example"}, "A2A_JWT_AUDIENCE is not set"),
        (
            ["jwt"],
            {"jwt_issuer": "https://i", "jwt_audience": "a", "jwt_algorithms": ["RS256", "HS256"]},
            "A2A_JWT_ALGORITHMS: JWT algorithm HS256 is refused",
        ),
        (
            ["jwt"],
            {"jwt_issuer": "https://i", "jwt_audience": "a", "jwt_principal_claim": ""},
            "A2A_JWT_PRINCIPAL_CLAIM",
        ),
    ],
)
def test_build_refuses_bad_configurations(
    modes: list[str], settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(modes, **settings)  # type: ignore[arg-type]


async def test_build_passes_audiences_and_the_audience_claim(issuer: Issuer) -> None:
    """A2A_JWT_AUDIENCE may list several audiences; A2A_JWT_AUDIENCE_CLAIM=client_id checks
    the claim Cognito access tokens carry instead of aud."""
    auth = build(
        ["jwt"],
        jwt_issuer=issuer.url,
        jwt_audience=" client-a , client-b,",
        jwt_audience_claim="client_id",
        jwks_url=issuer.jwks_url,
    )
    (jwt_auth,) = auth.authenticators
    assert isinstance(jwt_auth, JwtAuthenticator)
    assert (jwt_auth.audiences, jwt_auth.audience_claim) == (("client-a", "client-b"), "client_id")
    token = issuer.token("k1", sub="client-b", aud=None, client_id="client-b", token_use="access")
    identity = await auth.identify({"Authorization": f"Bearer {token}"})
    assert (identity.principal, identity.scheme) == ("client-b", "jwt")
    by_aud = build(["jwt"], jwt_issuer=issuer.url, jwt_audience=f"other,{AUDIENCE}")
    assert by_aud.authenticators[0].audiences == ("other", AUDIENCE)  # type: ignore[attr-defined]


def test_build_refuses_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        build(["apikey"], api_keys_file=tmp_path / "absent.json")


def test_nobody_could_call() -> None:
    with pytest.raises(ValueError, match="nobody could call"):
        Authentication([], allow_anonymous=False)


async def test_with_none_beside_other_modes_a_credential_no_scheme_takes_is_refused() -> None:
    """``A2A_AUTH=none,jwt``: no credential is anonymous, but a bearer token that is not a
    JWT (or an API key nobody checks) is refused, not downgraded to anonymous."""
    auth = Authentication([IamAuthenticator()], allow_anonymous=True)
    assert (await auth.identify({})).principal == "anonymous"
    for headers in ({"Authorization": "Bearer not-a-jwt"}, {"X-API-Key": "k"}):
        with pytest.raises(AuthError, match="not accepted"):
            await auth.identify(headers)
    only_none = Authentication([], allow_anonymous=True)  # nothing to check a credential
    assert (await only_none.identify({"Authorization": "Bearer x"})).principal == "anonymous"
