"""The A2A v0.2.5 objects the gateway reads and writes, as pydantic v2 models.

Field names follow the spec's camelCase on the wire (``by_alias``) and snake_case in
Python. Models validate what clients send; what the gateway emits is built from them
and serialised with ``dump``, which drops unset optional fields as the spec's examples do.

What a client can make the gateway store is bounded (``core.limits``): id lengths, parts
per message, list sizes, metadata size. An over-limit field fails validation with a
message that names the limit (-32602). Artifacts built up from appended chunks are not
capped in parts: agents make them, not clients.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from a2a_gateway.core.limits import (
    MAX_ID_LENGTH,
    MAX_LIST_ITEMS,
    MAX_MEDIA_TYPE_LENGTH,
    MAX_METADATA_BYTES,
    MAX_PARTS,
    MAX_URI_LENGTH,
)
from a2a_gateway.core.states import TaskState  # noqa: TC001 - pydantic needs it at run time


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    if size > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes as JSON, not {size}")
    return value


Id = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]
"""An id a client may send (possibly empty where the spec allows it)."""
RequiredId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH)]
Uri = Annotated[str, StringConstraints(max_length=MAX_URI_LENGTH)]
MediaType = Annotated[str, StringConstraints(max_length=MAX_MEDIA_TYPE_LENGTH)]
Metadata = Annotated[dict[str, Any], AfterValidator(_bounded_metadata)]
"""A ``metadata`` object: any JSON object up to ``MAX_METADATA_BYTES``."""


class A2AModel(BaseModel):
    """Base: camelCase aliases, population by either name, unknown fields ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The JSON-ready wire form."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class TextPart(A2AModel):
    kind: Literal["text"] = "text"
    text: str
    metadata: Metadata | None = None


class FileWithBytes(A2AModel):
    """File content inline (base64); ``uri`` must be absent (``extra`` is forbidden)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    bytes: str
    mime_type: MediaType | None = None
    name: str | None = None


class FileWithUri(A2AModel):
    """File content by reference; ``bytes`` must be absent (``extra`` is forbidden)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    uri: str
    mime_type: MediaType | None = None
    name: str | None = None


class FilePart(A2AModel):
    kind: Literal["file"] = "file"
    file: FileWithBytes | FileWithUri
    metadata: Metadata | None = None


class DataPart(A2AModel):
    kind: Literal["data"] = "data"
    data: dict[str, Any]
    metadata: Metadata | None = None


Part = Annotated[TextPart | FilePart | DataPart, Field(discriminator="kind")]


class Message(A2AModel):
    kind: Literal["message"] = "message"
    message_id: RequiredId
    role: Literal["user", "agent"]
    parts: list[Part] = Field(min_length=1, max_length=MAX_PARTS)
    task_id: Id | None = None
    context_id: Id | None = None
    reference_task_ids: list[Id] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    extensions: list[Uri] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    metadata: Metadata | None = None

    def text(self) -> str:
        """The concatenated text of the message's text parts."""
        return " ".join(p.text for p in self.parts if isinstance(p, TextPart))


class TaskStatus(A2AModel):
    state: TaskState
    message: Message | None = None
    timestamp: str | None = None


class Artifact(A2AModel):
    artifact_id: Id
    parts: list[Part]
    name: str | None = None
    description: str | None = None
    extensions: list[Uri] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    metadata: Metadata | None = None


class Task(A2AModel):
    kind: Literal["task"] = "task"
    id: Id
    context_id: Id
    status: TaskStatus
    history: list[Message] | None = None
    artifacts: list[Artifact] | None = None
    metadata: Metadata | None = None


class TaskStatusUpdateEvent(A2AModel):
    kind: Literal["status-update"] = "status-update"
    task_id: Id
    context_id: Id
    status: TaskStatus
    final: bool
    metadata: Metadata | None = None


class TaskArtifactUpdateEvent(A2AModel):
    kind: Literal["artifact-update"] = "artifact-update"
    task_id: Id
    context_id: Id
    artifact: Artifact
    append: bool | None = None
    last_chunk: bool | None = None
    metadata: Metadata | None = None


Event = Task | TaskStatusUpdateEvent | TaskArtifactUpdateEvent


class PushNotificationAuthenticationInfo(A2AModel):
    schemes: list[str] = Field(max_length=MAX_LIST_ITEMS)
    credentials: str | None = None


class PushNotificationConfig(A2AModel):
    url: Uri = Field(min_length=1)
    id: Id | None = None
    token: str | None = None
    authentication: PushNotificationAuthenticationInfo | None = None

    @model_validator(mode="after")
    def _http_url(self) -> PushNotificationConfig:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError("url must be an absolute http(s) URL")
        return self

    def public(self) -> PushNotificationConfig:
        """The config as a caller may read it back: without its ``token`` and the
        ``authentication`` credentials, which are stored for delivery only."""
        auth = self.authentication
        shown = auth.model_copy(update={"credentials": None}) if auth is not None else None
        return self.model_copy(update={"token": None, "authentication": shown})


class MessageSendConfiguration(A2AModel):
    accepted_output_modes: list[MediaType] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    blocking: bool | None = None
    history_length: int | None = Field(default=None, ge=0)
    push_notification_config: PushNotificationConfig | None = None


class MessageSendParams(A2AModel):
    message: Message
    configuration: MessageSendConfiguration | None = None
    metadata: Metadata | None = None

    @model_validator(mode="after")
    def _user_role(self) -> MessageSendParams:
        if self.message.role != "user":
            raise ValueError("message.role must be 'user' for a message sent to an agent")
        return self


class TaskIdParams(A2AModel):
    id: RequiredId
    metadata: Metadata | None = None


class TaskQueryParams(TaskIdParams):
    history_length: int | None = Field(default=None, ge=0)


class TaskPushNotificationConfig(A2AModel):
    task_id: RequiredId
    push_notification_config: PushNotificationConfig


class GetTaskPushNotificationConfigParams(TaskIdParams):
    push_notification_config_id: Id | None = None


class DeleteTaskPushNotificationConfigParams(TaskIdParams):
    push_notification_config_id: RequiredId


MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class ListTasksParams(A2AModel):
    """A query over the caller's tasks at one agent (A2A 1.0 ``ListTasks``; the protocol
    layer parses each version's form into this). ``page_token`` is the opaque cursor a
    previous page returned; ``status_timestamp_after`` keeps tasks updated after it."""

    context_id: Id | None = None
    status: TaskState | None = None
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_token: str | None = Field(default=None, max_length=512)
    history_length: int | None = Field(default=None, ge=0)
    status_timestamp_after: datetime | None = None
    include_artifacts: bool = False


def trim_history(task: Task, history_length: int | None) -> Task:
    """The task with at most ``history_length`` of its most recent messages (None keeps all)."""
    if history_length is None or task.history is None:
        return task
    kept = task.history[-history_length:] if history_length > 0 else []
    return task.model_copy(update={"history": kept})


def now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp, as status timestamps carry it."""
    return datetime.now(UTC).isoformat()
