"""``SigV4Auth`` against the gateway as an IAM function URL runs it.

No AWS here, so the function URL is played by a small proxy in front of a real gateway
(``A2A_AUTH=iam``): like the function URL it recomputes the SigV4 signature of each
request as it arrived (method, path, query, the signed headers, the body) from the
caller's secret key, refuses a request whose signature does not match (HTTP 403) or is
more than five minutes old, and otherwise forwards it with the caller in
``x-amzn-request-context``, as the Lambda Web Adapter does. So what is checked is the
request on the wire, not the client's own idea of it: the message, every resubscribe with
``Last-Event-ID`` after the gateway ends a stream, and the unary calls.
"""

from __future__ import annotations

import asyncio
import datetime
import hmac
import json
import re
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from botocore.auth import SigV4Auth as BotocoreSigV4
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from a2a_gateway.client import A2AClient, A2AError, A2AHTTPError, Event, Resumed, RetryPolicy
from a2a_gateway.client.auth import SigV4Auth
from a2a_gateway_dev.devstack import free_port

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from starlette.requests import Request

REGION = "us-east-1"
CALLERS = {  # access key: (secret key, the caller's ARN)
    "AKIDALICE": ("alice-secret", "arn:aws:iam::111122223333:user/alice"),
    "AKIDBOB": ("bob-secret", "arn:aws:iam::111122223333:user/bob"),
}
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)
POLICY = RetryPolicy(base=0.05, cap=0.5, max_attempts=20, deadline=60)


def verified_caller(request: Request, body: bytes) -> str | None:
    """The caller's ARN if the request carries a valid SigV4 signature for ``lambda`` in
    REGION, recomputed from what arrived; ``None`` otherwise."""
    match = AUTHORIZATION.fullmatch(request.headers.get("authorization", ""))
    if match is None or match["key"] not in CALLERS:
        return None
    secret, arn = CALLERS[match["key"]]
    stamp = request.headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None
    if abs((datetime.datetime.now(datetime.UTC) - when).total_seconds()) > 300:
        return None
    if match["scope"] != f"{stamp[:8]}/{REGION}/lambda/aws4_request":
        return None
    signed = match["signed"].split(";")
    headers = {name: request.headers.get(name, "") for name in signed}
    arrived = AWSRequest(method=request.method, url=str(request.url), data=body, headers=headers)
    arrived.context["timestamp"] = stamp
    signer = BotocoreSigV4(Credentials(match["key"], secret), "lambda", REGION)
    expected = signer.signature(
        signer.string_to_sign(arrived, signer.canonical_request(arrived)), arrived
    )
    return arn if hmac.compare_digest(expected, match["signature"]) else None


def function_url(upstream: httpx.AsyncClient) -> Starlette:
    """The stand-in for an ``AWS_IAM`` function URL with the Web Adapter behind it,
    forwarding through ``upstream`` (a client of the gateway)."""

    async def forward(request: Request) -> Response:
        body = await request.body()
        arn = verified_caller(request, body)
        if arn is None:
            return JSONResponse({"Message": "Forbidden"}, status_code=403)
        context = {"authorizer": {"iam": {"userArn": arn, "accessKey": "hidden"}}}
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        headers["x-amzn-request-context"] = json.dumps(context)
        sent = upstream.build_request(
            request.method,
            request.url.path,
            params=request.query_params,
            content=body,
            headers=headers,
        )
        answer = await upstream.send(sent, stream=True)
        kept = {k: v for k, v in answer.headers.items() if k in ("content-type", "retry-after")}
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=kept,
            background=BackgroundTask(answer.aclose),
        )

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])


@pytest.fixture
async def iam_url(start_gateway: Callable[..., str]) -> AsyncIterator[str]:
    gateway = start_gateway(A2A_AUTH="iam", A2A_MAX_STREAM_SECONDS="1")
    port = free_port()
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as upstream:
        app = function_url(upstream)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            assert not serving.done(), "the function URL stand-in did not start"
            await asyncio.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving


def signed_as(key: str, secret: str | None = None) -> SigV4Auth:
    return SigV4Auth(REGION, credentials=Credentials(key, secret or CALLERS[key][0]))


async def test_signed_calls_pass_the_function_url_and_name_the_caller(iam_url: str) -> None:
    url = iam_url + "/agents/progress"
    async with A2AClient(url, auth=signed_as("AKIDALICE"), retry=POLICY) as alice:
        items: list[Any] = [i async for i in alice.stream("steps=6 interval=0.3")]
        events = [i for i in items if isinstance(i, Event)]
        assert events[-1].state == "completed"
        # Each resubscribe (Last-Event-ID, a new signature) passed the check too.
        assert [i for i in items if isinstance(i, Resumed)]
        task_id = events[0].task_id
        assert task_id is not None
        assert (await alice.get(task_id))["status"]["state"] == "completed"
        sent = await alice.send("hello", blocking=True)
        assert sent["status"]["state"] == "completed"  # type: ignore[typeddict-item]
    async with A2AClient(url, auth=signed_as("AKIDBOB"), retry=POLICY) as bob:
        with pytest.raises(A2AError) as other:
            await bob.get(task_id)  # another caller's task: not found
        assert other.value.code == -32001


async def test_a_bad_signature_is_refused(iam_url: str) -> None:
    async with A2AClient(iam_url + "/", auth=signed_as("AKIDALICE", "wrong"), retry=POLICY) as c:
        with pytest.raises(A2AHTTPError) as refused:
            await c.get("anything")
        assert refused.value.status_code == 403
