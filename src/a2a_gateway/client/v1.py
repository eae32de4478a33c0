"""A2A 1.0's JSON-RPC dialect, for servers that speak only 1.0.

The client's calls are named and shaped as in 0.3 (``message/stream``, ``kind``,
``input-required``); with ``protocol="1.0"`` each request is renamed and reshaped here
(``SendStreamingMessage``, ``ROLE_USER``, 1.0's parts), sent with ``A2A-Version: 1.0``,
and each 1.0 result is translated back into the 0.3 shape the client returns, so a caller
reads every server the same way. Everything 1.0 sent that 0.3 has no place for stays in
the dicts (unknown fields are kept). Pure functions over decoded JSON: no pydantic, no
generated types.

A 1.0 status update has no ``final`` flag (a stream simply ends after a terminal or
interrupted state); the translation sets ``final`` from the state, which is when a 1.0
server ends its stream.
"""

from __future__ import annotations

from typing import Any

from a2a_gateway.client.types import ends_stream

VERSION_HEADER = {"A2A-Version": "1.0"}

METHODS = {
    "message/send": "SendMessage",
    "message/stream": "SendStreamingMessage",
    "tasks/get": "GetTask",
    "tasks/cancel": "CancelTask",
    "tasks/resubscribe": "SubscribeToTask",
}
"""The client's methods (0.3 names) and their 1.0 names."""

_STATE_PREFIX = "TASK_STATE_"
_ROLES = {"user": "ROLE_USER", "agent": "ROLE_AGENT"}


def state(value: Any) -> Any:
    """``TASK_STATE_INPUT_REQUIRED`` → ``input-required`` (anything else unchanged)."""
    if isinstance(value, str) and value.startswith(_STATE_PREFIX):
        return value[len(_STATE_PREFIX) :].lower().replace("_", "-")
    return value


def role(value: Any) -> Any:
    """``ROLE_AGENT`` → ``agent``."""
    if isinstance(value, str) and value.startswith("ROLE_"):
        return value[len("ROLE_") :].lower()
    return value


# -- requests: 0.3 shapes to 1.0 ---------------------------------------------------------


def part_to_v1(part: dict[str, Any]) -> dict[str, Any]:
    """A 0.3 part (``kind`` text, file or data) as a 1.0 ``Part``."""
    out = {k: v for k, v in part.items() if k not in ("kind", "file")}
    kind = part.get("kind")
    if kind == "file":
        file = part.get("file") or {}
        if "bytes" in file:
            out["raw"] = file["bytes"]
        elif "uri" in file:
            out["url"] = file["uri"]
        if file.get("mimeType"):
            out["mediaType"] = file["mimeType"]
        if file.get("name"):
            out["filename"] = file["name"]
    return out


def message_to_v1(message: dict[str, Any]) -> dict[str, Any]:
    """A 0.3 ``Message`` as a 1.0 ``Message`` (no ``kind``, ``ROLE_*``, 1.0 parts)."""
    out = {k: v for k, v in message.items() if k not in ("kind", "role", "parts")}
    out["role"] = _ROLES.get(str(message.get("role", "user")), "ROLE_USER")
    out["parts"] = [part_to_v1(p) for p in message.get("parts", [])]
    return out


def params_to_v1(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params of a 0.3 call as the 1.0 request's (``blocking`` becomes
    ``returnImmediately``, the message is reshaped; ids and lengths keep their names)."""
    out = dict(params)
    if "message" in params:
        out["message"] = message_to_v1(params["message"])
    configuration = params.get("configuration")
    if isinstance(configuration, dict):
        configuration = dict(configuration)
        if "blocking" in configuration:
            configuration["returnImmediately"] = not configuration.pop("blocking")
        out["configuration"] = configuration
    return out


# -- results: 1.0 shapes to 0.3 ----------------------------------------------------------


def part_from_v1(part: dict[str, Any]) -> dict[str, Any]:
    """A 1.0 ``Part`` as a 0.3 part."""
    extra = {k: v for k, v in part.items() if k == "metadata"}
    if "text" in part:
        return {"kind": "text", "text": part["text"], **extra}
    if "data" in part:
        return {"kind": "data", "data": part["data"], **extra}
    file: dict[str, Any] = {}
    if "raw" in part:
        file["bytes"] = part["raw"]
    if "url" in part:
        file["uri"] = part["url"]
    if part.get("mediaType"):
        file["mimeType"] = part["mediaType"]
    if part.get("filename"):
        file["name"] = part["filename"]
    return {"kind": "file", "file": file, **extra}


def message_from_v1(message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    out["kind"] = "message"
    out["role"] = role(message.get("role"))
    out["parts"] = [part_from_v1(p) for p in message.get("parts", [])]
    return out


def _status(status: Any) -> Any:
    if not isinstance(status, dict):
        return status
    out = dict(status)
    out["state"] = state(status.get("state"))
    if isinstance(status.get("message"), dict):
        out["message"] = message_from_v1(status["message"])
    return out


def _artifact(artifact: dict[str, Any]) -> dict[str, Any]:
    out = dict(artifact)
    out["parts"] = [part_from_v1(p) for p in artifact.get("parts", [])]
    return out


def task_from_v1(task: dict[str, Any]) -> dict[str, Any]:
    out = dict(task)
    out["kind"] = "task"
    out["status"] = _status(task.get("status"))
    if "history" in task:
        out["history"] = [message_from_v1(m) for m in task["history"]]
    if "artifacts" in task:
        out["artifacts"] = [_artifact(a) for a in task["artifacts"]]
    return out


def status_update_from_v1(update: dict[str, Any]) -> dict[str, Any]:
    out = dict(update)
    out["kind"] = "status-update"
    out["status"] = _status(update.get("status"))
    current = out["status"].get("state") if isinstance(out["status"], dict) else None
    out["final"] = ends_stream(current)
    return out


def artifact_update_from_v1(update: dict[str, Any]) -> dict[str, Any]:
    out = dict(update)
    out["kind"] = "artifact-update"
    if isinstance(update.get("artifact"), dict):
        out["artifact"] = _artifact(update["artifact"])
    return out


_PAYLOADS = {
    "task": task_from_v1,
    "message": message_from_v1,
    "statusUpdate": status_update_from_v1,
    "artifactUpdate": artifact_update_from_v1,
}


def payload_from_v1(response: Any) -> Any:
    """A ``StreamResponse`` or ``SendMessageResponse`` (one of ``task``, ``message``,
    ``statusUpdate``, ``artifactUpdate``) as the 0.3 object it carries."""
    if isinstance(response, dict):
        for name, translate in _PAYLOADS.items():
            if isinstance(response.get(name), dict):
                return translate(response[name])
    return response


def result_from_v1(method: str, result: Any) -> Any:
    """The result of the 1.0 call for ``method`` (a 0.3 name) in 0.3's shape."""
    if method in ("tasks/get", "tasks/cancel") and isinstance(result, dict):
        return task_from_v1(result)
    return payload_from_v1(result)
