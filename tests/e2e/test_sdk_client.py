"""Interop with a client we did not write: the official ``a2a-sdk`` (0.2.x) against the gateway.

Every response is parsed by the SDK's own pydantic models, so a field the SDK cannot read
fails here. The 0.2.x client has no resubscribe call; that test uses the SDK's request and
response models over the same SSE transport the client uses (httpx-sse).
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    JSONRPCErrorResponse,
    Message,
    MessageSendConfiguration,
    MessageSendParams,
    Part,
    Role,
    SendMessageRequest,
    SendMessageSuccessResponse,
    SendStreamingMessageRequest,
    SendStreamingMessageResponse,
    SendStreamingMessageSuccessResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskQueryParams,
    TaskResubscriptionRequest,
    TaskState,
    TaskStatusUpdateEvent,
    TextPart,
)
from httpx_sse import aconnect_sse

from tests.e2e.conftest import sdk_client

if TYPE_CHECKING:
    import httpx
    from a2a.client import A2AClient


def user_message(text: str, task_id: str | None = None) -> Message:
    return Message(
        role=Role.user,
        message_id=str(uuid.uuid4()),
        parts=[Part(root=TextPart(text=text))],
        task_id=task_id,
    )


def send_request(text: str, task_id: str | None = None, **config: Any) -> SendMessageRequest:
    configuration = MessageSendConfiguration(accepted_output_modes=["text/plain"], **config)
    return SendMessageRequest(
        id=str(uuid.uuid4()),
        params=MessageSendParams(message=user_message(text, task_id), configuration=configuration),
    )


def stream_request(text: str, task_id: str | None = None) -> SendStreamingMessageRequest:
    return SendStreamingMessageRequest(
        id=str(uuid.uuid4()), params=MessageSendParams(message=user_message(text, task_id))
    )


async def results(client: A2AClient, request: SendStreamingMessageRequest) -> list[Any]:
    out = []
    async for response in client.send_message_streaming(request):
        assert isinstance(response.root, SendStreamingMessageSuccessResponse), response
        assert response.root.id == request.id
        out.append(response.root.result)
    return out


async def test_card_resolves_to_a_client_for_the_default_agent(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    client = await sdk_client(http, gateway_url)
    assert client.url == gateway_url + "/"
    assert client.agent_card is not None and client.agent_card.capabilities.streaming


async def test_send_message_returns_completed_task(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    client = await sdk_client(http, gateway_url)
    response = await client.send_message(send_request("interop works"))
    assert isinstance(response.root, SendMessageSuccessResponse)
    task = response.root.result
    assert isinstance(task, Task)
    assert task.status.state == TaskState.completed
    assert task.artifacts is not None
    text = "".join(p.root.text for p in task.artifacts[0].parts if isinstance(p.root, TextPart))
    assert text == "interop works"


async def test_streaming_yields_spec_events(http: httpx.AsyncClient, gateway_url: str) -> None:
    client = await sdk_client(http, gateway_url)
    events = await results(client, stream_request("one two three"))
    assert isinstance(events[0], Task)
    assert [type(e) for e in events[1:]] == [
        TaskStatusUpdateEvent,
        TaskArtifactUpdateEvent,
        TaskArtifactUpdateEvent,
        TaskArtifactUpdateEvent,
        TaskStatusUpdateEvent,
    ]
    assert events[-1].final is True
    assert events[-1].status.state == TaskState.completed


async def test_get_task_honours_history_length(http: httpx.AsyncClient, gateway_url: str) -> None:
    client = await sdk_client(http, gateway_url + "/agents/ask")
    first = await client.send_message(send_request("hi"))
    assert isinstance(first.root, SendMessageSuccessResponse)
    task_id = first.root.result.id
    assert first.root.result.status.state == TaskState.input_required
    await client.send_message(send_request("Linus", task_id=task_id))

    response = await client.get_task(
        GetTaskRequest(id="g1", params=TaskQueryParams(id=task_id, history_length=1))
    )
    assert not isinstance(response.root, JSONRPCErrorResponse)
    task = response.root.result
    assert task.status.state == TaskState.completed
    assert task.history is not None and len(task.history) == 1


async def test_get_unknown_task_is_an_sdk_error_response(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    client = await sdk_client(http, gateway_url)
    response = await client.get_task(GetTaskRequest(id="g2", params=TaskQueryParams(id="ghost")))
    assert isinstance(response.root, JSONRPCErrorResponse)
    assert response.root.error.code == -32001


async def test_cancel_task_while_streaming(http: httpx.AsyncClient, gateway_url: str) -> None:
    client = await sdk_client(http, gateway_url + "/agents/progress")
    seen: list[Any] = []
    canceled: Any = None
    async for response in client.send_message_streaming(stream_request("steps=40 interval=0.2")):
        result = response.root.result  # type: ignore[union-attr]
        seen.append(result)
        if isinstance(result, TaskStatusUpdateEvent) and result.status.message is not None:
            canceled = await client.cancel_task(
                CancelTaskRequest(id="c1", params=TaskIdParams(id=seen[0].id))
            )
            break
    assert canceled is not None and not isinstance(canceled.root, JSONRPCErrorResponse)
    assert canceled.root.result.status.state == TaskState.canceled


async def test_resubscribe_with_sdk_models(http: httpx.AsyncClient, gateway_url: str) -> None:
    client = await sdk_client(http, gateway_url + "/agents/progress")
    first = await client.send_message(send_request("steps=3 interval=0.2", blocking=False))
    assert isinstance(first.root, SendMessageSuccessResponse)
    task_id = first.root.result.id
    request = TaskResubscriptionRequest(id="r1", params=TaskIdParams(id=task_id))
    events: list[Any] = []
    async with aconnect_sse(
        http, "POST", client.url, json=request.model_dump(mode="json", exclude_none=True)
    ) as source:
        async for sse in source.aiter_sse():
            parsed = SendStreamingMessageResponse.model_validate(json.loads(sse.data))
            assert isinstance(parsed.root, SendStreamingMessageSuccessResponse)
            events.append(parsed.root.result)
    assert isinstance(events[0], Task)
    assert isinstance(events[-1], TaskStatusUpdateEvent)
    assert events[-1].status.state == TaskState.completed


async def test_a_stream_quiet_between_events_reads_cleanly(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    """Keep-alive comments (every 0.5 s here) between events 1.5 s apart: the official
    client, which reads SSE with httpx-sse, sees only the events. A comment followed by a
    blank line after an event with an ``id`` reached it as an event with empty data, and
    the client failed with A2AClientJSONError (issue 11's interop runs found this)."""
    client = await sdk_client(http, gateway_url + "/agents/progress/")
    updates = await results(client, stream_request("steps=3 interval=1.5"))
    states = [u.status.state for u in updates if isinstance(u, TaskStatusUpdateEvent)]
    assert states[-1] == TaskState.completed
    assert states.count(TaskState.working) >= 3  # one per step
    async with aconnect_sse(
        http,
        "POST",
        gateway_url + "/agents/progress/",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "message/stream",
            "params": {"message": user_message("steps=2 interval=1.2").model_dump(mode="json")},
        },
    ) as source:
        datas = [sse.data async for sse in source.aiter_sse()]
    assert datas and all(json.loads(d)["id"] == 1 for d in datas)
