"""A2A 0.2.5 and 0.3 over JSON-RPC: the methods and shapes the gateway was built with.

0.2.5 and 0.3 share method names and object shapes (``kind`` discriminators, kebab-case
states); a request without ``A2A-Version`` is served here whichever of the two its client
speaks, and so is one naming ``0.2`` or ``0.3``. Where 0.3 added something (the
``agent/getAuthenticatedExtendedCard`` method, the -32007 error, optional
``acceptedOutputModes``), a 0.2.5 client never asks for it, so one dialect serves both
(docs/compliance.md lists the differences). Stored events are in this dialect's shapes,
so stream items are framed as stored, without being parsed.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

from a2a_gateway.errors import (
    MethodNotFoundError,
    RPCError,
    VersionNotSupportedError,
)
from a2a_gateway.gateway.events import TaskSnapshot
from a2a_gateway.gateway.jsonrpc import validate
from a2a_gateway.gateway.protocol.base import (
    EXTENDED_CARD,
    Method,
    always,
    as_is,
    blocking,
    no_params,
    unanswered,
)
from a2a_gateway.models import (
    DeleteTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigParams,
    MessageSendParams,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from a2a_gateway.gateway.events import Entry

V1_METHODS = frozenset(
    {
        "SendMessage",
        "SendStreamingMessage",
        "GetTask",
        "ListTasks",
        "CancelTask",
        "SubscribeToTask",
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
        "GetExtendedAgentCard",
    }
)


def _dump(result: Any) -> Any:
    if result is None:
        return None
    if isinstance(result, list):
        return [r.dump() for r in result]
    return result.dump()


def _method(model: type[BaseModel], handler: str, **kw: Any) -> Method:
    return Method(partial(validate, model), handler, _dump, **kw)


class LegacyDialect:
    """A2A 0.2.5 and 0.3 JSON-RPC."""

    version = "0.3"
    resume_hint = "resume with tasks/resubscribe and Last-Event-ID"
    methods: dict[str, Method] = {
        "message/send": _method(MessageSendParams, "send", waits=blocking),
        "message/stream": _method(MessageSendParams, "stream", streaming=True),
        "tasks/get": _method(TaskQueryParams, "get"),
        "tasks/cancel": _method(TaskIdParams, "cancel", waits=always),
        "tasks/resubscribe": _method(TaskIdParams, "resubscribe", streaming=True),
        "tasks/pushNotificationConfig/set": _method(TaskPushNotificationConfig, "push_set"),
        "tasks/pushNotificationConfig/get": _method(
            GetTaskPushNotificationConfigParams, "push_get"
        ),
        "tasks/pushNotificationConfig/list": _method(TaskIdParams, "push_list"),
        "tasks/pushNotificationConfig/delete": _method(
            DeleteTaskPushNotificationConfigParams, "push_delete"
        ),
        # 0.3's JSON-RPC form of the extended card (answered by the gateway).
        "agent/getAuthenticatedExtendedCard": Method(
            no_params, EXTENDED_CARD, as_is, params_optional=True
        ),
    }
    # A notification gets no response (JSON-RPC 2.0 §4.1), so a method that would wait
    # for the task or stream it only does its side effect: message/send and message/stream
    # submit the message (answered 204 at once), resubscribe does nothing.
    notified: dict[str, Method | None] = {
        "message/send": Method(partial(validate, MessageSendParams), "submit", unanswered),
        "message/stream": Method(partial(validate, MessageSendParams), "submit", unanswered),
        "tasks/resubscribe": None,
    }

    def unknown_method(self, name: str) -> RPCError:
        if name in V1_METHODS:
            return VersionNotSupportedError(
                f"{name} is an A2A 1.0 method; send the header A2A-Version: 1.0 with it "
                "(a request without A2A-Version is served as 0.3)",
                data={"method": name, "version": "0.3"},
            )
        return MethodNotFoundError(data={"method": name})

    def error(self, err: RPCError) -> dict[str, Any]:
        return err.to_dict()

    def item(self, item: TaskSnapshot | Entry) -> str:
        if isinstance(item, TaskSnapshot):
            return json.dumps(item.task.dump(), separators=(",", ":"), ensure_ascii=False)
        return item.event


LEGACY = LegacyDialect()
