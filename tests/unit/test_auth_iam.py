"""IamAuthenticator on the request context the Lambda Web Adapter forwards."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from a2a_gateway.gateway.auth.base import AuthError
from a2a_gateway.gateway.auth.iam import IamAuthenticator

ARN = "arn:aws:iam::111122223333:user/example-user"


def function_url_context(iam: dict[str, Any] | None) -> dict[str, Any]:
    """A Lambda function URL ``requestContext`` (the shape of the AWS documentation's
    example payload), which the adapter puts in ``x-amzn-request-context`` as is."""
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "abcdefghijklmnop",
        "domainName": "abcdefghijklmnop.lambda-url.us-west-2.on.aws",
        "domainPrefix": "abcdefghijklmnop",
        "http": {
            "method": "POST",
            "path": "/agents/echo/",
            "protocol": "HTTP/1.1",
            "sourceIp": "123.123.123.123",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "12/Mar/2020:19:03:58 +0000",
        "timeEpoch": 1583348638390,
    }
    if iam is not None:
        context["authorizer"] = {"iam": iam}
    return context


def iam_caller(arn: str = ARN, **extra: Any) -> dict[str, Any]:
    return {
        "accessKey": "AKIAIOSFODNN7EXAMPLE",
        "accountId": "111122223333",
        "callerId": "AIDACKCEVSQ6C2EXAMPLE",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": arn,
        "userId": "AIDACKCEVSQ6C2EXAMPLE",
        **extra,
    }


def with_context(context: Any) -> dict[str, str]:
    return {"x-amzn-request-context": json.dumps(context)}


async def test_iam_caller_from_the_adapter_header() -> None:
    identity = await IamAuthenticator().authenticate(
        with_context(function_url_context(iam_caller()))
    )
    assert identity is not None
    assert identity.principal == "h-" + hashlib.sha256(ARN.encode()).hexdigest()[:40]
    assert (identity.subject, identity.scheme, identity.scopes) == (ARN, "iam", frozenset())


async def test_different_roles_are_different_principals() -> None:
    auth = IamAuthenticator()
    one = await auth.authenticate(with_context(function_url_context(iam_caller())))
    role = "arn:aws:sts::111122223333:assumed-role/Caller/session"
    two = await auth.authenticate(with_context(function_url_context(iam_caller(role))))
    assert one is not None and two is not None and one.principal != two.principal


async def test_identity_pool_callers_are_told_apart_by_identity_id() -> None:
    shared = (
        "arn:aws:sts::111122223333:assumed-role/Cognito_PoolAuth_Role/CognitoIdentityCredentials"
    )
    auth = IamAuthenticator()
    found = []
    for identity_id in ("us-east-1:1111", "us-east-1:2222"):
        cognito = {"amr": ["authenticated"], "identityId": identity_id, "identityPoolId": "p"}
        caller = iam_caller(shared, cognitoIdentity=cognito)
        identity = await auth.authenticate(with_context(function_url_context(caller)))
        assert identity is not None and identity.subject == f"cognito-identity:{identity_id}"
        found.append(identity.principal)
    assert len(set(found)) == 2 and all(p.startswith("h-") for p in found)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-amzn-request-context": "null"},  # the adapter's value for non-HTTP invocations
        with_context(function_url_context(None)),  # AuthType NONE
        with_context({"authorizer": {"jwt": {"claims": {"sub": "x"}, "scopes": None}}}),
    ],
)
async def test_no_iam_caller_is_not_this_schemes(headers: dict[str, str]) -> None:
    assert await IamAuthenticator().authenticate(headers) is None


@pytest.mark.parametrize(
    "value",
    [
        "{not json",
        json.dumps(["a"]),
        json.dumps(function_url_context(iam_caller(""))),
        json.dumps({"authorizer": {"iam": "AIDA"}}),
    ],
)
async def test_garbage_context_fails_closed(value: str) -> None:
    with pytest.raises(AuthError) as caught:
        await IamAuthenticator().authenticate({"X-Amzn-Request-Context": value})
    assert caught.value.reason == "malformed request context"


def test_challenge() -> None:
    assert IamAuthenticator().challenge() == "AWS4-HMAC-SHA256"
