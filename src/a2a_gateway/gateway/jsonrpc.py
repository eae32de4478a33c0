"""JSON-RPC 2.0 envelopes: parse a request body, build responses, explain bad params.

Each failure maps to its own code: unreadable JSON → -32700, a body that is not a
request object → -32600, an unknown method → -32601, params that are not an object or do
not validate → -32602 with a message naming the field and the problem (a ``params`` of
the wrong type is the method's concern, so it is -32602 like any other bad params). A
body nested deeper than ``MAX_JSON_DEPTH`` is refused with -32602 naming the limit (with
the request's id when it can be read), whether the parser itself gave up or the depth was
counted afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from a2a_gateway.core.limits import MAX_ID_LENGTH, MAX_JSON_DEPTH
from a2a_gateway.errors import InvalidParamsError, InvalidRequestError, JSONParseError, RPCError

RequestId = str | int | None
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Request:
    """A well-formed JSON-RPC request (``id`` absent means a notification)."""

    method: str
    params: Any
    id: RequestId
    is_notification: bool


def decode(body: bytes) -> Any:
    """The JSON in ``body`` (a request object or a batch array), or ``JSONParseError``.

    Also refused: nesting deeper than ``MAX_JSON_DEPTH`` (``InvalidParamsError``, raised as
    ``WithId`` when the body is one request with a readable id), and escaped lone
    surrogates (``"\ud800"``), which JSON allows but no UTF-8 text (Redis, responses) can
    hold."""
    try:
        data = json.loads(body)
    except RecursionError:  # far deeper than the limit: nothing of it can be trusted
        raise too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise JSONParseError(data={"reason": "the request body is not valid JSON"}) from None
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and depth_exceeds(data, MAX_JSON_DEPTH):
        if isinstance(data, dict) and _valid_id(data.get("id")):
            raise WithId(too_deep(), data.get("id"))
        raise too_deep()
    try:
        if _SURROGATE_ESCAPE.search(body):
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise JSONParseError(data={"reason": "the JSON holds an unpaired surrogate"}) from None
    return data


def too_deep() -> InvalidParamsError:
    return InvalidParamsError(
        f"Invalid params: arrays and objects may be nested at most {MAX_JSON_DEPTH} deep",
        data={"maxDepth": MAX_JSON_DEPTH},
    )


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` deep (``[]`` is 1).
    Iterative, so any depth the parser accepted is measured without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _valid_id(request_id: Any) -> bool:
    if isinstance(request_id, bool) or not isinstance(request_id, str | int | None):
        return False
    return not (isinstance(request_id, str) and len(request_id) > MAX_ID_LENGTH)


def parse(body: bytes) -> Request:
    """The single request in ``body``; raises ``RPCError`` (``WithId`` once the id is known)."""
    data = decode(body)
    if isinstance(data, list):
        raise InvalidRequestError("A batch is not a single request")
    return parse_request(data)


def parse_request(data: Any) -> Request:
    """One decoded request object (alone or as a batch member) as a ``Request``."""
    if not isinstance(data, dict):
        raise InvalidRequestError("The request must be a JSON object")
    request_id = data.get("id")
    if not _valid_id(request_id):
        raise InvalidRequestError(
            f"'id' must be a string of at most {MAX_ID_LENGTH} characters, a number or null"
        )
    error: RPCError | None = None
    if data.get("jsonrpc") != "2.0":
        error = InvalidRequestError("'jsonrpc' must be exactly \"2.0\"")
    elif not isinstance(data.get("method"), str):
        error = InvalidRequestError("'method' must be a string")
    if error is not None:
        raise WithId(error, request_id)
    return Request(
        method=data["method"],
        params=data.get("params", {}),
        id=request_id,
        is_notification="id" not in data,
    )


class WithId(Exception):
    """An ``RPCError`` raised after the request id was known."""

    def __init__(self, error: RPCError, request_id: RequestId) -> None:
        super().__init__(error.message)
        self.error = error
        self.request_id = request_id


def validate(model: type[M], params: Any) -> M:
    """``params`` as ``model``, or ``InvalidParamsError`` saying what is wrong and where."""
    if not isinstance(params, dict):
        raise InvalidParamsError("'params' must be an object")
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise InvalidParamsError(explain(exc), data={"errors": problems(exc)}) from None


def problems(exc: ValidationError) -> list[dict[str, str]]:
    """Each validation problem as ``{"field": "message.parts", "problem": "…"}``."""
    found = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        loc = ".".join(str(p) for p in _field_path(err["loc"]))
        found.append({"field": loc or "params", "problem": err["msg"]})
    return found


def explain(exc: ValidationError) -> str:
    listed = problems(exc)
    head = "; ".join(f"{p['field']}: {p['problem']}" for p in listed[:3])
    more = f" (and {len(listed) - 3} more)" if len(listed) > 3 else ""
    return f"Invalid params: {head}{more}"


PART_TAGS = frozenset({"text", "file", "data"})
UNION_MEMBERS = frozenset({"FileWithBytes", "FileWithUri"})


def _field_path(loc: tuple[int | str, ...]) -> list[int | str]:
    """Pydantic's error location without the union bookkeeping it inserts: the part kind
    after a list index (``parts.0.text.text`` → ``parts.0.text``) and union member names."""
    path: list[int | str] = []
    for index, element in enumerate(loc):
        after_index = index > 0 and isinstance(loc[index - 1], int)
        if (after_index and element in PART_TAGS) or element in UNION_MEMBERS:
            continue
        path.append(element)
    return path


def success(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def failure(request_id: RequestId, error: RPCError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_dict()}
