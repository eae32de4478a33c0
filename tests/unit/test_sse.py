"""SSE framing: one encoder for every frame, one line per data field for every client."""

from __future__ import annotations

import json

import pytest

from a2a_gateway.gateway import sse


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_line_separators_inside_json_strings_are_escaped(separator: str) -> None:
    result = json.dumps({"text": f"a{separator}b"}, ensure_ascii=False, separators=(",", ":"))
    frame = sse.result_framer("r-1")(result, "5-0").decode()
    assert separator not in frame
    escaped = result.replace(separator, f"\\u{ord(separator):04x}")
    assert frame.splitlines() == [
        "id: 5-0",
        'data: {"jsonrpc":"2.0","id":"r-1","result":' + escaped + "}",
        "",
    ]
    data = json.loads(frame.splitlines()[1][len("data: ") :])
    assert data["result"]["text"] == f"a{separator}b", "the escape is JSON: same text back"


def test_other_text_is_framed_unchanged() -> None:
    result = json.dumps({"text": "héllo ✓ 😀"}, ensure_ascii=False)
    frame = sse.result_framer(None)(result)
    assert frame == ('data: {"jsonrpc":"2.0","id":null,"result":' + result + "}\n\n").encode()
