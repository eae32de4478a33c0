"""A2A 1.0 JSON shapes (ProtoJSON) rendered from the one internal task model, and 1.0 errors.

The gateway keeps one model, the 0.2.5 shapes in ``a2a_gateway.models``; this module and
``v1_parse`` are the only places that know the 1.0 JSON form (spec §4, §5.5-5.6, §9.5,
§11.4-11.6): camelCase fields, enums as ``TASK_STATE_*`` / ``ROLE_*`` names, no ``kind``
discriminators, one ``Part`` with exactly one of ``text`` / ``raw`` / ``url`` / ``data``,
timestamps as ``YYYY-MM-DDTHH:mm:ss.sssZ``. Pure functions, no I/O.

Rendering (internal → 1.0 dict) drops absent fields and approximates where 1.0 differs:

* the 0.2.5 ``final`` flag of a status update is dropped (1.0 closes the stream instead);
* 0.2.5 ``unknown`` renders as ``TASK_STATE_UNSPECIFIED`` (1.0 has no unknown state);
* a push config's authentication renders its first scheme only (1.0 has one ``scheme``);
  one with no scheme at all is omitted, since 1.0 requires ``scheme``;
* an empty ``history`` is omitted (§3.2.4); an empty ``artifacts`` list is kept (§3.1.4);
* a stored timestamp that is not ISO 8601 is omitted rather than sent unparseable.

Errors render as JSON-RPC error objects whose ``data`` lists ``google.rpc.ErrorInfo`` (and
``BadRequest`` field violations), or as ``google.rpc.Status`` bodies for HTTP+JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
)

from a2a_gateway import models
from a2a_gateway.core.states import TaskState
from a2a_gateway.errors import (
    InvalidParamsError,
    RPCError,
    TaskTerminalError,
    UnsupportedOperationError,
)

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

STATE_TO_V1: dict[TaskState, str] = {
    state: f"TASK_STATE_{state.name}" for state in TaskState if state is not TaskState.UNKNOWN
} | {TaskState.UNKNOWN: "TASK_STATE_UNSPECIFIED"}
"""Internal state → 1.0 ``TaskState`` name; 0.2.5 ``unknown`` has no 1.0 state."""
STATE_FROM_V1: dict[str, TaskState] = {name: state for state, name in STATE_TO_V1.items()}
"""The inverse of ``STATE_TO_V1``. ``TASK_STATE_UNSPECIFIED`` maps to ``unknown`` here; as a
``ListTasks`` filter it means no filter instead (``parse_list``)."""


# --- outbound: internal → 1.0 ------------------------------------------------------------


def timestamp(value: str | None) -> str | None:
    """A stored ISO 8601 timestamp as ``YYYY-MM-DDTHH:mm:ss.sssZ`` (UTC, milliseconds,
    truncated); a naive one is taken as UTC; None for None or for text that is not ISO 8601."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _part(p: models.TextPart | models.FilePart | models.DataPart) -> dict[str, Any]:
    if isinstance(p, models.TextPart):
        return _present(text=p.text, metadata=p.metadata)
    if isinstance(p, models.DataPart):
        return _present(data=p.data, metadata=p.metadata)
    file = p.file
    content = {"raw": file.bytes} if isinstance(file, models.FileWithBytes) else {"url": file.uri}
    return content | _present(mediaType=file.mime_type, filename=file.name, metadata=p.metadata)


def message(m: models.Message) -> dict[str, Any]:
    """A 1.0 ``Message``."""
    return _present(
        messageId=m.message_id,
        contextId=m.context_id,
        taskId=m.task_id,
        role="ROLE_USER" if m.role == "user" else "ROLE_AGENT",
        parts=[_part(p) for p in m.parts],
        metadata=m.metadata,
        extensions=m.extensions,
        referenceTaskIds=m.reference_task_ids,
    )


def artifact(a: models.Artifact) -> dict[str, Any]:
    """A 1.0 ``Artifact``."""
    return _present(
        artifactId=a.artifact_id,
        name=a.name,
        description=a.description,
        parts=[_part(p) for p in a.parts],
        metadata=a.metadata,
        extensions=a.extensions,
    )


def _status(s: models.TaskStatus) -> dict[str, Any]:
    return _present(
        state=STATE_TO_V1[s.state],
        message=message(s.message) if s.message is not None else None,
        timestamp=timestamp(s.timestamp),
    )


def task(t: models.Task) -> dict[str, Any]:
    """A 1.0 ``Task``: ``artifacts`` only when the task carries a list (even empty),
    ``history`` only when it holds messages."""
    return _present(
        id=t.id,
        contextId=t.context_id,
        status=_status(t.status),
        artifacts=[artifact(a) for a in t.artifacts] if t.artifacts is not None else None,
        history=[message(m) for m in t.history] if t.history else None,
        metadata=t.metadata,
    )


def send_result(t: models.Task) -> dict[str, Any]:
    """A ``SendMessageResponse`` holding the task."""
    return {"task": task(t)}


