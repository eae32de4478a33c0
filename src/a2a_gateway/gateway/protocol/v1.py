"""A2A 1.0 over JSON-RPC (§9): PascalCase methods, ProtoJSON shapes, errors with details.

Requests are parsed into the internal model by ``v1_parse``; results and stream items
are rendered from it. Streams carry ``StreamResponse`` objects (``{"task": …}``,
``{"statusUpdate": …}``, ``{"artifactUpdate": …}``) with the Redis entry id as the SSE
``id``, so ``SubscribeToTask`` with ``Last-Event-ID`` resumes exactly as 0.2.5's
``tasks/resubscribe`` does. Errors carry a ``google.rpc.ErrorInfo`` (and a
``google.rpc.BadRequest`` for invalid params) in ``data``, with the 1.0 codes (§5.4).
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from a2a_gateway.errors import (
    MethodNotFoundError,
    RPCError,
)
from a2a_gateway.gateway.events import TaskSnapshot
from a2a_gateway.gateway.protocol import v1_parse, v1_render
from a2a_gateway.gateway.protocol.base import (
    EXTENDED_CARD,
    Method,
    always,
    as_is,
    blocking,
    no_params,
    unanswered,
)

if TYPE_CHECKING:
    from a2a_gateway.gateway.events import Entry
    from a2a_gateway.gateway.service import TaskPage
    from a2a_gateway.models import Task, TaskPushNotificationConfig

VERSION = "1.0"


def _push(result: TaskPushNotificationConfig) -> dict[str, Any]:
    return v1_render.push_config(result.task_id, result.push_notification_config)


def _push_list(result: list[TaskPushNotificationConfig]) -> dict[str, Any]:
    return {"configs": [_push(r) for r in result], "nextPageToken": ""}


def _page(page: TaskPage) -> dict[str, Any]:
    return v1_render.task_page(page.tasks, page.next_page_token, page.page_size, page.total_size)


def _empty(result: None) -> dict[str, Any]:
    return {}


def _send_result(task: Task) -> dict[str, Any]:
    return v1_render.send_result(task)


METHODS: dict[str, Method] = {
    "SendMessage": Method(v1_parse.parse_send, "send", _send_result, waits=blocking),
    "SendStreamingMessage": Method(v1_parse.parse_send, "stream", _send_result, streaming=True),
    "GetTask": Method(v1_parse.parse_get, "get", v1_render.task),
    "ListTasks": Method(v1_parse.parse_list, "list_tasks", _page),
    "CancelTask": Method(v1_parse.parse_cancel, "cancel", v1_render.task, waits=always),
    "SubscribeToTask": Method(
        v1_parse.parse_subscribe, "resubscribe", v1_render.task, streaming=True
    ),
    "CreateTaskPushNotificationConfig": Method(v1_parse.parse_push_create, "push_set", _push),
    "GetTaskPushNotificationConfig": Method(v1_parse.parse_push_get, "push_get", _push),
    "ListTaskPushNotificationConfigs": Method(v1_parse.parse_push_list, "push_list", _push_list),
    "DeleteTaskPushNotificationConfig": Method(v1_parse.parse_push_delete, "push_delete", _empty),
    "GetExtendedAgentCard": Method(no_params, EXTENDED_CARD, as_is, params_optional=True),
}


def stream_result(item: TaskSnapshot | Entry) -> str:
    """A stream item as a 1.0 ``StreamResponse`` (JSON)."""
    if isinstance(item, TaskSnapshot):
        return _compact({"task": v1_render.task(item.task)})
    if len(item.event) <= CACHED_EVENT_CHARS:
        return _cached_event(item.event)
    return _logged_event(item.event)


def _logged_event(stored: str) -> str:
    """A stored event (the internal model's JSON) as a 1.0 ``StreamResponse``."""
    return _compact(v1_render.stream_event(json.loads(stored)))


# Every 1.0 subscriber of a task is handed the same entries, so an event is parsed,
# validated and rendered once per process, not once per stream. Bounded: at most
# CACHED_EVENTS events of at most CACHED_EVENT_CHARS each (big artifact chunks are not kept).
CACHED_EVENTS = 512
CACHED_EVENT_CHARS = 16_384
_cached_event = functools.lru_cache(maxsize=CACHED_EVENTS)(_logged_event)


def _compact(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class V1Dialect:
    """A2A 1.0 JSON-RPC."""

    version = VERSION
    resume_hint = "resume with SubscribeToTask and Last-Event-ID"
    methods = METHODS
    # As a notification, sending only submits; subscribing does nothing.
    notified: dict[str, Method | None] = {
        "SendMessage": Method(v1_parse.parse_send, "submit", unanswered),
        "SendStreamingMessage": Method(v1_parse.parse_send, "submit", unanswered),
        "SubscribeToTask": None,
    }

    def unknown_method(self, name: str) -> RPCError:
        hint = " (an A2A 0.2.5/0.3 method: send it without A2A-Version)" if "/" in name else ""
        return MethodNotFoundError(f"Method not found: {name}{hint}", data={"method": name})

    def error(self, err: RPCError) -> dict[str, Any]:
        return v1_render.rpc_error(err)

    def item(self, item: TaskSnapshot | Entry) -> str:
        return stream_result(item)


V1 = V1Dialect()
