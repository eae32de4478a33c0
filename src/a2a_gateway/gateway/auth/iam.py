"""AWS IAM (SigV4) callers of a Lambda function URL, as the Lambda Web Adapter reports them.

With ``AuthType: AWS_IAM`` the function URL verifies the SigV4 signature before the
function runs and puts the caller in the request context,
``requestContext.authorizer.iam`` (``accessKey``, ``accountId``, ``callerId``,
``userArn``, ``userId``, and ``cognitoIdentity`` for Amazon Cognito identity-pool
credentials). The Web Adapter forwards that ``requestContext`` object as JSON in the
``x-amzn-request-context`` header, overwriting any copy the client sent.

Trust this ONLY when the server runs behind the adapter and the function URL uses
``AWS_IAM``: anywhere else, any client can write the header and claim any ARN. The app
enables the ``iam`` scheme only when configured to.

Answers: no header, the literal ``null`` (the adapter's value for non-HTTP invocations),
or a context without an IAM authorizer (``AuthType: NONE``, another authorizer) → ``None``.
A header that is not JSON, or an IAM authorizer without a caller ARN → ``AuthError``
("malformed request context"): the adapter never writes such a thing, so it fails closed
rather than falling through to anonymous. The principal is ``principal_id(userArn)``
(always an ``h-`` hash, since ARNs contain ``:``), the subject the ARN itself. Callers with
identity-pool credentials all share one role-session ARN, so for them the principal is
derived from ``cognito-identity:<identityId>`` instead, one principal per identity. Nothing
is cached; nothing from the context except the ARN or identity id is logged.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from a2a_gateway.gateway.auth.base import AuthError, Identity, header, principal_id

if TYPE_CHECKING:
    from collections.abc import Mapping

CONTEXT_HEADER = "x-amzn-request-context"
MALFORMED = "malformed request context"


class IamAuthenticator:
    """The ``iam`` authenticator: the caller the function URL verified."""

    scheme = "iam"

    def challenge(self, error: AuthError | None = None) -> str:
        return "AWS4-HMAC-SHA256"

    async def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        raw = header(headers, CONTEXT_HEADER)
        if raw is None:
            return None
        try:
            context: Any = json.loads(raw)
        except ValueError:
            raise AuthError(MALFORMED) from None
        if context is None:
            return None
        if not isinstance(context, dict):
            raise AuthError(MALFORMED)
        authorizer = context.get("authorizer")
        iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
        if iam is None:
            return None
        if not isinstance(iam, dict):
            raise AuthError(MALFORMED)
        cognito = iam.get("cognitoIdentity")
        identity_id = cognito.get("identityId") if isinstance(cognito, dict) else None
        arn = iam.get("userArn")
        if isinstance(identity_id, str) and identity_id:
            subject = f"cognito-identity:{identity_id}"
        elif isinstance(arn, str) and arn:
            subject = arn
        else:
            raise AuthError(MALFORMED)
        return Identity(principal_id(subject), subject, self.scheme)
