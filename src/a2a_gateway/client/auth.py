"""The gateway's authentication modes as httpx ``Auth`` flows: a bearer token (JWT), an
API key, and SigV4 for IAM function URLs (botocore's signer, imported when used)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import httpx

from a2a_gateway.client.errors import MissingDependency

if TYPE_CHECKING:
    from collections.abc import Generator


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` (the gateway's ``A2A_AUTH=jwt``)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class ApiKeyAuth(httpx.Auth):
    """``X-API-Key: <key>`` (the gateway's ``A2A_AUTH=apikey``)."""

    def __init__(self, key: str, header: str = "X-API-Key") -> None:
        self.key = key
        self.header = header

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self.header] = self.key
        yield request


# Headers a proxy or httpx may change after signing: never signed.
_UNSIGNED = frozenset({"connection", "user-agent", "accept-encoding", "transfer-encoding"})


class SigV4Auth(httpx.Auth):
    """AWS SigV4 for a Lambda function URL with ``AuthType: AWS_IAM`` (service ``lambda``),
    signed by botocore's ``SigV4Auth``. ``credentials`` is a botocore ``Credentials``
    (default: botocore's chain: environment, profile, instance role); needs botocore
    (``pip install botocore``), imported on first use."""

    requires_request_body = True

    def __init__(self, region: str, *, service: str = "lambda", credentials: Any = None) -> None:
        self.region = region
        self.service = service
        self.credentials = credentials

    def _botocore(self, name: str) -> Any:
        try:
            return importlib.import_module(name)
        except ImportError as err:
            raise MissingDependency(
                "SigV4 authentication needs botocore: pip install botocore"
            ) from err

    def _frozen_credentials(self) -> Any:
        credentials = self.credentials
        if credentials is None:
            session = self._botocore("botocore.session").get_session()
            credentials = session.get_credentials()
            if credentials is None:
                raise MissingDependency("SigV4 authentication found no AWS credentials")
            self.credentials = credentials
        freeze = getattr(credentials, "get_frozen_credentials", None)
        return freeze() if freeze is not None else credentials

    def sign(self, request: httpx.Request) -> None:
        """Adds ``Authorization``, ``X-Amz-Date`` (and ``X-Amz-Security-Token``) to
        ``request``, signing its method, URL, body and headers."""
        signers = self._botocore("botocore.auth")
        aws_request_class = self._botocore("botocore.awsrequest").AWSRequest
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _UNSIGNED}
        aws_request = aws_request_class(
            method=request.method, url=str(request.url), data=request.content, headers=headers
        )
        signers.SigV4Auth(self._frozen_credentials(), self.service, self.region).add_auth(
            aws_request
        )
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request
