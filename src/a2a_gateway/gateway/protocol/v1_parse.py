"""A2A 1.0 requests (ProtoJSON) parsed into the one internal task model.

The counterpart of ``v1_render``: a 1.0 request becomes internal params, or is refused
with ``InvalidParamsError`` (-32602) naming the 1.0 field and the problem. Unknown fields
(§5.7) and ``tenant`` are ignored. Where 1.0 allows more than the internal model holds:

* a ``data`` part must hold a JSON object: 1.0 allows any JSON value, but 0.2.5 clients
  read the same tasks and their data parts can only hold objects;
* ``raw`` must be base64 (standard or URL-safe, padding optional, as ProtoJSON reads
  bytes); it is stored as standard padded base64;
* ``mediaType`` and ``filename`` on text and data parts are dropped (0.2.5 has no place
  for them);
* ``returnImmediately: true`` becomes ``blocking: false``; absent or false leaves
  ``blocking`` unset (blocking is the default in both versions);
* ``ListTaskPushNotificationConfigs`` paging is accepted and ignored (a task holds few
  configs: one page, ``nextPageToken`` "");
* empty strings count as absent (proto3 has no presence for plain strings); enums are
  accepted by name or number, int32 fields as numbers or decimal strings (ProtoJSON).

The result is always built through the internal models, so their limits (id lengths, part
counts, metadata size) hold; the 1.0 models check the same limits first, so that a refusal
names the 1.0 field.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from a2a_gateway import models
from a2a_gateway.core.limits import MAX_LIST_ITEMS, MAX_PARTS
from a2a_gateway.core.states import TaskState  # noqa: TC001 - pydantic needs it at run time
from a2a_gateway.errors import (
    InvalidParamsError,
)
from a2a_gateway.gateway.jsonrpc import explain, problems, validate
from a2a_gateway.gateway.protocol.v1_render import STATE_FROM_V1
from a2a_gateway.models import Id, MediaType, Metadata, RequiredId, Uri

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


_STATE_NUMBERS = {
    0: "TASK_STATE_UNSPECIFIED",
    1: "TASK_STATE_SUBMITTED",
    2: "TASK_STATE_WORKING",
    3: "TASK_STATE_COMPLETED",
    4: "TASK_STATE_FAILED",
    5: "TASK_STATE_CANCELED",
    6: "TASK_STATE_INPUT_REQUIRED",
    7: "TASK_STATE_REJECTED",
    8: "TASK_STATE_AUTH_REQUIRED",
}
"""The proto numbers of ``TaskState``, which ProtoJSON also accepts for the name."""
_ROLE_NUMBERS = {0: "ROLE_UNSPECIFIED", 1: "ROLE_USER", 2: "ROLE_AGENT"}
_DECIMAL = re.compile(r"-?[0-9]+")


# --- inbound: 1.0 → internal -------------------------------------------------------------


def _proto_int(value: Any) -> Any:
    """ProtoJSON reads an int32 from a number or a decimal string."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _enum(numbers: dict[int, str]) -> Callable[[Any], Any]:
    """ProtoJSON reads an enum from its name or its number."""

    def by_name(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return numbers.get(value, value)
        return value

    return by_name


def _none_if_empty(value: Any) -> Any:
    return None if value == "" else value


def _state_filter(value: Any) -> TaskState | None:
    name = _enum(_STATE_NUMBERS)(value)
    if name is None or name == "TASK_STATE_UNSPECIFIED":
        return None
    if isinstance(name, str) and name in STATE_FROM_V1:
        return STATE_FROM_V1[name]
    raise PydanticCustomError(
        "enum", "must be one of {names}", {"names": ", ".join(_STATE_NUMBERS.values())}
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso_text(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise PydanticCustomError("timestamp", "must be an ISO 8601 timestamp string")
    return value


Int32 = Annotated[int, Strict(), Field(ge=-(2**31), le=2**31 - 1), BeforeValidator(_proto_int)]
OptionalId = Annotated[Id | None, BeforeValidator(_none_if_empty)]
Role = Annotated[Literal["ROLE_USER", "ROLE_AGENT"], BeforeValidator(_enum(_ROLE_NUMBERS))]
Timestamp = Annotated[datetime, AfterValidator(_utc), BeforeValidator(_iso_text)]


class V1Model(BaseModel):
    """Base of the 1.0 request shapes: camelCase (proto names also read, as ProtoJSON
    does), unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class V1Part(V1Model):
    text: str | None = None
    raw: str | None = None
    url: str | None = None
    data: Any = None
    metadata: Metadata | None = None
    filename: str | None = None
    media_type: MediaType | None = None

    @field_validator("raw")
    @classmethod
    def _base64(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.replace("-", "+").replace("_", "/")
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError("base64", "raw must be base64-encoded bytes") from None
        return base64.b64encode(decoded).decode("ascii")

    @model_validator(mode="after")
    def _one_content(self) -> V1Part:
        given = [
            name
            for name in ("text", "raw", "url", "data")
            if name in self.model_fields_set and (name == "data" or getattr(self, name) is not None)
        ]
        if len(given) != 1:
            raise PydanticCustomError(
                "part_content",
                "a part must have exactly one of text, raw, url or data, not {given}",
                {"given": " and ".join(given) or "none"},
            )
        if given == ["data"] and not isinstance(self.data, dict):
            raise PydanticCustomError(
                "part_data",
                "data must be a JSON object: data parts must be objects on this gateway "
                "so that clients of every A2A version can read them",
            )
        return self

    def internal(self) -> models.TextPart | models.FilePart | models.DataPart:
        if self.text is not None:
            return models.TextPart(text=self.text, metadata=self.metadata)
        if self.raw is not None or self.url is not None:
            file = (
                models.FileWithBytes(bytes=self.raw, mime_type=self.media_type, name=self.filename)
                if self.raw is not None
                else models.FileWithUri(
                    uri=self.url or "", mime_type=self.media_type, name=self.filename
                )
            )
            return models.FilePart(file=file, metadata=self.metadata)
        return models.DataPart(data=self.data, metadata=self.metadata)


class V1Message(V1Model):
    message_id: RequiredId
    context_id: OptionalId = None
    task_id: OptionalId = None
    role: Role
    parts: list[V1Part] = Field(min_length=1, max_length=MAX_PARTS)
    metadata: Metadata | None = None
    extensions: list[Uri] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    reference_task_ids: list[Id] | None = Field(default=None, max_length=MAX_LIST_ITEMS)

    def internal(self) -> models.Message:
        return models.Message(
            message_id=self.message_id,
            role="user" if self.role == "ROLE_USER" else "agent",
            parts=[p.internal() for p in self.parts],
            task_id=self.task_id,
            context_id=self.context_id,
            reference_task_ids=self.reference_task_ids or None,
            extensions=self.extensions or None,
            metadata=self.metadata,
        )


class V1AuthenticationInfo(V1Model):
    scheme: str = Field(min_length=1)
    credentials: str | None = None


class V1TaskPushNotificationConfig(V1Model):
    """A 1.0 ``TaskPushNotificationConfig``; ``taskId`` is optional here, as inside
    ``SendMessageConfiguration`` (the task does not exist yet)."""

    id: OptionalId = None
    task_id: OptionalId = None
    url: Uri = Field(min_length=1)
    token: str | None = None
    authentication: V1AuthenticationInfo | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise PydanticCustomError("url", "url must be an absolute http(s) URL")
        return value

    def internal(self) -> models.PushNotificationConfig:
        auth = self.authentication
        return models.PushNotificationConfig(
            url=self.url,
            id=self.id,
            token=self.token or None,
            authentication=None
            if auth is None
            else models.PushNotificationAuthenticationInfo(
                schemes=[auth.scheme], credentials=auth.credentials or None
            ),
        )


class V1SendMessageConfiguration(V1Model):
    accepted_output_modes: list[MediaType] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    task_push_notification_config: V1TaskPushNotificationConfig | None = None
    history_length: Int32 | None = Field(default=None, ge=0)
    return_immediately: StrictBool | None = None

    def internal(self) -> models.MessageSendConfiguration:
        push = self.task_push_notification_config
        return models.MessageSendConfiguration(
            accepted_output_modes=self.accepted_output_modes or None,
            blocking=False if self.return_immediately else None,
            history_length=self.history_length,
            push_notification_config=push.internal() if push is not None else None,
        )


class V1SendMessageRequest(V1Model):
    message: V1Message
    configuration: V1SendMessageConfiguration | None = None
    metadata: Metadata | None = None

    def internal(self) -> models.MessageSendParams:
        return models.MessageSendParams(
            message=self.message.internal(),
            configuration=self.configuration.internal() if self.configuration else None,
            metadata=self.metadata,
        )


class V1GetTaskRequest(V1Model):
    id: RequiredId
    history_length: Int32 | None = Field(default=None, ge=0)

    def internal(self) -> models.TaskQueryParams:
        return models.TaskQueryParams(id=self.id, history_length=self.history_length)


class V1CancelTaskRequest(V1Model):
    id: RequiredId
    metadata: Metadata | None = None

    def internal(self) -> models.TaskIdParams:
        return models.TaskIdParams(id=self.id, metadata=self.metadata)


class V1SubscribeToTaskRequest(V1Model):
    id: RequiredId

    def internal(self) -> models.TaskIdParams:
        return models.TaskIdParams(id=self.id)


class V1ListTasksRequest(V1Model):
    context_id: OptionalId = None
    status: Annotated[TaskState | None, BeforeValidator(_state_filter)] = None
    page_size: Int32 | None = Field(default=None, ge=1, le=models.MAX_PAGE_SIZE)
    page_token: Annotated[str | None, BeforeValidator(_none_if_empty)] = Field(
        default=None, max_length=512
    )
    history_length: Int32 | None = Field(default=None, ge=0)
    status_timestamp_after: Timestamp | None = None
    include_artifacts: StrictBool | None = None

    def internal(self) -> models.ListTasksParams:
        return models.ListTasksParams(
            context_id=self.context_id,
            status=self.status,
            page_size=self.page_size or models.DEFAULT_PAGE_SIZE,
            page_token=self.page_token,
            history_length=self.history_length,
            status_timestamp_after=self.status_timestamp_after,
            include_artifacts=bool(self.include_artifacts),
        )


class V1CreatePushConfigRequest(V1TaskPushNotificationConfig):
    task_id: RequiredId  # required when creating one

    def internal_params(self) -> models.TaskPushNotificationConfig:
        return models.TaskPushNotificationConfig(
            task_id=self.task_id, push_notification_config=self.internal()
        )


class V1PushConfigRequest(V1Model):
    """``GetTaskPushNotificationConfigRequest`` and ``DeleteTaskPushNotificationConfigRequest``."""

    task_id: RequiredId
    id: RequiredId


class V1ListPushConfigsRequest(V1Model):
    task_id: RequiredId
    page_size: Int32 | None = Field(default=None, ge=0)
    page_token: str | None = None


def _validate(model: type[M], params: Any) -> M:
    """``params`` as the 1.0 request ``model``; -32602 naming the field otherwise."""
    if not isinstance(params, dict):
        problem = "must be a JSON object"
        raise InvalidParamsError(
            f"Invalid params: params: {problem}",
            data={"errors": [{"field": "params", "problem": problem}]},
        )
    return validate(model, params)


def _internal(build: Callable[[], T]) -> T:
    """Build the internal model; a limit only it enforces is still a -32602."""
    try:
        return build()
    except ValidationError as exc:
        raise InvalidParamsError(explain(exc), data={"errors": problems(exc)}) from None


def parse_send(params: Any) -> models.MessageSendParams:
    """``SendMessageRequest`` → ``MessageSendParams`` (the message must be ``ROLE_USER``)."""
    request = _validate(V1SendMessageRequest, params)
    if request.message.role != "ROLE_USER":
        problem = "must be ROLE_USER for a message sent to an agent"
        raise InvalidParamsError(
            f"Invalid params: message.role: {problem}",
            data={"errors": [{"field": "message.role", "problem": problem}]},
        )
    return _internal(request.internal)


def parse_get(params: Any) -> models.TaskQueryParams:
    """``GetTaskRequest`` → ``TaskQueryParams``."""
    return _internal(_validate(V1GetTaskRequest, params).internal)


def parse_cancel(params: Any) -> models.TaskIdParams:
    """``CancelTaskRequest`` → ``TaskIdParams``."""
    return _internal(_validate(V1CancelTaskRequest, params).internal)


def parse_subscribe(params: Any) -> models.TaskIdParams:
    """``SubscribeToTaskRequest`` → ``TaskIdParams``."""
    return _internal(_validate(V1SubscribeToTaskRequest, params).internal)


def parse_list(params: Any) -> models.ListTasksParams:
    """``ListTasksRequest`` → ``ListTasksParams`` (``TASK_STATE_UNSPECIFIED``: no filter)."""
    return _internal(_validate(V1ListTasksRequest, params).internal)


def parse_push_create(params: Any) -> models.TaskPushNotificationConfig:
    """A 1.0 ``TaskPushNotificationConfig`` (with ``taskId``) → the internal one."""
    return _internal(_validate(V1CreatePushConfigRequest, params).internal_params)


def parse_push_get(params: Any) -> models.GetTaskPushNotificationConfigParams:
    """``GetTaskPushNotificationConfigRequest`` → ``GetTaskPushNotificationConfigParams``."""
    request = _validate(V1PushConfigRequest, params)
    return _internal(
        lambda: models.GetTaskPushNotificationConfigParams(
            id=request.task_id, push_notification_config_id=request.id
        )
    )


def parse_push_list(params: Any) -> models.TaskIdParams:
    """``ListTaskPushNotificationConfigsRequest`` → ``TaskIdParams`` (paging ignored)."""
    request = _validate(V1ListPushConfigsRequest, params)
    return _internal(lambda: models.TaskIdParams(id=request.task_id))


def parse_push_delete(params: Any) -> models.DeleteTaskPushNotificationConfigParams:
    """``DeleteTaskPushNotificationConfigRequest`` → ``DeleteTaskPushNotificationConfigParams``."""
    request = _validate(V1PushConfigRequest, params)
    return _internal(
        lambda: models.DeleteTaskPushNotificationConfigParams(
            id=request.task_id, push_notification_config_id=request.id
        )
    )


# --- HTTP+JSON query strings (§11.5) -----------------------------------------------------

_LIST_QUERY = frozenset(
    {
        "contextId",
        "status",
        "pageSize",
        "pageToken",
        "historyLength",
        "statusTimestampAfter",
        "includeArtifacts",
        "tenant",
    }
)
_QUERY_INTS = frozenset({"pageSize", "historyLength"})
_QUERY_BOOLS = frozenset({"includeArtifacts"})


def _from_query(query: Mapping[str, str], fields: frozenset[str]) -> dict[str, Any]:
    """The named query parameters as a params dict: ``true``/``false`` as booleans,
    decimal numbers as ints, empty values as absent; anything else is left as text for the
    request model to refuse by name."""
    params: dict[str, Any] = {}
    for name, value in query.items():
        if name not in fields or value == "":
            continue
        if name in _QUERY_BOOLS and value.lower() in ("true", "false"):
            params[name] = value.lower() == "true"
        elif name in _QUERY_INTS and _DECIMAL.fullmatch(value):
            params[name] = int(value)
        else:
            params[name] = value
    return params


def list_query(query: Mapping[str, str]) -> dict[str, Any]:
    """``GET /tasks?…`` query parameters as ``ListTasks`` params for ``parse_list``."""
    return _from_query(query, _LIST_QUERY)


def get_query(query: Mapping[str, str]) -> dict[str, Any]:
    """``GET /tasks/{id}?historyLength=`` query parameters as ``GetTask`` params (without
    ``id``, which the path carries)."""
    return _from_query(query, frozenset({"historyLength"}))
