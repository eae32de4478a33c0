"""JSON-RPC 2.0 and A2A error codes as exceptions the gateway can raise anywhere.

A handler raises; the protocol layer of the caller's version renders the exception: its
JSON-RPC ``code`` (0.2.5 §8, 1.0 §5.4), its 1.0 ``reason`` (the ``google.rpc.ErrorInfo``
reason, 1.0 §11.6) and its HTTP status for the HTTP+JSON binding. ``data`` is for a person
reading it: never a stack trace or a server detail.
"""

from __future__ import annotations

from typing import Any


class RPCError(Exception):
    """A JSON-RPC error response waiting to happen."""

    code: int = -32603
    default_message: str = "Internal error"
    reason: str = "INTERNAL"
    http_status: int = 500

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
    reason = "PARSE_ERROR"
    http_status = 400


class InvalidRequestError(RPCError):
    code = -32600
    default_message = "Request payload validation error"
    reason = "INVALID_REQUEST"
    http_status = 400


class MethodNotFoundError(RPCError):
    code = -32601
    default_message = "Method not found"
    reason = "METHOD_NOT_FOUND"
    http_status = 404


class InvalidParamsError(RPCError):
    code = -32602
    default_message = "Invalid parameters"
    reason = "INVALID_ARGUMENT"
    http_status = 400


class TaskTerminalError(InvalidParamsError):
    """A message for a task in a terminal state: invalid params in 0.2.5 and 0.3 (the task
    can take no message), ``UnsupportedOperationError`` in 1.0 (§3.1.1), which the 1.0
    adapter renders it as."""


class InternalError(RPCError):
    code = -32603
    default_message = "Internal error"
    reason = "INTERNAL"
    http_status = 500


class UnavailableError(InternalError):
    """This instance cannot take the request now (full or draining): -32603 with HTTP 503
    and ``Retry-After``; another instance may have room."""

    reason = "UNAVAILABLE"
    http_status = 503


class TaskNotFoundError(RPCError):
    code = -32001
    default_message = "Task not found"
    reason = "TASK_NOT_FOUND"
    http_status = 404


class TaskNotCancelableError(RPCError):
    code = -32002
    default_message = "Task cannot be canceled"
    reason = "TASK_NOT_CANCELABLE"
    http_status = 400


class PushNotificationNotSupportedError(RPCError):
    code = -32003
    default_message = "Push Notification is not supported"
    reason = "PUSH_NOTIFICATION_NOT_SUPPORTED"
    http_status = 400


class UnsupportedOperationError(RPCError):
    code = -32004
    default_message = "This operation is not supported"
    reason = "UNSUPPORTED_OPERATION"
    http_status = 400


class ContentTypeNotSupportedError(RPCError):
    code = -32005
    default_message = "Incompatible content types"
    reason = "CONTENT_TYPE_NOT_SUPPORTED"
    http_status = 400


class InvalidAgentResponseError(RPCError):
    code = -32006
    default_message = "Invalid agent response"
    reason = "INVALID_AGENT_RESPONSE"
    http_status = 500


class AuthenticatedExtendedCardNotConfiguredError(RPCError):
    """A2A 0.3's code for ``agent/getAuthenticatedExtendedCard`` without authentication."""

    code = -32007
    default_message = "Authenticated Extended Card is not configured"
    reason = "EXTENDED_AGENT_CARD_NOT_CONFIGURED"
    http_status = 400


class ExtensionSupportRequiredError(RPCError):
    """A2A 1.0: a required extension the client did not declare."""

    code = -32008
    default_message = "Extension support required"
    reason = "EXTENSION_SUPPORT_REQUIRED"
    http_status = 400


class VersionNotSupportedError(RPCError):
    """A2A 1.0 §3.6.2: the ``A2A-Version`` the request names is not served here."""

    code = -32009
    default_message = "A2A protocol version not supported"
    reason = "VERSION_NOT_SUPPORTED"
    http_status = 400


class UnauthenticatedError(RPCError):
    """Missing or invalid credentials: HTTP 401 with ``WWW-Authenticate``. The message
    says what is wrong with the credential, never whether a task exists."""

    code = -32000
    default_message = "Authentication required"
    reason = "UNAUTHENTICATED"
    http_status = 401


class AuthUnavailableError(RPCError):
    """Credentials cannot be checked right now (the issuer's keys cannot be fetched):
    HTTP 503 with ``Retry-After``."""

    code = -32000
    default_message = "Authentication is unavailable; retry later"
    reason = "UNAVAILABLE"
    http_status = 503


class ForbiddenError(RPCError):
    """The caller is authenticated but may not use this agent (the routing file's
    ``access``): HTTP 403. Said before any task is looked at, so it reveals none."""

    code = -32000
    default_message = "You may not use this agent"
    reason = "PERMISSION_DENIED"
    http_status = 403


class LimitExceededError(RPCError):
    """A per-principal limit is reached: HTTP 429 with ``Retry-After``; ``data`` names the
    limit (``limit``), its configured value (``allowed``) and ``retryAfter`` in seconds."""

    code = -32000
    default_message = "Limit exceeded"
    reason = "RESOURCE_EXHAUSTED"
    http_status = 429

    @property
    def retry_after(self) -> int:
        seconds = self.data.get("retryAfter", 1) if isinstance(self.data, dict) else 1
        return max(1, int(seconds))


class LimitsUnavailableError(UnavailableError):
    """The per-principal limits cannot be checked (Redis does not answer): HTTP 503 with
    ``Retry-After``, refused rather than let through unchecked."""

    default_message = "Limits cannot be checked right now; retry later"
    retry_after = 1
