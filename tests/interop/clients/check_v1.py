"""Check A2A 1.0 JSON against the generated types a2a-sdk 1.x ships (``a2a.types.a2a_pb2``).

Reads JSON lines ``{"label": ..., "type": "Task", "value": {...}}`` on stdin and prints one
line ``{"label": ..., "ok": bool, "error": ...}`` for each. A value passes when

* ``google.protobuf.json_format.ParseDict(value, a2a_pb2.<type>(),
  ignore_unknown_fields=False)`` accepts it (names, enum spellings, types, no unknown
  field anywhere), and
* every field the proto marks ``(google.api.field_behavior) = REQUIRED`` is present,
  recursively (A2A 1.0 §5.7; a required list must not be empty, a required message must
  not be empty).

Type ``google.protobuf.Any`` checks an error detail (``@type`` naming a ``google.rpc``
message, e.g. ``ErrorInfo``) the same way.

Runs in the interop 1.x environment (a2a-sdk 1.x, protobuf, googleapis-common-protos).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from a2a.types import a2a_pb2
from google.api import field_behavior_pb2
from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.json_format import ParseDict, ParseError
from google.rpc import error_details_pb2  # noqa: F401 - registers google.rpc types for Any

REQUIRED = field_behavior_pb2.REQUIRED
WELL_KNOWN = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.Timestamp"}


def is_repeated(field: FieldDescriptor) -> bool:
    repeated = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    return field.label == FieldDescriptor.LABEL_REPEATED


def is_map(field: FieldDescriptor) -> bool:
    return bool(field.message_type and field.message_type.GetOptions().map_entry)


def required_missing(descriptor: Descriptor, value: Any, path: str) -> list[str]:
    """REQUIRED fields absent (or empty) anywhere under ``value`` (a ``descriptor``)."""
    if not isinstance(value, dict):
        return []
    problems = []
    for field in descriptor.fields:
        key = field.json_name if field.json_name in value else field.name
        present = key in value
        where = f"{path}{field.json_name}"
        if REQUIRED in field.GetOptions().Extensions[field_behavior_pb2.field_behavior]:
            if not present:
                problems.append(f"{where}: REQUIRED field missing")
            elif is_repeated(field) and not value[key]:
                problems.append(f"{where}: REQUIRED list is empty")
        if not present or field.message_type is None:
            continue
        if field.message_type.full_name in WELL_KNOWN:
            continue
        item = value[key]
        if is_map(field):
            inner = field.message_type.fields_by_name["value"]
            if inner.message_type is not None and isinstance(item, dict):
                for name, entry in item.items():
                    problems += required_missing(inner.message_type, entry, f"{where}[{name}].")
        elif is_repeated(field) and isinstance(item, list):
            for index, entry in enumerate(item):
                problems += required_missing(field.message_type, entry, f"{where}[{index}].")
        else:
            problems += required_missing(field.message_type, item, f"{where}.")
    return problems


def check(type_name: str, value: Any) -> str | None:
    if type_name == "google.protobuf.Any":
        # An error detail: ProtoJSON ``Any`` whose ``@type`` names a google.rpc message.
        if not isinstance(value, dict) or "@type" not in value:
            return "an error detail without @type"
        try:
            ParseDict(value, any_pb2.Any(), ignore_unknown_fields=False)
        except ParseError as exc:
            return f"ParseDict: {exc}"
        return None
    message_class = getattr(a2a_pb2, type_name, None)
    if message_class is None:
        return f"a2a_pb2 has no message {type_name!r}"
    try:
        ParseDict(value, message_class(), ignore_unknown_fields=False)
    except ParseError as exc:
        return f"ParseDict: {exc}"
    problems = required_missing(message_class.DESCRIPTOR, value, "")
    return "; ".join(problems) if problems else None


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        error = check(item["type"], item["value"])
        out = {"label": item["label"], "ok": error is None, "error": error}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
