"""A minimal, strict SSE reader for tests: it keeps comments and ids, which clients hide."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx


@dataclass
class Frame:
    """One SSE event (``data`` parsed as JSON) or one comment line."""

    id: str | None = None
    data: dict[str, Any] | None = None
    comment: str | None = None

    @property
    def result(self) -> dict[str, Any]:
        assert self.data is not None and "result" in self.data, self
        result: dict[str, Any] = self.data["result"]
        return result


async def frames(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> AsyncIterator[Frame]:
    """POST ``payload`` and yield frames as they arrive; asserts an SSE response."""
    async with client.stream("POST", url, json=payload, headers=headers or {}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        event: Frame = Frame()
        async for line in response.aiter_lines():
            if line.startswith(":"):
                yield Frame(comment=line[1:].strip())
            elif line.startswith("id:"):
                event.id = line[3:].strip()
            elif line.startswith("data:"):
                assert event.data is None, "one data line per event"
                event.data = json.loads(line[5:].strip())
            elif line == "" and (event.data is not None or event.id is not None):
                yield event
                event = Frame()


async def events(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> list[Frame]:
    """Every data event of a whole stream (comments dropped)."""
    return [f async for f in frames(client, url, payload, headers) if f.comment is None]


def rpc(method: str, params: dict[str, Any], request_id: Any = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": str(uuid.uuid4()) if request_id is None else request_id,
        "method": method,
        "params": params,
    }


def message(text: str, task_id: str | None = None, message_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "role": "user",
        "messageId": message_id or str(uuid.uuid4()),
        "parts": [{"kind": "text", "text": text}],
    }
    if task_id is not None:
        body["taskId"] = task_id
    return {"message": body}


def kinds(stream: list[Frame]) -> list[str]:
    """``kind`` of each result, with the state for status updates: 'status:working'."""
    out = []
    for frame in stream:
        result = frame.result
        if result["kind"] == "status-update":
            out.append(f"status:{result['status']['state']}")
        else:
            out.append(result["kind"])
    return out


def step_texts(results: list[dict[str, Any]]) -> list[str]:
    """The texts of the status messages among ``results`` (e.g. 'step 2/5'), in order."""
    return [
        r["status"]["message"]["parts"][0]["text"]
        for r in results
        if r["kind"] == "status-update" and "message" in r["status"]
    ]
