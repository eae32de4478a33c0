"""A2A models: what clients may send, how the gateway serialises, history trimming."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from a2a_gateway.core.limits import (
    MAX_ID_LENGTH,
    MAX_LIST_ITEMS,
    MAX_METADATA_BYTES,
    MAX_PARTS,
    MAX_URI_LENGTH,
)
from a2a_gateway.core.states import TaskState
from a2a_gateway.models import (
    Artifact,
    DataPart,
    DeleteTaskPushNotificationConfigParams,
    FilePart,
    FileWithBytes,
    FileWithUri,
    Message,
    MessageSendParams,
    Task,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskStatus,
    TextPart,
    trim_history,
)


def params(**message: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "message",
        "messageId": "m-1",
        "role": "user",
        "parts": [{"kind": "text", "text": "hi"}],
    }
    base.update(message)
    return {"message": base}


def test_text_file_and_data_parts_parse_into_their_classes() -> None:
    parsed = MessageSendParams.model_validate(
        params(
            parts=[
                {"kind": "text", "text": "hello"},
                {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "text/plain"}},
                {"kind": "file", "file": {"uri": "https://example.com/a.txt"}},
                {"kind": "data", "data": {"n": 1}},
            ]
        )
    )
    text, by_bytes, by_uri, data = parsed.message.parts
    assert isinstance(text, TextPart)
    assert text.text == "hello"
    assert isinstance(by_bytes, FilePart)
    assert isinstance(by_bytes.file, FileWithBytes)
    assert by_bytes.file.bytes == "aGk="
    assert by_bytes.file.mime_type == "text/plain"
    assert isinstance(by_uri, FilePart)
    assert isinstance(by_uri.file, FileWithUri)
    assert by_uri.file.uri == "https://example.com/a.txt"
    assert isinstance(data, DataPart)
    assert data.data == {"n": 1}
    assert parsed.message.message_id == "m-1"
    assert parsed.message.role == "user"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            {"message": {"role": "user", "parts": [{"kind": "text", "text": "x"}]}},
            id="missing-messageId",
        ),
        pytest.param(params(messageId=""), id="empty-messageId"),
        pytest.param(params(parts=[]), id="empty-parts"),
        pytest.param(params(parts=[{"kind": "video", "url": "x"}]), id="unknown-part-kind"),
        pytest.param(
            params(parts=[{"kind": "file", "file": {"name": "a.txt"}}]),
            id="file-without-bytes-or-uri",
        ),
        pytest.param(params(role="agent"), id="role-agent"),
        pytest.param({}, id="missing-message"),
    ],
)
def test_invalid_send_params_are_rejected(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        MessageSendParams.model_validate(body)


def test_role_agent_error_mentions_role() -> None:
    with pytest.raises(ValidationError, match="role"):
        MessageSendParams.model_validate(params(role="agent"))


def test_dump_is_camel_case_and_omits_none() -> None:
    message = Message(
        message_id="m-1", role="user", parts=[TextPart(text="hi")], context_id="ctx-1"
    )
    dumped = message.dump()
    assert dumped == {
        "kind": "message",
        "messageId": "m-1",
        "role": "user",
        "parts": [{"kind": "text", "text": "hi"}],
        "contextId": "ctx-1",
    }
    assert "taskId" not in dumped
    assert "message_id" not in dumped


def test_dump_round_trips_through_validation() -> None:
    message = Message(message_id="m-2", role="agent", parts=[DataPart(data={"a": [1, 2]})])
    assert Message.model_validate(message.dump()) == message


@pytest.mark.parametrize(
    ("state", "terminal", "interrupted"),
    [
        (TaskState.SUBMITTED, False, False),
        (TaskState.WORKING, False, False),
        (TaskState.INPUT_REQUIRED, False, True),
        (TaskState.AUTH_REQUIRED, False, True),
        (TaskState.COMPLETED, True, False),
        (TaskState.CANCELED, True, False),
        (TaskState.FAILED, True, False),
        (TaskState.REJECTED, True, False),
        (TaskState.UNKNOWN, False, False),
    ],
)
def test_task_state_terminal_and_interrupted(
    state: TaskState, terminal: bool, interrupted: bool
) -> None:
    assert state.terminal is terminal
    assert state.interrupted is interrupted


def test_task_state_wire_values() -> None:
    assert TaskState("input-required") is TaskState.INPUT_REQUIRED
    assert TaskState("auth-required") is TaskState.AUTH_REQUIRED


def make_task(count: int) -> Task:
    history = [
        Message(message_id=f"m-{i}", role="user", parts=[TextPart(text=str(i))])
        for i in range(count)
    ]
    return Task(
        id="t-1",
        context_id="c-1",
        status=TaskStatus(state=TaskState.WORKING),
        history=history,
    )


def ids(task: Task) -> list[str]:
    assert task.history is not None
    return [m.message_id for m in task.history]


def test_trim_history_none_keeps_all() -> None:
    assert ids(trim_history(make_task(4), None)) == ["m-0", "m-1", "m-2", "m-3"]


def test_trim_history_zero_gives_empty() -> None:
    assert trim_history(make_task(4), 0).history == []


def test_trim_history_keeps_the_most_recent() -> None:
    task = make_task(4)
    assert ids(trim_history(task, 2)) == ["m-2", "m-3"]
    assert ids(task) == ["m-0", "m-1", "m-2", "m-3"], "the original task is left untouched"


def test_trim_history_longer_than_history_keeps_all() -> None:
    assert ids(trim_history(make_task(3), 10)) == ["m-0", "m-1", "m-2"]


# -- limits (core/limits.py): each cap accepts its limit and refuses one more, naming it ------

LONG_ID = "i" * (MAX_ID_LENGTH + 1)
BIG_METADATA = {"k": "v" * MAX_METADATA_BYTES}
PUSH = {"url": "https://example.com/hook"}


def text_parts(count: int) -> list[dict[str, Any]]:
    return [{"kind": "text", "text": str(i)} for i in range(count)]


CAPS = [
    pytest.param(MessageSendParams, params(messageId=LONG_ID), "128", id="messageId"),
    pytest.param(MessageSendParams, params(taskId=LONG_ID), "128", id="taskId"),
    pytest.param(MessageSendParams, params(contextId=LONG_ID), "128", id="contextId"),
    pytest.param(
        MessageSendParams, params(referenceTaskIds=[LONG_ID]), "128", id="referenceTaskIds-item"
    ),
    pytest.param(
        MessageSendParams,
        params(referenceTaskIds=["t"] * (MAX_LIST_ITEMS + 1)),
        str(MAX_LIST_ITEMS),
        id="referenceTaskIds-count",
    ),
    pytest.param(
        MessageSendParams, params(parts=text_parts(MAX_PARTS + 1)), str(MAX_PARTS), id="parts"
    ),
    pytest.param(
        MessageSendParams,
        params(metadata=BIG_METADATA),
        str(MAX_METADATA_BYTES),
        id="message-metadata",
    ),
    pytest.param(
        MessageSendParams,
        {**params(), "metadata": BIG_METADATA},
        str(MAX_METADATA_BYTES),
        id="params-metadata",
    ),
    pytest.param(
        MessageSendParams,
        params(parts=[{"kind": "text", "text": "x", "metadata": BIG_METADATA}]),
        str(MAX_METADATA_BYTES),
        id="part-metadata",
    ),
    pytest.param(
        MessageSendParams,
        {**params(), "configuration": {"pushNotificationConfig": {**PUSH, "id": LONG_ID}}},
        "128",
        id="push-config-id-in-send",
    ),
    pytest.param(TaskIdParams, {"id": LONG_ID}, "128", id="tasks-id"),
    pytest.param(TaskIdParams, {"id": "t", "metadata": BIG_METADATA}, "16384", id="tasks-meta"),
    pytest.param(
        TaskPushNotificationConfig,
        {"taskId": "t", "pushNotificationConfig": {**PUSH, "id": LONG_ID}},
        "128",
        id="push-config-id",
    ),
    pytest.param(
        TaskPushNotificationConfig,
        {"taskId": "t", "pushNotificationConfig": {"url": "https://e.com/" + "p" * 2048}},
        str(MAX_URI_LENGTH),
        id="push-url",
    ),
    pytest.param(
        DeleteTaskPushNotificationConfigParams,
        {"id": "t", "pushNotificationConfigId": LONG_ID},
        "128",
        id="delete-push-config-id",
    ),
    pytest.param(Artifact, {"artifactId": LONG_ID, "parts": text_parts(1)}, "128", id="artifactId"),
]


@pytest.mark.parametrize(("model", "data", "limit"), CAPS)
def test_over_limit_fields_are_refused_naming_the_limit(
    model: type[BaseModel], data: dict[str, Any], limit: str
) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert limit in str(info.value)


def test_values_at_the_limits_are_accepted() -> None:
    at_limit = "i" * MAX_ID_LENGTH
    metadata = {"k": "v" * (MAX_METADATA_BYTES - len('{"k":""}'))}
    parsed = MessageSendParams.model_validate(
        {
            **params(
                messageId=at_limit,
                taskId=at_limit,
                contextId=at_limit,
                referenceTaskIds=[at_limit] * MAX_LIST_ITEMS,
                parts=text_parts(MAX_PARTS),
                metadata=metadata,
            ),
            "metadata": metadata,
        }
    )
    assert len(parsed.message.parts) == MAX_PARTS
    # Artifacts grow by appended chunks, which agents make: their parts are not capped.
    assert len(Artifact(artifact_id="a", parts=text_parts(MAX_PARTS * 3)).parts) == MAX_PARTS * 3
