"""Interop with the official ``a2a-sdk`` (0.2.x) for push notification configs and parts.

``set_task_callback`` and ``get_task_callback`` go through the SDK client. The 0.2.x client
has no list or delete call, so those requests are built with the SDK's own request models,
posted with httpx to the URL the client uses, and parsed with the SDK's response models.
Push configs are exercised on ``push_gateway_url``; ``gateway_url`` has them off (-32003).
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING, Any

from a2a.types import (
    DataPart,
    DeleteTaskPushNotificationConfigParams,
    DeleteTaskPushNotificationConfigRequest,
    DeleteTaskPushNotificationConfigResponse,
    DeleteTaskPushNotificationConfigSuccessResponse,
    FilePart,
    FileWithBytes,
    FileWithUri,
    GetTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigSuccessResponse,
    JSONRPCErrorResponse,
    ListTaskPushNotificationConfigParams,
    ListTaskPushNotificationConfigRequest,
    ListTaskPushNotificationConfigResponse,
    ListTaskPushNotificationConfigSuccessResponse,
    Message,
    MessageSendConfiguration,
    MessageSendParams,
    Part,
    PushNotificationAuthenticationInfo,
    PushNotificationConfig,
    Role,
    SendMessageRequest,
    SendMessageSuccessResponse,
    SetTaskPushNotificationConfigRequest,
    SetTaskPushNotificationConfigSuccessResponse,
    Task,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskState,
    TextPart,
)

from tests.e2e.conftest import sdk_client

if TYPE_CHECKING:
    import httpx
    from a2a.client import A2AClient


def send_request(*parts: Any, **config: Any) -> SendMessageRequest:
    message = Message(
        role=Role.user, message_id=str(uuid.uuid4()), parts=[Part(root=p) for p in parts]
    )
    return SendMessageRequest(
        id=str(uuid.uuid4()),
        params=MessageSendParams(
            message=message, configuration=MessageSendConfiguration(**config) if config else None
        ),
    )


async def new_task(client: A2AClient, **config: Any) -> Task:
    response = await client.send_message(
        send_request(TextPart(text="push me"), accepted_output_modes=["text/plain"], **config)
    )
    assert isinstance(response.root, SendMessageSuccessResponse), response
    assert isinstance(response.root.result, Task)
    return response.root.result


def public(config: PushNotificationConfig) -> PushNotificationConfig:
    """A config as the gateway reads it back: no token, no credentials (issue 11)."""
    auth = config.authentication
    shown = auth.model_copy(update={"credentials": None}) if auth is not None else None
    return config.model_copy(update={"token": None, "authentication": shown})


def push_config(config_id: str | None, **extra: Any) -> PushNotificationConfig:
    fields: dict[str, Any] = {"token": f"tok-{config_id}", **extra}
    return PushNotificationConfig(url="https://hooks.example.com/a2a", id=config_id, **fields)


async def set_config(client: A2AClient, task_id: str, config: PushNotificationConfig) -> Any:
    return await client.set_task_callback(
        SetTaskPushNotificationConfigRequest(
            id=str(uuid.uuid4()),
            params=TaskPushNotificationConfig(task_id=task_id, push_notification_config=config),
        )
    )


async def list_configs(
    http: httpx.AsyncClient, client: A2AClient, task_id: str
) -> ListTaskPushNotificationConfigResponse:
    request = ListTaskPushNotificationConfigRequest(
        id=str(uuid.uuid4()), params=ListTaskPushNotificationConfigParams(id=task_id)
    )
    response = await http.post(client.url, json=request.model_dump(mode="json", exclude_none=True))
    assert response.status_code == 200, response.text
    parsed = ListTaskPushNotificationConfigResponse.model_validate(response.json())
    assert parsed.root.id == request.id
    return parsed


async def delete_config(
    http: httpx.AsyncClient, client: A2AClient, task_id: str, config_id: str
) -> DeleteTaskPushNotificationConfigResponse:
    request = DeleteTaskPushNotificationConfigRequest(
        id=str(uuid.uuid4()),
        params=DeleteTaskPushNotificationConfigParams(
            id=task_id, push_notification_config_id=config_id
        ),
    )
    response = await http.post(client.url, json=request.model_dump(mode="json", exclude_none=True))
    assert response.status_code == 200, response.text
    parsed = DeleteTaskPushNotificationConfigResponse.model_validate(response.json())
    assert parsed.root.id == request.id
    return parsed


def listed(response: ListTaskPushNotificationConfigResponse) -> list[TaskPushNotificationConfig]:
    assert isinstance(response.root, ListTaskPushNotificationConfigSuccessResponse), response
    return response.root.result


async def test_set_get_list_delete_push_configs_with_sdk_models(
    http: httpx.AsyncClient, push_gateway_url: str
) -> None:
    client = await sdk_client(http, push_gateway_url)
    assert client.agent_card is not None
    assert client.agent_card.capabilities.push_notifications is True
    task = await new_task(client, blocking=False)

    first = push_config(
        "cfg-a",
        authentication=PushNotificationAuthenticationInfo(schemes=["Bearer"], credentials="s3"),
    )
    second = push_config("cfg-b")
    for config in (first, second):
        response = await set_config(client, task.id, config)
        assert isinstance(response.root, SetTaskPushNotificationConfigSuccessResponse), response
        assert response.root.result.task_id == task.id
        assert response.root.result.push_notification_config == public(config)

    got = await client.get_task_callback(
        GetTaskPushNotificationConfigRequest(
            id="get-b",
            params=GetTaskPushNotificationConfigParams(
                id=task.id, push_notification_config_id="cfg-b"
            ),
        )
    )
    assert isinstance(got.root, GetTaskPushNotificationConfigSuccessResponse), got
    assert got.root.id == "get-b"
    assert got.root.result == TaskPushNotificationConfig(
        task_id=task.id, push_notification_config=public(second)
    )

    # Without a config id (the 0.2.x TaskIdParams form): the task's first config.
    got = await client.get_task_callback(
        GetTaskPushNotificationConfigRequest(id="get-any", params=TaskIdParams(id=task.id))
    )
    assert isinstance(got.root, GetTaskPushNotificationConfigSuccessResponse), got
    assert got.root.result.push_notification_config == public(first)

    configs = listed(await list_configs(http, client, task.id))
    assert configs == [
        TaskPushNotificationConfig(task_id=task.id, push_notification_config=public(c))
        for c in (first, second)
    ]

    # Setting an id again replaces that config.
    replaced = push_config("cfg-a", token="rotated")
    response = await set_config(client, task.id, replaced)
    assert isinstance(response.root, SetTaskPushNotificationConfigSuccessResponse), response
    configs = listed(await list_configs(http, client, task.id))
    assert [c.push_notification_config for c in configs] == [public(replaced), public(second)]

    deleted = await delete_config(http, client, task.id, "cfg-a")
    assert isinstance(deleted.root, DeleteTaskPushNotificationConfigSuccessResponse), deleted
    assert deleted.root.result is None
    configs = listed(await list_configs(http, client, task.id))
    assert [c.push_notification_config for c in configs] == [public(second)]

    # Deleting again is not an error; getting the deleted config is.
    again = await delete_config(http, client, task.id, "cfg-a")
    assert isinstance(again.root, DeleteTaskPushNotificationConfigSuccessResponse), again
    gone = await client.get_task_callback(
        GetTaskPushNotificationConfigRequest(
            id="get-gone",
            params=GetTaskPushNotificationConfigParams(
                id=task.id, push_notification_config_id="cfg-a"
            ),
        )
    )
    assert isinstance(gone.root, JSONRPCErrorResponse), gone
    assert gone.root.error.code == -32602

    deleted = await delete_config(http, client, task.id, "cfg-b")
    assert isinstance(deleted.root, DeleteTaskPushNotificationConfigSuccessResponse), deleted
    assert listed(await list_configs(http, client, task.id)) == []


async def test_config_without_id_gets_the_task_id(
    http: httpx.AsyncClient, push_gateway_url: str
) -> None:
    client = await sdk_client(http, push_gateway_url)
    task = await new_task(client, blocking=False)
    response = await set_config(client, task.id, push_config(None))
    assert isinstance(response.root, SetTaskPushNotificationConfigSuccessResponse), response
    assert response.root.result.push_notification_config.id == task.id
    configs = listed(await list_configs(http, client, task.id))
    assert [c.push_notification_config.id for c in configs] == [task.id]


async def test_push_config_in_message_send_is_listed(
    http: httpx.AsyncClient, push_gateway_url: str
) -> None:
    client = await sdk_client(http, push_gateway_url)
    config = push_config("from-send")
    task = await new_task(client, blocking=False, push_notification_config=config)
    configs = listed(await list_configs(http, client, task.id))
    assert [c.push_notification_config for c in configs] == [public(config)]


async def test_push_config_methods_on_unknown_task_are_task_not_found(
    http: httpx.AsyncClient, push_gateway_url: str
) -> None:
    client = await sdk_client(http, push_gateway_url)
    ghost = f"ghost-{uuid.uuid4()}"
    response = await set_config(client, ghost, push_config("x"))
    assert isinstance(response.root, JSONRPCErrorResponse), response
    assert response.root.error.code == -32001
    got = await client.get_task_callback(
        GetTaskPushNotificationConfigRequest(id="g", params=TaskIdParams(id=ghost))
    )
    assert isinstance(got.root, JSONRPCErrorResponse) and got.root.error.code == -32001
    listed_ghost = await list_configs(http, client, ghost)
    assert isinstance(listed_ghost.root, JSONRPCErrorResponse)
    assert listed_ghost.root.error.code == -32001
    deleted = await delete_config(http, client, ghost, "x")
    assert isinstance(deleted.root, JSONRPCErrorResponse) and deleted.root.error.code == -32001


async def test_set_task_callback_without_push_is_an_sdk_error_response(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    client = await sdk_client(http, gateway_url)
    assert client.agent_card is not None
    assert not client.agent_card.capabilities.push_notifications
    task = await new_task(client, blocking=False)
    response = await set_config(client, task.id, push_config("off"))
    assert isinstance(response.root, JSONRPCErrorResponse), response
    assert response.root.error.code == -32003
    listed_off = await list_configs(http, client, task.id)
    assert isinstance(listed_off.root, JSONRPCErrorResponse)
    assert listed_off.root.error.code == -32003


async def test_parts_round_trip_through_echo(http: httpx.AsyncClient, gateway_url: str) -> None:
    client = await sdk_client(http, gateway_url)
    raw = bytes(range(256))
    with_bytes = FilePart(
        file=FileWithBytes(
            bytes=base64.b64encode(raw).decode(), mime_type="application/octet-stream", name="b.bin"
        ),
        metadata={"origin": "sdk"},
    )
    with_uri = FilePart(
        file=FileWithUri(uri="https://example.com/report.pdf", mime_type="application/pdf")
    )
    data = DataPart(data={"n": 1, "nested": {"list": [1, "two", None, True]}, "x": 1.5})
    response = await client.send_message(
        send_request(TextPart(text="see attached"), with_bytes, with_uri, data)
    )
    assert isinstance(response.root, SendMessageSuccessResponse), response
    task = response.root.result
    assert isinstance(task, Task)
    assert task.status.state == TaskState.completed
    assert task.artifacts is not None and len(task.artifacts) == 1
    parts = [p.root for p in task.artifacts[0].parts]
    assert [p for p in parts if not isinstance(p, TextPart)] == [with_bytes, with_uri, data]
    returned = parts[[type(p) for p in parts].index(FilePart)]
    assert isinstance(returned, FilePart) and isinstance(returned.file, FileWithBytes)
    assert base64.b64decode(returned.file.bytes) == raw
    text = "".join(p.text for p in parts if isinstance(p, TextPart))
    assert text == "see attached"
    # The history keeps the message as sent, parsed back by the SDK.
    assert task.history is not None
    sent = [p.root for p in task.history[0].parts]
    assert sent == [TextPart(text="see attached"), with_bytes, with_uri, data]
