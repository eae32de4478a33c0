"""The audit middleware on its own: one line per request however the response ends, a
request id that a hostile header cannot forge, and fields a client chose kept short."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from a2a_gateway.gateway import audit

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from starlette.requests import Request


async def noted(request: Request) -> Response:
    audit.record(request.state).note(method="m\n" + "x" * 500, principal="p", code=-32001)
    return JSONResponse({"ok": True})


async def streamed(request: Request) -> Response:
    async def body() -> AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    return StreamingResponse(body())


async def broken(request: Request) -> Response:
    raise RuntimeError("boom")


APP = Starlette(
    routes=[
        Route("/noted", noted, methods=["POST"]),
        Route("/streamed", streamed),
        Route("/broken", broken),
        Route("/healthz", streamed),
    ],
    middleware=[Middleware(audit.AuditMiddleware)],
)


@pytest.fixture(autouse=True)
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The audit logger does not propagate; here it does, for ``caplog``."""
    caplog.set_level(logging.INFO, logger=audit.LOGGER)
    audit.log.propagate = True
    try:
        yield
    finally:
        audit.log.propagate = False


def logged(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == audit.LOGGER]


async def test_one_line_per_request_with_the_request_id_sent_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=APP, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.post("/noted")
        second = await client.get("/streamed")
        await client.get("/healthz")
        failed = await client.get("/broken")
    entries = logged(caplog)
    assert [e["requestId"] for e in entries] == [
        first.headers["x-request-id"],
        second.headers["x-request-id"],
        failed.headers.get("x-request-id", entries[-1]["requestId"]),
    ]
    noted_entry, streamed_entry, broken_entry = entries
    assert noted_entry["method"] == "m\n" + "x" * (audit.FIELD_LIMIT - 2)
    assert noted_entry["code"] == -32001 and noted_entry["status"] == 200
    assert streamed_entry["status"] == 200
    assert broken_entry["status"] == 500
    for record in caplog.records:  # a control character cannot start a line of its own
        assert "\n" not in record.getMessage()


async def test_the_lambda_request_id_is_used_only_when_it_is_plain(
    caplog: pytest.LogCaptureFixture,
) -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        good = {"x-amzn-lambda-context": json.dumps({"request_id": "abc-123"})}
        await client.post("/noted", headers=good)
        for hostile in (
            json.dumps({"request_id": "a\u0000b"}),
            json.dumps({"request_id": "r" * 500}),
            json.dumps({"request_id": 7}),
            "not json",
            json.dumps(["request_id"]),
        ):
            await client.post("/noted", headers={"x-amzn-lambda-context": hostile})
    ids = [e["requestId"] for e in logged(caplog)]
    assert ids[0] == "abc-123"
    assert all(len(i) == 36 for i in ids[1:])  # fresh UUIDs