def stream_event(event: dict[str, Any]) -> dict[str, Any]:
    """A stored 0.2.5 event dict (``kind`` task, status-update, artifact-update or message)
    as a 1.0 ``StreamResponse``; ``final`` is dropped. Raises ``ValueError`` (pydantic's
    ``ValidationError`` included) for a dict that is not such an event."""
    kind = event.get("kind")
    if kind == "task":
        return {"task": task(models.Task.model_validate(event))}
    if kind == "status-update":
        status = models.TaskStatusUpdateEvent.model_validate(event)
        return {
            "statusUpdate": _present(
                taskId=status.task_id,
                contextId=status.context_id,
                status=_status(status.status),
                metadata=status.metadata,
            )
        }
    if kind == "artifact-update":
        update = models.TaskArtifactUpdateEvent.model_validate(event)
        return {
            "artifactUpdate": _present(
                taskId=update.task_id,
                contextId=update.context_id,
                artifact=artifact(update.artifact),
                append=update.append,
                lastChunk=update.last_chunk,
                metadata=update.metadata,
            )
        }
    if kind == "message":
        return {"message": message(models.Message.model_validate(event))}
    raise ValueError(f"not a stored event: kind {kind!r}")


def push_config(task_id: str, config: models.PushNotificationConfig) -> dict[str, Any]:
    """A 1.0 ``TaskPushNotificationConfig`` (flat; the first authentication scheme)."""
    auth = config.authentication
    authentication = None
    if auth is not None and auth.schemes:
        authentication = _present(scheme=auth.schemes[0], credentials=auth.credentials)
    return _present(
        id=config.id,
        taskId=task_id,
        url=config.url,
        token=config.token,
        authentication=authentication,
    )


def push_config_list(task_id: str, configs: list[models.PushNotificationConfig]) -> dict[str, Any]:
    """A ``ListTaskPushNotificationConfigsResponse``: all of them, on one page."""
    return {"configs": [push_config(task_id, c) for c in configs], "nextPageToken": ""}


def task_page(
    tasks: list[models.Task], next_page_token: str, page_size: int, total_size: int
) -> dict[str, Any]:
    """A ``ListTasksResponse``; ``nextPageToken`` is "" on the last page (§3.1.4)."""
    return {
        "tasks": [task(t) for t in tasks],
        "nextPageToken": next_page_token,
        "pageSize": page_size,
        "totalSize": total_size,
    }


# --- errors ------------------------------------------------------------------------------

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
ERROR_DOMAIN = "a2a-protocol.org"

_STATUS_BY_REASON = {
    "TASK_NOT_FOUND": "NOT_FOUND",
    "TASK_NOT_CANCELABLE": "FAILED_PRECONDITION",
    "PUSH_NOTIFICATION_NOT_SUPPORTED": "FAILED_PRECONDITION",
    "UNSUPPORTED_OPERATION": "FAILED_PRECONDITION",
    "CONTENT_TYPE_NOT_SUPPORTED": "INVALID_ARGUMENT",
    "INVALID_AGENT_RESPONSE": "INTERNAL",
    "EXTENDED_AGENT_CARD_NOT_CONFIGURED": "FAILED_PRECONDITION",
    "EXTENSION_SUPPORT_REQUIRED": "FAILED_PRECONDITION",
    "VERSION_NOT_SUPPORTED": "FAILED_PRECONDITION",
    "PARSE_ERROR": "INVALID_ARGUMENT",
    "INVALID_REQUEST": "INVALID_ARGUMENT",
    "INVALID_ARGUMENT": "INVALID_ARGUMENT",
    "METHOD_NOT_FOUND": "NOT_FOUND",
    "INTERNAL": "INTERNAL",
}
"""gRPC status names of §5.4 by ErrorInfo reason; other reasons go by HTTP status."""
_STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def as_v1(err: RPCError) -> RPCError:
    """The error as 1.0 names it: a message for a terminal task is UnsupportedOperation."""
    if isinstance(err, TaskTerminalError):
        return UnsupportedOperationError(err.message, data=err.data)
    return err


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _details(err: RPCError) -> list[dict[str, Any]]:
    data = err.data
    violations = None
    if isinstance(err, InvalidParamsError) and isinstance(data, dict):
        listed = data.get("errors")
        if isinstance(listed, list):
            violations = [
                {"field": _text(e.get("field", "")), "description": _text(e.get("problem", ""))}
                for e in listed
                if isinstance(e, dict)
            ]
    if isinstance(data, dict):
        skip = "errors" if violations is not None else None
        metadata = {str(k): _text(v) for k, v in data.items() if k != skip}
    else:
        metadata = {} if data is None else {"data": _text(data)}
    details: list[dict[str, Any]] = [
        {
            "@type": ERROR_INFO_TYPE,
            "reason": err.reason,
            "domain": ERROR_DOMAIN,
            "metadata": metadata,
        }
    ]
    if violations is not None:
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": violations})
    return details


def rpc_error(err: RPCError) -> dict[str, Any]:
    """The JSON-RPC ``error`` object (§9.5): ``data`` is a list of ProtoJSON ``Any``
    details, an ``ErrorInfo`` always and a ``BadRequest`` for field-level problems."""
    err = as_v1(err)
    return {"code": err.code, "message": err.message, "data": _details(err)}


def rest_error(err: RPCError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and ``google.rpc.Status`` body of the HTTP+JSON binding (§11.6)."""
    err = as_v1(err)
    status = _STATUS_BY_REASON.get(err.reason) or _STATUS_BY_HTTP.get(err.http_status, "UNKNOWN")
    body = {
        "code": err.http_status,
        "status": status,
        "message": err.message,
        "details": _details(err),
    }
    return err.http_status, {"error": body}
