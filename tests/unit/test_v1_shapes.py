"""A2A 1.0 shapes: rendering the internal model as ProtoJSON, parsing 1.0 requests into it,
and the 1.0 error bodies of both bindings."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from a2a_gateway import errors, models
from a2a_gateway.core.limits import MAX_ID_LENGTH, MAX_PARTS
from a2a_gateway.core.states import TaskState
from a2a_gateway.gateway.protocol import v1_parse as parse
from a2a_gateway.gateway.protocol import v1_render as render

if TYPE_CHECKING:
    from collections.abc import Callable

TEXT = {"text": "hello", "metadata": {"lang": "en"}}
RAW = {
    "raw": base64.b64encode(b"\x00\x01bin").decode(),
    "mediaType": "image/png",
    "filename": "a.png",
}
URL = {"url": "https://example.com/a.pdf", "mediaType": "application/pdf", "filename": "a.pdf"}
DATA = {"data": {"n": 1, "list": [1, {"x": None}]}, "metadata": {"k": "v"}}


def v1_message(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}
    base.update(fields)
    return base


def send(**fields: Any) -> dict[str, Any]:
    return {"message": v1_message(**fields)}


def refused(parse: Callable[[Any], Any], params: Any) -> tuple[str, str, str]:
    """The (message, first field, first problem) of the -32602 that ``parse`` raises."""
    with pytest.raises(errors.InvalidParamsError) as caught:
        parse(params)
    err = caught.value
    assert err.code == -32602
    first = err.data["errors"][0]
    assert first["field"] in err.message
    return err.message, first["field"], first["problem"]


def stored_task(**fields: Any) -> models.Task:
    base: dict[str, Any] = {
        "id": "t-1",
        "contextId": "c-1",
        "status": {"state": "working", "timestamp": "2026-11-25T12:00:00.123456+00:00"},
    }
    base.update(fields)
    return models.Task.model_validate(base)


# --- states and timestamps ---------------------------------------------------------------

V1_NAMES = {
    TaskState.SUBMITTED: "TASK_STATE_SUBMITTED",
    TaskState.WORKING: "TASK_STATE_WORKING",
    TaskState.INPUT_REQUIRED: "TASK_STATE_INPUT_REQUIRED",
    TaskState.COMPLETED: "TASK_STATE_COMPLETED",
    TaskState.CANCELED: "TASK_STATE_CANCELED",
    TaskState.FAILED: "TASK_STATE_FAILED",
    TaskState.REJECTED: "TASK_STATE_REJECTED",
    TaskState.AUTH_REQUIRED: "TASK_STATE_AUTH_REQUIRED",
    TaskState.UNKNOWN: "TASK_STATE_UNSPECIFIED",
}


@pytest.mark.parametrize(("state", "name"), V1_NAMES.items())
def test_each_state_renders_and_parses_back(state: TaskState, name: str) -> None:
    assert render.STATE_TO_V1[state] == name
    assert render.STATE_FROM_V1[name] is state
    rendered = render.task(stored_task(status={"state": state.value}))
    assert rendered["status"] == {"state": name}


def test_state_maps_cover_every_state_once() -> None:
    assert set(render.STATE_TO_V1) == set(TaskState)
    assert len(set(render.STATE_FROM_V1.values())) == len(TaskState)


@pytest.mark.parametrize(
    ("stored", "rendered"),
    [
        ("2026-11-25T12:00:00.123456+00:00", "2026-11-25T12:00:00.123Z"),
        ("2026-11-25T12:00:00.999999+00:00", "2026-11-25T12:00:00.999Z"),
        ("2026-11-25T14:30:00+02:00", "2026-11-25T12:30:00.000Z"),
        ("2026-11-25T12:00:00Z", "2026-11-25T12:00:00.000Z"),
        ("2026-11-25T12:00:00.5", "2026-11-25T12:00:00.500Z"),
        ("yesterday", None),
        (None, None),
    ],
)
def test_timestamps_render_as_utc_milliseconds(stored: str | None, rendered: str | None) -> None:
    assert render.timestamp(stored) == rendered


# --- outbound ----------------------------------------------------------------------------


def test_message_renders_every_part_kind() -> None:
    m = models.Message.model_validate(
        {
            "messageId": "m-1",
            "role": "agent",
            "contextId": "c-1",
            "taskId": "t-1",
            "referenceTaskIds": ["t-0"],
            "extensions": ["https://ext.example/v1"],
            "metadata": {"a": 1},
            "parts": [
                {"kind": "text", "text": "hello", "metadata": {"lang": "en"}},
                {"kind": "file", "file": {"bytes": "AAE=", "mimeType": "image/png", "name": "a"}},
                {"kind": "file", "file": {"uri": "https://example.com/f"}},
                {"kind": "data", "data": {"n": 1}, "metadata": {"k": "v"}},
            ],
        }
    )
    assert render.message(m) == {
        "messageId": "m-1",
        "contextId": "c-1",
        "taskId": "t-1",
        "role": "ROLE_AGENT",
        "parts": [
            {"text": "hello", "metadata": {"lang": "en"}},
            {"raw": "AAE=", "mediaType": "image/png", "filename": "a"},
            {"url": "https://example.com/f"},
            {"data": {"n": 1}, "metadata": {"k": "v"}},
        ],
        "metadata": {"a": 1},
        "extensions": ["https://ext.example/v1"],
        "referenceTaskIds": ["t-0"],
    }


def test_task_renders_all_fields_without_kind() -> None:
    user = {
        "kind": "message",
        "messageId": "m-1",
        "role": "user",
        "parts": [{"kind": "text", "text": "q"}],
    }
    t = stored_task(
        status={"state": "completed", "message": {**user, "role": "agent", "messageId": "m-2"}},
        history=[user],
        artifacts=[{"artifactId": "a-1", "name": "out", "parts": [{"kind": "text", "text": "r"}]}],
        metadata={"owner": "x"},
    )
    assert render.task(t) == {
        "id": "t-1",
        "contextId": "c-1",
        "status": {
            "state": "TASK_STATE_COMPLETED",
            "message": {"messageId": "m-2", "role": "ROLE_AGENT", "parts": [{"text": "q"}]},
        },
        "artifacts": [{"artifactId": "a-1", "name": "out", "parts": [{"text": "r"}]}],
        "history": [{"messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "q"}]}],
        "metadata": {"owner": "x"},
    }
    assert render.send_result(t) == {"task": render.task(t)}


def test_task_drops_absent_fields_omits_empty_history_keeps_empty_artifacts() -> None:
    bare = render.task(stored_task())
    assert bare == {
        "id": "t-1",
        "contextId": "c-1",
        "status": {"state": "TASK_STATE_WORKING", "timestamp": "2026-11-25T12:00:00.123Z"},
    }
    emptied = render.task(stored_task(history=[], artifacts=[]))
    assert "history" not in emptied
    assert emptied["artifacts"] == []


def test_stream_event_wraps_a_task() -> None:
    stored = stored_task().dump()
    assert render.stream_event(stored) == {"task": render.task(stored_task())}


def test_stream_event_status_update_drops_final() -> None:
    event = {
        "kind": "status-update",
        "taskId": "t-1",
        "contextId": "c-1",
        "status": {"state": "input-required", "timestamp": "2026-11-25T12:00:00+00:00"},
        "final": True,
        "metadata": {"m": 1},
    }
    assert render.stream_event(event) == {
        "statusUpdate": {
            "taskId": "t-1",
            "contextId": "c-1",
            "status": {
                "state": "TASK_STATE_INPUT_REQUIRED",
                "timestamp": "2026-11-25T12:00:00.000Z",
            },
            "metadata": {"m": 1},
        }
    }


def test_stream_event_artifact_update() -> None:
    event = {
        "kind": "artifact-update",
        "taskId": "t-1",
        "contextId": "c-1",
        "artifact": {"artifactId": "a-1", "parts": [{"kind": "data", "data": {"x": 1}}]},
        "append": True,
        "lastChunk": False,
    }
    assert render.stream_event(event) == {
        "artifactUpdate": {
            "taskId": "t-1",
            "contextId": "c-1",
            "artifact": {"artifactId": "a-1", "parts": [{"data": {"x": 1}}]},
            "append": True,
            "lastChunk": False,
        }
    }


def test_stream_event_message() -> None:
    event = {
        "kind": "message",
        "messageId": "m",
        "role": "agent",
        "parts": [{"kind": "text", "text": "x"}],
    }
    assert render.stream_event(event) == {
        "message": {"messageId": "m", "role": "ROLE_AGENT", "parts": [{"text": "x"}]}
    }


def test_stream_event_refuses_what_is_not_a_stored_event() -> None:
    with pytest.raises(ValueError, match="not a stored event"):
        render.stream_event({"kind": "gossip"})
    with pytest.raises(ValidationError):
        render.stream_event({"kind": "status-update", "taskId": "t-1"})


def test_push_config_is_flat_with_the_first_scheme() -> None:
    config = models.PushNotificationConfig(
        url="https://hook.example/a2a",
        id="p-1",
        token="tok",
        authentication=models.PushNotificationAuthenticationInfo(
            schemes=["Bearer", "Basic"], credentials="secret"
        ),
    )
    assert render.push_config("t-1", config) == {
        "id": "p-1",
        "taskId": "t-1",
        "url": "https://hook.example/a2a",
        "token": "tok",
        "authentication": {"scheme": "Bearer", "credentials": "secret"},
    }


def test_push_config_without_a_scheme_omits_authentication() -> None:
    config = models.PushNotificationConfig(
        url="https://hook.example",
        authentication=models.PushNotificationAuthenticationInfo(schemes=[], credentials="c"),
    )
    assert render.push_config("t-1", config) == {"taskId": "t-1", "url": "https://hook.example"}


def test_push_config_list_is_one_page() -> None:
    configs = [
        models.PushNotificationConfig(url="https://a.example", id="p-1"),
        models.PushNotificationConfig(url="https://b.example", id="p-2"),
    ]
    assert render.push_config_list("t-1", configs) == {
        "configs": [
            {"id": "p-1", "taskId": "t-1", "url": "https://a.example"},
            {"id": "p-2", "taskId": "t-1", "url": "https://b.example"},
        ],
        "nextPageToken": "",
    }


def test_task_page_always_carries_paging_fields() -> None:
    assert render.task_page([], "", 50, 0) == {
        "tasks": [],
        "nextPageToken": "",
        "pageSize": 50,
        "totalSize": 0,
    }
    page = render.task_page([stored_task()], "cursor-2", 1, 7)
    assert page["tasks"] == [render.task(stored_task())]
    assert (page["nextPageToken"], page["pageSize"], page["totalSize"]) == ("cursor-2", 1, 7)


# --- inbound: round trips ----------------------------------------------------------------


def test_send_round_trips_every_part_kind() -> None:
    message = v1_message(
        contextId="c-1",
        taskId="t-1",
        parts=[TEXT, RAW, URL, DATA],
        metadata={"trace": "x"},
        extensions=["https://ext.example/v1"],
        referenceTaskIds=["t-0"],
    )
    params = parse.parse_send({"message": message, "tenant": "acme", "unknownField": 1})
    text, raw, url, data = params.message.parts
    assert isinstance(text, models.TextPart)
    assert isinstance(raw, models.FilePart)
    assert isinstance(raw.file, models.FileWithBytes)
    assert (raw.file.bytes, raw.file.mime_type, raw.file.name) == (RAW["raw"], "image/png", "a.png")
    assert isinstance(url, models.FilePart)
    assert isinstance(url.file, models.FileWithUri)
    assert url.file.uri == URL["url"]
    assert isinstance(data, models.DataPart)
    assert params.message.role == "user"
    assert render.message(params.message) == message


def test_send_configuration_maps_to_the_internal_one() -> None:
    params = parse.parse_send(
        {
            "message": v1_message(),
            "configuration": {
                "acceptedOutputModes": ["text/plain"],
                "historyLength": 2,
                "returnImmediately": True,
                "taskPushNotificationConfig": {
                    "url": "https://hook.example",
                    "token": "tok",
                    "authentication": {"scheme": "Bearer", "credentials": "c"},
                },
            },
            "metadata": {"r": 1},
        }
    )
    config = params.configuration
    assert config is not None
    assert config.blocking is False
    assert config.history_length == 2
    assert config.accepted_output_modes == ["text/plain"]
    push = config.push_notification_config
    assert push is not None
    assert (push.url, push.token) == ("https://hook.example", "tok")
    assert push.authentication == models.PushNotificationAuthenticationInfo(
        schemes=["Bearer"], credentials="c"
    )
    assert params.metadata == {"r": 1}


@pytest.mark.parametrize("configuration", [{}, {"returnImmediately": False}])
def test_send_is_blocking_by_default(configuration: dict[str, Any]) -> None:
    params = parse.parse_send({"message": v1_message(), "configuration": configuration})
    assert params.configuration is not None
    assert params.configuration.blocking is None
    assert parse.parse_send(send()).configuration is None


def test_raw_is_normalised_to_standard_padded_base64() -> None:
    params = parse.parse_send(send(parts=[{"raw": "-_8"}]))  # URL-safe, unpadded: 0xfb 0xff
    part = params.message.parts[0]
    assert isinstance(part, models.FilePart)
    assert isinstance(part.file, models.FileWithBytes)
    assert part.file.bytes == "+/8="
    assert base64.b64decode(part.file.bytes) == b"\xfb\xff"


def test_send_drops_media_type_of_text_parts_and_empty_ids() -> None:
    params = parse.parse_send(send(contextId="", parts=[{"text": "hi", "mediaType": "text/plain"}]))
    assert params.message.context_id is None
    assert params.message.parts[0] == models.TextPart(text="hi")


def test_enum_numbers_and_proto_field_names_are_read() -> None:
    params = parse.parse_send(
        {"message": {"message_id": "m-1", "role": 1, "parts": [{"text": "x"}]}}
    )
    assert (params.message.message_id, params.message.role) == ("m-1", "user")
    assert parse.parse_list({"status": 2}).status is TaskState.WORKING


def test_get_cancel_subscribe() -> None:
    assert parse.parse_get(
        {"id": "t-1", "historyLength": 0, "tenant": "x"}
    ) == models.TaskQueryParams(id="t-1", history_length=0)
    assert parse.parse_get({"id": "t-1", "historyLength": "5"}).history_length == 5
    assert parse.parse_cancel({"id": "t-1", "metadata": {"why": "done"}}) == models.TaskIdParams(
        id="t-1", metadata={"why": "done"}
    )
    assert parse.parse_subscribe({"id": "t-1", "metadata": {"ignored": 1}}) == models.TaskIdParams(
        id="t-1"
    )


def test_list_reads_every_field() -> None:
    parsed = parse.parse_list(
        {
            "contextId": "c-1",
            "status": "TASK_STATE_INPUT_REQUIRED",
            "pageSize": 10,
            "pageToken": "cursor",
            "historyLength": 3,
            "statusTimestampAfter": "2025-11-09T12:30:00+02:00",
            "includeArtifacts": True,
            "tenant": "acme",
        }
    )
    assert parsed == models.ListTasksParams(
        context_id="c-1",
        status=TaskState.INPUT_REQUIRED,
        page_size=10,
        page_token="cursor",
        history_length=3,
        status_timestamp_after=datetime(2025, 11, 9, 10, 30, tzinfo=UTC),
        include_artifacts=True,
    )


def test_list_defaults_and_unspecified_status() -> None:
    assert parse.parse_list({}) == models.ListTasksParams()
    assert parse.parse_list({}).page_size == models.DEFAULT_PAGE_SIZE
    assert parse.parse_list({"status": "TASK_STATE_UNSPECIFIED"}).status is None
    assert parse.parse_list({"status": 0}).status is None
    naive = parse.parse_list({"statusTimestampAfter": "2025-11-09T10:30:00"})
    assert naive.status_timestamp_after == datetime(2025, 11, 9, 10, 30, tzinfo=UTC)


def test_push_create_round_trips() -> None:
    sent = {
        "taskId": "t-1",
        "id": "p-1",
        "url": "https://hook.example",
        "token": "tok",
        "authentication": {"scheme": "Bearer", "credentials": "c"},
    }
    parsed = parse.parse_push_create({**sent, "tenant": "acme"})
    assert parsed == models.TaskPushNotificationConfig(
        task_id="t-1",
        push_notification_config=models.PushNotificationConfig(
            url="https://hook.example",
            id="p-1",
            token="tok",
            authentication=models.PushNotificationAuthenticationInfo(
                schemes=["Bearer"], credentials="c"
            ),
        ),
    )
    assert render.push_config(parsed.task_id, parsed.push_notification_config) == sent


def test_push_get_list_delete() -> None:
    assert parse.parse_push_get({"taskId": "t-1", "id": "p-1"}) == (
        models.GetTaskPushNotificationConfigParams(id="t-1", push_notification_config_id="p-1")
    )
    assert parse.parse_push_list({"taskId": "t-1", "pageSize": 5, "pageToken": "x"}) == (
        models.TaskIdParams(id="t-1")
    )
    assert parse.parse_push_delete({"taskId": "t-1", "id": "p-1"}) == (
        models.DeleteTaskPushNotificationConfigParams(id="t-1", push_notification_config_id="p-1")
    )


# --- inbound: refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "field", "problem"),
    [
        ([{"text": "a", "data": {}}], "message.parts.0", "exactly one of text, raw, url or data"),
        ([{"raw": "AA==", "url": "https://x"}], "message.parts.0", "not raw and url"),
        ([{"metadata": {}}], "message.parts.0", "not none"),
        ([{"data": [1, 2]}], "message.parts.0", "data parts must be objects on this gateway"),
        ([{"data": "text"}], "message.parts.0", "must be a JSON object"),
        ([{"data": 3}], "message.parts.0", "must be a JSON object"),
        ([{"data": None}], "message.parts.0", "must be a JSON object"),
        ([{"raw": "not base64!"}], "message.parts.0.raw", "raw must be base64"),
        ([], "message.parts", "at least 1 item"),
        ([{"text": "x"}] * (MAX_PARTS + 1), "message.parts", f"at most {MAX_PARTS} items"),
    ],
)
def test_bad_parts_are_refused(parts: list[Any], field: str, problem: str) -> None:
    message, got_field, got_problem = refused(parse.parse_send, send(parts=parts))
    assert got_field == field
    assert problem in got_problem
    assert message.startswith(f"Invalid params: {field}: ")


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (v1_message(role="ROLE_UNSPECIFIED"), "'ROLE_USER' or 'ROLE_AGENT'"),
        (v1_message(role="user"), "'ROLE_USER' or 'ROLE_AGENT'"),
        (v1_message(role=0), "'ROLE_USER' or 'ROLE_AGENT'"),
        ({"messageId": "m", "parts": [{"text": "x"}]}, "Field required"),
        (v1_message(role="ROLE_AGENT"), "must be ROLE_USER"),
    ],
)
def test_bad_roles_are_refused(message: dict[str, Any], problem: str) -> None:
    _, field, got = refused(parse.parse_send, {"message": message})
    assert field == "message.role"
    assert problem in got


@pytest.mark.parametrize(
    ("params", "field", "problem"),
    [
        (send(messageId=""), "message.messageId", "at least 1 character"),
        (send(messageId="m" * (MAX_ID_LENGTH + 1)), "message.messageId", "at most 128"),
        (send(taskId="t" * (MAX_ID_LENGTH + 1)), "message.taskId", "at most 128"),
        ({}, "message", "Field required"),
        (
            {"message": v1_message(), "configuration": {"historyLength": -1}},
            "configuration.historyLength",
            "greater than or equal to 0",
        ),
        (
            {"message": v1_message(), "configuration": {"returnImmediately": "yes"}},
            "configuration.returnImmediately",
            "valid boolean",
        ),
        (
            {
                "message": v1_message(),
                "configuration": {"taskPushNotificationConfig": {"url": "ftp://x"}},
            },
            "configuration.taskPushNotificationConfig.url",
            "absolute http(s) URL",
        ),
        (send(metadata={"big": "x" * 20_000}), "message.metadata", "at most 16384 bytes"),
    ],
)
def test_bad_send_fields_are_refused(params: dict[str, Any], field: str, problem: str) -> None:
    _, got_field, got_problem = refused(parse.parse_send, params)
    assert got_field == field
    assert problem in got_problem


@pytest.mark.parametrize(
    ("params", "field", "problem"),
    [
        ({"status": "working"}, "status", "must be one of TASK_STATE_UNSPECIFIED"),
        ({"status": "TASK_STATE_DONE"}, "status", "TASK_STATE_WORKING"),
        ({"status": 42}, "status", "must be one of"),
        ({"pageSize": 0}, "pageSize", "greater than or equal to 1"),
        ({"pageSize": 101}, "pageSize", "less than or equal to 100"),
        ({"pageSize": 2.5}, "pageSize", "valid integer"),
        ({"pageSize": True}, "pageSize", "valid integer"),
        ({"historyLength": -2}, "historyLength", "greater than or equal to 0"),
        ({"includeArtifacts": "yes"}, "includeArtifacts", "valid boolean"),
        ({"statusTimestampAfter": 1700000000}, "statusTimestampAfter", "ISO 8601"),
        ({"statusTimestampAfter": "last tuesday"}, "statusTimestampAfter", "datetime"),
        ({"pageToken": "x" * 513}, "pageToken", "at most 512"),
    ],
)
def test_bad_list_fields_are_refused(params: dict[str, Any], field: str, problem: str) -> None:
    _, got_field, got_problem = refused(parse.parse_list, params)
    assert got_field == field
    assert problem in got_problem


@pytest.mark.parametrize(
    ("parse", "params", "field"),
    [
        (parse.parse_get, {}, "id"),
        (parse.parse_get, {"id": ""}, "id"),
        (parse.parse_cancel, {"id": "x" * (MAX_ID_LENGTH + 1)}, "id"),
        (parse.parse_subscribe, {"id": 7}, "id"),
        (parse.parse_push_create, {"url": "https://hook.example"}, "taskId"),
        (parse.parse_push_create, {"taskId": "t-1", "url": "mailto:a@b"}, "url"),
        (parse.parse_push_create, {"taskId": "t-1"}, "url"),
        (
            parse.parse_push_create,
            {"taskId": "t-1", "url": "https://h", "authentication": {"credentials": "c"}},
            "authentication.scheme",
        ),
        (parse.parse_push_get, {"taskId": "t-1"}, "id"),
        (parse.parse_push_delete, {"id": "p-1"}, "taskId"),
        (parse.parse_push_list, {"taskId": "t-1", "pageSize": "many"}, "pageSize"),
    ],
)
def test_bad_ids_and_configs_are_refused(
    parse: Callable[[Any], Any], params: dict[str, Any], field: str
) -> None:
    assert refused(parse, params)[1] == field


PARSERS = [
    parse.parse_send,
    parse.parse_get,
    parse.parse_cancel,
    parse.parse_subscribe,
    parse.parse_list,
    parse.parse_push_create,
    parse.parse_push_get,
    parse.parse_push_list,
    parse.parse_push_delete,
]


@pytest.mark.parametrize("parse", PARSERS)
@pytest.mark.parametrize("params", [[1, 2], "id", None, 3])
def test_params_that_are_not_an_object_are_refused(
    parse: Callable[[Any], Any], params: Any
) -> None:
    message, field, problem = refused(parse, params)
    assert (field, problem) == ("params", "must be a JSON object")
    assert message == "Invalid params: params: must be a JSON object"


def test_a_limit_only_the_internal_model_enforces_is_still_invalid_params() -> None:
    with pytest.raises(errors.InvalidParamsError) as caught:
        parse._internal(lambda: models.TaskIdParams(id=""))
    assert caught.value.data["errors"][0]["field"] == "id"


# --- HTTP+JSON query strings -------------------------------------------------------------


def test_list_query_converts_strings() -> None:
    query = {
        "contextId": "c-1",
        "status": "TASK_STATE_WORKING",
        "pageSize": "10",
        "pageToken": "",
        "historyLength": "3",
        "statusTimestampAfter": "2025-11-09T10:30:00Z",
        "includeArtifacts": "TRUE",
        "id": "not-a-list-field",
    }
    assert parse.list_query(query) == {
        "contextId": "c-1",
        "status": "TASK_STATE_WORKING",
        "pageSize": 10,
        "historyLength": 3,
        "statusTimestampAfter": "2025-11-09T10:30:00Z",
        "includeArtifacts": True,
    }
    parsed = parse.parse_list(parse.list_query(query))
    assert (parsed.page_size, parsed.history_length, parsed.include_artifacts) == (10, 3, True)
    assert parse.list_query({"includeArtifacts": "false"}) == {"includeArtifacts": False}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"pageSize": "ten"}, "pageSize"),
        ({"includeArtifacts": "1"}, "includeArtifacts"),
        ({"historyLength": "-1"}, "historyLength"),
    ],
)
def test_bad_query_values_are_refused_by_name(query: dict[str, str], field: str) -> None:
    assert refused(parse.parse_list, parse.list_query(query))[1] == field


def test_get_query_reads_history_length_only() -> None:
    assert parse.get_query({"historyLength": "4", "id": "other", "tenant": "t"}) == {
        "historyLength": 4
    }
    assert (
        parse.parse_get({**parse.get_query({"historyLength": "4"}), "id": "t-1"}).history_length
        == 4
    )
    assert parse.get_query({"historyLength": ""}) == {}


# --- errors ------------------------------------------------------------------------------

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def test_task_not_found_as_json_rpc_and_rest() -> None:
    err = errors.TaskNotFoundError(data={"taskId": "t-9"})
    detail = {
        "@type": ERROR_INFO,
        "reason": "TASK_NOT_FOUND",
        "domain": "a2a-protocol.org",
        "metadata": {"taskId": "t-9"},
    }
    assert render.rpc_error(err) == {"code": -32001, "message": "Task not found", "data": [detail]}
    assert render.rest_error(err) == (
        404,
        {
            "error": {
                "code": 404,
                "status": "NOT_FOUND",
                "message": "Task not found",
                "details": [detail],
            }
        },
    )


def test_invalid_params_carries_field_violations() -> None:
    with pytest.raises(errors.InvalidParamsError) as caught:
        parse.parse_send(send(parts=[{"data": [1]}]))
    body = render.rpc_error(caught.value)
    assert body["code"] == -32602
    info, bad_request = body["data"]
    assert info == {
        "@type": ERROR_INFO,
        "reason": "INVALID_ARGUMENT",
        "domain": "a2a-protocol.org",
        "metadata": {},
    }
    assert bad_request["@type"] == BAD_REQUEST
    [violation] = bad_request["fieldViolations"]
    assert violation["field"] == "message.parts.0"
    assert "must be a JSON object" in violation["description"]
    status, rest = render.rest_error(caught.value)
    assert (status, rest["error"]["code"], rest["error"]["status"]) == (
        400,
        400,
        "INVALID_ARGUMENT",
    )
    assert rest["error"]["details"] == body["data"]


def test_version_not_supported() -> None:
    err = errors.VersionNotSupportedError(data={"version": "9.9", "supported": ["0.3", "1.0"]})
    body = render.rpc_error(err)
    assert body["code"] == -32009
    assert body["data"][0]["reason"] == "VERSION_NOT_SUPPORTED"
    assert body["data"][0]["metadata"] == {"version": "9.9", "supported": '["0.3","1.0"]'}
    status, rest = render.rest_error(err)
    assert (status, rest["error"]["status"]) == (400, "FAILED_PRECONDITION")


def test_error_metadata_is_flattened_to_strings() -> None:
    err = errors.InvalidParamsError(
        "too deep",
        data={"maxDepth": 64, "strict": True, "none": None, "nested": {"a": [1, "é"]}},
    )
    [info] = render.rpc_error(err)["data"]
    assert info["metadata"] == {
        "maxDepth": "64",
        "strict": "true",
        "none": "null",
        "nested": '{"a":[1,"é"]}',
    }
    [other] = render.rpc_error(errors.InternalError(data="boom"))["data"]
    assert other["metadata"] == {"data": "boom"}


def test_a_message_for_a_terminal_task_is_unsupported_operation_in_v1() -> None:
    err = errors.TaskTerminalError("Task t-1 is completed", data={"taskId": "t-1"})
    body = render.rpc_error(err)
    assert (body["code"], body["message"]) == (-32004, "Task t-1 is completed")
    assert body["data"][0]["reason"] == "UNSUPPORTED_OPERATION"
    status, rest = render.rest_error(err)
    assert (status, rest["error"]["status"]) == (400, "FAILED_PRECONDITION")


@pytest.mark.parametrize(
    ("err", "code", "http", "status"),
    [
        (errors.TaskNotFoundError(), -32001, 404, "NOT_FOUND"),
        (errors.TaskNotCancelableError(), -32002, 400, "FAILED_PRECONDITION"),
        (errors.PushNotificationNotSupportedError(), -32003, 400, "FAILED_PRECONDITION"),
        (errors.UnsupportedOperationError(), -32004, 400, "FAILED_PRECONDITION"),
        (errors.ContentTypeNotSupportedError(), -32005, 400, "INVALID_ARGUMENT"),
        (errors.InvalidAgentResponseError(), -32006, 500, "INTERNAL"),
        (errors.AuthenticatedExtendedCardNotConfiguredError(), -32007, 400, "FAILED_PRECONDITION"),
        (errors.ExtensionSupportRequiredError(), -32008, 400, "FAILED_PRECONDITION"),
        (errors.VersionNotSupportedError(), -32009, 400, "FAILED_PRECONDITION"),
        (errors.JSONParseError(), -32700, 400, "INVALID_ARGUMENT"),
        (errors.InvalidRequestError(), -32600, 400, "INVALID_ARGUMENT"),
        (errors.MethodNotFoundError(), -32601, 404, "NOT_FOUND"),
        (errors.InvalidParamsError(), -32602, 400, "INVALID_ARGUMENT"),
        (errors.InternalError(), -32603, 500, "INTERNAL"),
    ],
)
def test_error_mapping_follows_section_5_4(
    err: errors.RPCError, code: int, http: int, status: str
) -> None:
    body = render.rpc_error(err)
    assert body["code"] == code
    assert body["data"][0]["reason"] == err.reason
    got_http, rest = render.rest_error(err)
    assert (got_http, rest["error"]["code"], rest["error"]["status"]) == (http, http, status)


def test_unknown_reasons_take_their_status_from_http() -> None:
    class Throttled(errors.RPCError):
        code = -32050
        reason = "RATE_LIMITED"
        http_status = 429

    assert render.rest_error(Throttled())[1]["error"]["status"] == "RESOURCE_EXHAUSTED"

    class Odd(errors.RPCError):
        reason = "ODD"
        http_status = 418

    assert render.rest_error(Odd())[1]["error"]["status"] == "UNKNOWN"


def test_a_stored_event_is_rendered_once_for_every_stream() -> None:
    """1.0 streams of one task share the rendering of each event (small ones are cached)."""
    from a2a_gateway.gateway.protocol import v1
    from a2a_gateway.store.eventlog import Entry, status_event

    event = status_event("t-1", "c-1", TaskState.WORKING, None, False).model_dump_json(
        by_alias=True, exclude_none=True
    )
    entry = Entry("1-0", 1, event, False)
    before = v1._cached_event.cache_info()
    first, second = v1.stream_result(entry), v1.stream_result(entry)
    after = v1._cached_event.cache_info()
    assert first == second
    assert json.loads(first)["statusUpdate"]["status"]["state"] == "TASK_STATE_WORKING"
    assert after.hits - before.hits >= 1 and after.misses - before.misses <= 1
    text = "x" * v1.CACHED_EVENT_CHARS
    said = models.Message(message_id="m", role="agent", parts=[models.TextPart(text=text)])
    big = status_event("t-1", "c-1", TaskState.WORKING, said, False)
    big_entry = Entry("2-0", 2, big.model_dump_json(by_alias=True, exclude_none=True), False)
    size = v1._cached_event.cache_info().currsize
    rendered = json.loads(v1.stream_result(big_entry))["statusUpdate"]["status"]["message"]
    assert rendered["parts"] == [{"text": text}]
    assert v1._cached_event.cache_info().currsize == size  # too big to keep
