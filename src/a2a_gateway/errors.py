"""JSON-RPC 2.0 and A2A error codes (spec §8) as exceptions the gateway can raise anywhere.

A handler raises; the JSON-RPC layer turns the exception into an error response with the
request's id. ``data`` is for a person reading it: never a stack trace or a server detail.
"""

from __future__ import annotations

from typing import Any


class RPCError(Exception):
    """A JSON-RPC error response waiting to happen."""

    code: int = -32603
    default_message: str = "Internal error"

    def __init__(self, message: str | None = None, data: Any = None) -> None:
        self.message = message or self.default_message
        self.data = data
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class JSONParseError(RPCError):
    code = -32700
    default_message = "Invalid JSON payload"


class InvalidRequestError(RPCError):
    code = -32600
    default_message = "Request payload validation error"


class MethodNotFoundError(RPCError):
    code = -32601
    default_message = "Method not found"


class InvalidParamsError(RPCError):
    code = -32602
    default_message = "Invalid parameters"


class InternalError(RPCError):
    code = -32603
    default_message = "Internal error"


class TaskNotFoundError(RPCError):
    code = -32001
    default_message = "Task not found"


class TaskNotCancelableError(RPCError):
    code = -32002
    default_message = "Task cannot be canceled"


class PushNotificationNotSupportedError(RPCError):
    code = -32003
    default_message = "Push Notification is not supported"


class UnsupportedOperationError(RPCError):
    code = -32004
    default_message = "This operation is not supported"


class ContentTypeNotSupportedError(RPCError):
    code = -32005
    default_message = "Incompatible content types"


class InvalidAgentResponseError(RPCError):
    code = -32006
    default_message = "Invalid agent response"


class AuthenticatedExtendedCardNotConfiguredError(RPCError):
    """A2A 0.3's code for ``agent/getAuthenticatedExtendedCard`` without authentication."""

    code = -32007
    default_message = "Authenticated Extended Card is not configured"
