"""JSON-RPC envelope parsing and params validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from a2a_gateway.core.limits import MAX_ID_LENGTH, MAX_JSON_DEPTH
from a2a_gateway.errors import InvalidParamsError, InvalidRequestError, JSONParseError
from a2a_gateway.gateway.jsonrpc import WithId, decode, depth_exceeds, parse, validate
from a2a_gateway.models import MessageSendParams


def body(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def request(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}}
    base.update(fields)
    return base


def test_valid_request_parses() -> None:
    req = parse(body(request(id="abc", params={"x": 1})))
    assert req.method == "message/send"
    assert req.params == {"x": 1}
    assert req.id == "abc"
    assert req.is_notification is False


def test_params_default_to_empty_object() -> None:
    data = request()
    del data["params"]
    assert parse(body(data)).params == {}


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00garbage"])
def test_invalid_json_is_parse_error(raw: bytes) -> None:
    with pytest.raises(JSONParseError) as info:
        parse(raw)
    assert info.value.code == -32700


def test_batch_is_invalid_request() -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse(body([request()]))
    assert info.value.code == -32600


@pytest.mark.parametrize("obj", ["a string", 42, None, True])
def test_non_object_is_invalid_request(obj: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse(body(obj))
    assert info.value.code == -32600


def test_wrong_jsonrpc_version_keeps_request_id() -> None:
    with pytest.raises(WithId) as info:
        parse(body(request(jsonrpc="1.0", id="req-7")))
    assert info.value.error.code == -32600
    assert info.value.request_id == "req-7"


def test_missing_jsonrpc_version_is_invalid_request() -> None:
    data = request(id=9)
    del data["jsonrpc"]
    with pytest.raises(WithId) as info:
        parse(body(data))
    assert info.value.error.code == -32600
    assert info.value.request_id == 9


@pytest.mark.parametrize("method", [5, None, ["message/send"], {"m": 1}])
def test_non_string_method_is_invalid_request(method: Any) -> None:
    with pytest.raises(WithId) as info:
        parse(body(request(method=method, id=3)))
    assert info.value.error.code == -32600
    assert info.value.request_id == 3


def test_missing_method_is_invalid_request() -> None:
    data = request()
    del data["method"]
    with pytest.raises(WithId) as info:
        parse(body(data))
    assert info.value.error.code == -32600


@pytest.mark.parametrize("bad_id", [True, False, 1.5, {"a": 1}, [1]])
def test_bad_id_type_is_invalid_request(bad_id: Any) -> None:
    with pytest.raises(InvalidRequestError) as info:
        parse(body(request(id=bad_id)))
    assert info.value.code == -32600


@pytest.mark.parametrize("good_id", ["x", 0, 12345, None])
def test_string_int_and_null_ids_are_accepted(good_id: Any) -> None:
    req = parse(body(request(id=good_id)))
    assert req.id == good_id
    assert req.is_notification is False


def test_missing_id_is_notification() -> None:
    data = request()
    del data["id"]
    req = parse(body(data))
    assert req.is_notification is True
    assert req.id is None


def test_scalar_params_are_the_methods_concern() -> None:
    """A well-formed envelope with a string ``params`` parses; the params check (-32602,
    with the id) belongs to the method, as the 0.2.5 conformance kit expects."""
    req = parse(body(request(params="oops", id=4)))
    assert req.params == "oops"
    assert req.id == 4
    with pytest.raises(InvalidParamsError):
        validate(MessageSendParams, req.params)


def test_validate_returns_model() -> None:
    parsed = validate(
        MessageSendParams,
        {"message": {"messageId": "m", "role": "user", "parts": [{"kind": "text", "text": "x"}]}},
    )
    assert isinstance(parsed, MessageSendParams)
    assert parsed.message.message_id == "m"


def test_validate_missing_message_is_invalid_params_naming_field() -> None:
    with pytest.raises(InvalidParamsError) as info:
        validate(MessageSendParams, {})
    err = info.value
    assert err.code == -32602
    assert "message" in err.message
    fields = [p["field"] for p in err.data["errors"]]
    assert fields == ["message"]


def test_validate_names_nested_field() -> None:
    with pytest.raises(InvalidParamsError) as info:
        validate(MessageSendParams, {"message": {"messageId": "m", "role": "user", "parts": []}})
    assert "message.parts" in info.value.message


@pytest.mark.parametrize("bad", [[], [1, 2], "x", None, 3])
def test_validate_params_not_a_dict_is_invalid_params(bad: Any) -> None:
    with pytest.raises(InvalidParamsError) as info:
        validate(MessageSendParams, bad)
    assert info.value.code == -32602


def nested(depth: int) -> Any:
    """A request whose body nests ``depth`` levels: the request object, params, then lists."""
    inner: Any = 1
    for _ in range(depth - 2):
        inner = [inner]
    return request(id="deep", params={"x": inner})


def nested_body(depth: int) -> bytes:
    """``nested(depth)`` as bytes, built without recursion (``json.dumps`` has a limit)."""
    lists = depth - 2
    return (
        b'{"jsonrpc":"2.0","id":"deep","method":"message/send","params":{"x":'
        + b"[" * lists
        + b"1"
        + b"]" * lists
        + b"}}"
    )


def test_depth_at_the_limit_parses() -> None:
    data = nested(MAX_JSON_DEPTH)
    assert not depth_exceeds(data, MAX_JSON_DEPTH)
    assert depth_exceeds(data, MAX_JSON_DEPTH - 1)
    assert json.loads(nested_body(MAX_JSON_DEPTH)) == data
    assert parse(nested_body(MAX_JSON_DEPTH)).id == "deep"


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 500])
def test_depth_over_the_limit_is_invalid_params_naming_it(depth: int) -> None:
    with pytest.raises(WithId) as info:
        parse(nested_body(depth))
    assert info.value.request_id == "deep"
    assert info.value.error.code == -32602
    assert str(MAX_JSON_DEPTH) in info.value.error.message


def test_depth_the_parser_refuses_is_invalid_params_naming_the_limit() -> None:
    raw = b'{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":' + b"[" * 100_000
    raw += b"]" * 100_000 + b"}"
    with pytest.raises(InvalidParamsError) as info:
        parse(raw)
    assert info.value.code == -32602
    assert str(MAX_JSON_DEPTH) in info.value.message


def test_depth_of_a_batch_counts_its_array() -> None:
    assert depth_exceeds([nested(MAX_JSON_DEPTH)], MAX_JSON_DEPTH)
    with pytest.raises(InvalidParamsError):
        decode(body([nested(MAX_JSON_DEPTH)]))


@pytest.mark.parametrize(
    ("value", "depth"), [(1, 0), ([], 1), ({"a": [1, {}]}, 3), ([[], [[]]], 3)]
)
def test_depth_is_counted_in_arrays_and_objects(value: Any, depth: int) -> None:
    assert not depth_exceeds(value, depth)
    assert depth == 0 or depth_exceeds(value, depth - 1)


def test_string_id_longer_than_the_limit_is_invalid_request() -> None:
    assert parse(body(request(id="i" * MAX_ID_LENGTH))).id == "i" * MAX_ID_LENGTH
    with pytest.raises(InvalidRequestError) as info:
        parse(body(request(id="i" * (MAX_ID_LENGTH + 1))))
    assert str(MAX_ID_LENGTH) in info.value.message
