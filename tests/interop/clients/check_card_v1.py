"""Read agent cards the way A2A 1.0 clients do, with a2a-sdk 1.x (``a2a.types.a2a_pb2``).

Reads JSON lines ``{"label": ..., "card": {...}, "v1": {...}}`` on stdin: ``card`` is the
card as served (every version's fields), ``v1`` its 1.0 fields alone. Prints one line per
card, ``{"label", "strict", "client", "v1"}``:

* ``strict``: ``check_v1.check("AgentCard", v1)`` (``ParseDict`` without unknown fields,
  plus every REQUIRED field), ``null`` when it passes;
* ``client``: the security fields and capabilities of the served card as the official
  1.x client reads it (``a2a.client.card_resolver.parse_agent_card``, which maps the 0.3
  fields it finds), rendered by ``MessageToDict``;
* ``v1``: the same fields of ``v1`` parsed strictly, rendered the same way, so the two
  can be compared.

Runs in the interop 1.x environment.
"""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from a2a.client.card_resolver import parse_agent_card
from a2a.types import a2a_pb2
from check_v1 import check
from google.protobuf.json_format import MessageToDict, ParseDict

FIELDS = ("securitySchemes", "securityRequirements", "capabilities")


def fields(card: a2a_pb2.AgentCard) -> dict[str, Any]:
    rendered = MessageToDict(card)
    return {name: rendered.get(name) for name in FIELDS}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        strict = check("AgentCard", item["v1"])
        client = fields(parse_agent_card(copy.deepcopy(item["card"])))
        v1 = fields(ParseDict(item["v1"], a2a_pb2.AgentCard(), ignore_unknown_fields=True))
        out = {"label": item["label"], "strict": strict, "client": client, "v1": v1}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
