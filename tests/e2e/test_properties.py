"""Property-based tests over real HTTP: requests drawn from the A2A JSON schema (hypothesis).

(a) any schema-valid ``MessageSendParams`` (patched to what the server additionally and
documentedly requires: role ``user``, no ``taskId``, a non-empty ``messageId`` and ``parts``,
no push config while push is off) creates a task that validates as the schema's ``Task``;
(b) one invalid mutation of a valid request is always -32602 (or -32600), never a 5xx or
-32603; (c) arbitrary JSON and arbitrary bytes never make the server answer 5xx.

Everything runs against the session's ``gateway_url`` (push notifications off).
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "a2a.schema.json").read_text())
DEFINITIONS: dict[str, Any] = SCHEMA["definitions"]

# Bounded sizes keep each example small (a handful of parts, short strings).
MAX_ITEMS = 3
MAX_PROPERTIES = 3
MAX_STRING = 40


def _bounded(node: Any) -> Any:
    """A copy of a schema node with size bounds on every array, object and string, and
    ``additionalProperties: false`` on objects that list their properties (the server
    ignores unknown fields, so extra ones would only make comparisons fuzzy)."""
    if isinstance(node, list):
        return [_bounded(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _bounded(v) for k, v in node.items()}
    kind = out.get("type")
    if kind == "array":
        out.setdefault("maxItems", MAX_ITEMS)
    elif kind == "string" and "const" not in out and "enum" not in out:
        out.setdefault("maxLength", MAX_STRING)
    elif kind == "object":
        out.setdefault("maxProperties", MAX_PROPERTIES + 4)
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        elif out.get("additionalProperties") == {}:
            # free-form metadata / data: small flat JSON values
            out["maxProperties"] = MAX_PROPERTIES
            out["additionalProperties"] = {
                "type": ["null", "boolean", "integer", "number", "string"],
                "maxLength": MAX_STRING,
            }
    return out


REQUEST_SCHEMA = {
    "$ref": "#/definitions/MessageSendParams",
    "definitions": {k: _bounded(v) for k, v in DEFINITIONS.items()},
}
TASK_VALIDATOR = jsonschema.Draft7Validator(
    {"$ref": "#/definitions/Task", "definitions": DEFINITIONS}
)
JSONRPC_ERROR_VALIDATOR = jsonschema.Draft7Validator(
    {"$ref": "#/definitions/JSONRPCErrorResponse", "definitions": DEFINITIONS}
)

COMMON = settings(
    max_examples=40,
    deadline=None,
    database=None,
    # Seeded by each test's name: CI runs are reproducible, and a failure replays exactly.
    derandomize=True,
    # no explain phase: its line tracer is very slow on Python < 3.12
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make_valid(params: dict[str, Any]) -> dict[str, Any]:
    """Patch schema-valid params into ones the server documents it accepts for a new task."""
    params = copy.deepcopy(params)
    message = params["message"]
    message["role"] = "user"
    message.pop("taskId", None)
    message.pop("referenceTaskIds", None)
    if not message.get("messageId"):
        message["messageId"] = str(uuid.uuid4())
    else:  # unique per example, so a replayed example is never a retry of an old one
        message["messageId"] = f"{message['messageId']}-{uuid.uuid4()}"
    if not message.get("parts"):
        message["parts"] = [{"kind": "text", "text": "hi"}]
    config = params.get("configuration")
    if config is not None:
        config.pop("pushNotificationConfig", None)
        config["blocking"] = False
        if config.get("historyLength", 0) < 0:
            config["historyLength"] = -config["historyLength"]
    else:
        params["configuration"] = {"acceptedOutputModes": ["text/plain"], "blocking": False}
    return params


valid_params = from_schema(REQUEST_SCHEMA).map(make_valid)


def rpc(params: Any, method: str = "message/send") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": str(uuid.uuid4()), "method": method, "params": params}


@pytest.fixture(scope="module")
def client(gateway_url: str) -> Any:
    # A fresh connection per request: a failed request must not reset the next one.
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=gateway_url, timeout=httpx.Timeout(30.0), limits=limits) as http:
        yield http


def post(client: httpx.Client, payload: Any) -> httpx.Response:
    response = client.post("/", json=payload)
    assert response.status_code < 500, response.text
    return response


def error_of(response: httpx.Response, request_id: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("jsonrpc") == "2.0", body
    assert body.get("id") == request_id, body
    assert "result" not in body and "error" in body, body
    JSONRPC_ERROR_VALIDATOR.validate(body)
    error: dict[str, Any] = body["error"]
    return error


# -- (a) valid requests ------------------------------------------------------------------


@COMMON
@given(params=valid_params)
def test_valid_message_send_params_create_a_spec_task(
    client: httpx.Client, params: dict[str, Any]
) -> None:
    request = rpc(params)
    response = post(client, request)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body.get("jsonrpc") == "2.0" and body.get("id") == request["id"], body
    assert "result" in body, body
    task = body["result"]
    TASK_VALIDATOR.validate(task)
    assert task["kind"] == "task"
    assert task["status"]["state"] == "submitted"
    message = params["message"]
    if message.get("contextId"):
        assert task["contextId"] == message["contextId"]
    if "metadata" in params:
        assert task.get("metadata", {}) == params["metadata"]
    history_length = params["configuration"].get("historyLength")
    history = task.get("history", [])
    if history_length is not None:
        assert len(history) <= history_length
    if history:
        first = history[0]
        assert first["messageId"] == message["messageId"]
        assert first["role"] == "user"
        assert first["taskId"] == task["id"]
        assert first["contextId"] == task["contextId"]
        assert first["parts"] == message["parts"]


@settings(COMMON, max_examples=12)
@given(params=valid_params)
def test_echo_round_trips_every_part_through_the_worker(
    client: httpx.Client, params: dict[str, Any]
) -> None:
    """Blocking send to echo: the final task's artifact carries the words of the text
    parts (one per chunk) and every file and data part unchanged, in order."""
    params["configuration"]["blocking"] = True
    params["configuration"].pop("historyLength", None)
    request = rpc(params)
    body = post(client, request).json()
    assert "result" in body, body
    task = body["result"]
    TASK_VALIDATOR.validate(task)
    assert task["status"]["state"] == "completed", task["status"]
    assert [a["artifactId"] for a in task["artifacts"]] == ["echo"]
    parts = task["artifacts"][0]["parts"]
    sent = params["message"]["parts"]
    words = [w for p in sent if p["kind"] == "text" for w in p["text"].split()]
    assert [p for p in parts if p["kind"] != "text"] == [p for p in sent if p["kind"] != "text"]
    texts = [p["text"] for p in parts if p["kind"] == "text"]
    if words:  # one word per chunk, in order (a chunk after another chunk starts with a space)
        assert [t.strip() for t in texts] == words
        assert "".join(texts).split() == words
    else:  # a message without words is echoed as one empty text part
        assert texts == ([""] if not [p for p in sent if p["kind"] != "text"] else [])
    got = client.post("/", json=rpc({"id": task["id"]}, "tasks/get")).json()
    assert got["result"] == task, (got, task)


# -- (b) one invalid mutation of a valid request -----------------------------------------

WRONG_TYPES = st.sampled_from([0, 1.5, [], ["x"], None, True, False])
KNOWN_KINDS = {"text", "file", "data"}


def _mutations(params: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    """(description, mutated params or a marker) for one mutation of ``params``."""
    message = params["message"]
    n_parts = len(message["parts"])
    file_parts = [i for i, p in enumerate(message["parts"]) if p.get("kind") == "file"]
    options: list[st.SearchStrategy[tuple[str, Any]]] = [
        st.tuples(st.just("delete"), st.sampled_from(["messageId", "role", "parts"])),
        st.tuples(st.just("empty-parts"), st.none()),
        st.tuples(
            st.just("part-kind"),
            st.tuples(
                st.integers(0, n_parts - 1),
                st.text(max_size=12).filter(lambda k: k not in KNOWN_KINDS),
            ),
        ),
        st.tuples(
            st.just("wrong-type"),
            st.tuples(st.sampled_from(["messageId", "parts", "role"]), WRONG_TYPES),
        ),
        st.tuples(st.just("role"), st.text(max_size=12).filter(lambda r: r != "user")),
        st.tuples(st.just("history-length"), st.integers(max_value=-1)),
        st.tuples(st.just("params"), st.sampled_from([0, 1.5, "params", None, True])),
        st.tuples(st.just("params-list"), st.sampled_from([[], [1], ["x", {}]])),
    ]
    if file_parts:
        options.append(st.tuples(st.just("empty-file"), st.sampled_from(file_parts)))
    return st.one_of(options)


def _apply(params: dict[str, Any], mutation: tuple[str, Any]) -> tuple[Any, set[int]]:
    """The mutated params and the error codes the server may answer with."""
    what, arg = mutation
    params = copy.deepcopy(params)
    message = params["message"]
    invalid = {-32602}
    if what == "delete":
        del message[arg]
    elif what == "empty-parts":
        message["parts"] = []
    elif what == "part-kind":
        index, kind = arg
        message["parts"][index]["kind"] = kind
    elif what == "wrong-type":
        field, value = arg
        message[field] = value
    elif what == "role":
        message["role"] = arg
    elif what == "history-length":
        params["configuration"]["historyLength"] = arg
    elif what == "params":
        return arg, {-32602}  # params of the wrong type are the method's concern (jsonrpc.py)
    elif what == "params-list":
        return arg, {-32602}  # an array is a valid JSON-RPC params value, but not these params
    elif what == "empty-file":
        message["parts"][arg]["file"] = {}
    return params, invalid


@COMMON
@given(data=st.data(), params=valid_params)
def test_one_invalid_mutation_is_an_invalid_params_error(
    client: httpx.Client, data: st.DataObject, params: dict[str, Any]
) -> None:
    mutation = data.draw(_mutations(params), label="mutation")
    mutated, codes = _apply(params, mutation)
    request = rpc(mutated)
    error = error_of(post(client, request), request["id"])
    assert error["code"] in codes, (mutation, error)
    assert error["code"] != -32603


# -- (c) arbitrary bodies ----------------------------------------------------------------

# JSON strings may hold any code point, lone surrogates included: json.dumps writes them
# as "\\ud800" escapes, which is valid JSON that json.loads accepts.
json_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4)
    ),
    max_leaves=12,
)
METHODS = [
    "message/send",
    "tasks/get",
    "tasks/cancel",
    "tasks/pushNotificationConfig/set",
    "tasks/pushNotificationConfig/get",
    "tasks/pushNotificationConfig/list",
    "tasks/pushNotificationConfig/delete",
    "agent/getAuthenticatedExtendedCard",
    "no/such",
]
# Envelopes that look like requests, so the params reach the method handlers.
request_like = st.fixed_dictionaries(
    {"jsonrpc": st.just("2.0"), "method": st.sampled_from(METHODS)},
    optional={
        "id": st.one_of(json_text, st.integers(-(2**70), 2**70), st.none()),
        "params": json_values,
    },
)


def check_answer(response: httpx.Response) -> None:
    """Never a 5xx; 204 only for notifications; otherwise JSON-RPC 2.0 answer object(s)."""
    assert response.status_code < 500, response.text
    if response.status_code == 204:
        assert not response.content
        return
    assert response.status_code == 200, response.text
    body = response.json()
    answers = body if isinstance(body, list) else [body]
    assert answers, body
    for answer in answers:
        assert answer.get("jsonrpc") == "2.0", answer
        assert ("result" in answer) != ("error" in answer), answer
        if "error" in answer:
            JSONRPC_ERROR_VALIDATOR.validate(answer)
            assert answer["error"]["code"] != -32603, answer


@COMMON
@given(body=json_values | request_like | st.lists(request_like, min_size=1, max_size=3))
def test_arbitrary_json_never_fails_the_server(client: httpx.Client, body: Any) -> None:
    response = client.post(
        "/",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    check_answer(response)


def _is_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


@COMMON
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_a_parse_error_unless_json(client: httpx.Client, raw: bytes) -> None:
    response = client.post("/", content=raw, headers={"content-type": "application/json"})
    check_answer(response)
    if not _is_json(raw):
        assert response.status_code == 200
        body = response.json()
        assert body == {"jsonrpc": "2.0", "id": None, "error": body["error"]}
        assert body["error"]["code"] == -32700


@settings(COMMON, max_examples=15)
@given(depth=st.integers(min_value=1, max_value=150_000))  # 6 B a level: under the 1 MiB cap
def test_deeply_nested_json_is_not_a_server_error(client: httpx.Client, depth: int) -> None:
    """Nesting within the body limit (1 MiB by default) is a JSON-RPC error, not a 500."""
    raw = b"[" * depth + b"]" * depth
    check_answer(client.post("/", content=raw, headers={"content-type": "application/json"}))
    raw = b'{"a":' * depth + b"1" + b"}" * depth
    check_answer(client.post("/", content=raw, headers={"content-type": "application/json"}))


SURROGATE_FIELDS = [
    ("id",),
    ("method",),
    ("params", "message", "messageId"),
    ("params", "message", "taskId"),
    ("params", "message", "contextId"),
    ("params", "message", "parts", 0, "text"),
    ("params", "message", "metadata", "key"),
    ("params", "metadata", "key"),
    ("params", "configuration", "acceptedOutputModes", 0),
    ("file-mime",),
]
lone_surrogate_text = st.builds(
    lambda before, s, after: before + s + after,
    st.text(st.characters(codec="utf-8"), max_size=5),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.text(st.characters(codec="utf-8"), max_size=5),
)


@COMMON
@given(where=st.sampled_from(SURROGATE_FIELDS), value=lone_surrogate_text)
def test_lone_surrogates_anywhere_are_refused_not_crashes(
    client: httpx.Client, where: tuple[Any, ...], value: str
) -> None:
    """A string with a lone surrogate (valid JSON escape, not encodable as UTF-8) in any
    field of an otherwise valid message/send: an answer, never a 5xx or -32603."""
    request = rpc(
        {
            "message": {
                "role": "user",
                "messageId": str(uuid.uuid4()),
                "parts": [{"kind": "text", "text": "hello"}],
            },
            "configuration": {"acceptedOutputModes": ["text/plain"], "blocking": False},
        }
    )
    if where == ("file-mime",):
        file = {"kind": "file", "file": {"uri": "https://example.com/f", "mimeType": value}}
        request["params"]["message"]["parts"] = [file]
    else:
        target: Any = request
        for key in where[:-1]:
            target = target.setdefault(key, {}) if isinstance(key, str) else target[key]
        target[where[-1]] = value
    response = client.post(
        "/", content=json.dumps(request).encode(), headers={"content-type": "application/json"}
    )
    check_answer(response)
