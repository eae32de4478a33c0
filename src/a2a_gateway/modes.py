"""Content-type negotiation (A2A input and output modes are MIME media types or ranges).

Clients also send bare shorthands (the 0.2.5 conformance kit sends ``["text"]``): a mode
without a ``/`` is read as a range, ``text`` as ``text/*``, ``json`` and ``data`` as
``application/json``, ``file`` as any type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from a2a_gateway.models import DataPart, FilePart, TextPart

if TYPE_CHECKING:
    from collections.abc import Iterable

    from a2a_gateway.models import Part

TEXT = "text/plain"
JSON = "application/json"
BINARY = "application/octet-stream"


SHORTHANDS = {"json": JSON, "data": JSON, "file": "*/*", "*": "*/*"}


def expand(mode: str) -> str:
    """A media type or range, with a bare shorthand (no ``/``) read as a range."""
    media = mode.split(";", maxsplit=1)[0].strip().lower()
    if "/" in media or not media:
        return media
    return SHORTHANDS.get(media, f"{media}/*")


def media_matches(a: str, b: str) -> bool:
    """Whether two media types or ranges overlap (``*/*`` and ``type/*`` are ranges)."""
    a_type, _, a_sub = expand(a).partition("/")
    b_type, _, b_sub = expand(b).partition("/")
    if "*" in (a_type, b_type):
        return True
    return a_type == b_type and (a_sub == b_sub or "*" in (a_sub, b_sub))


def any_match(wanted: Iterable[str], offered: Iterable[str]) -> bool:
    offered = list(offered)
    return any(media_matches(w, o) for w in wanted for o in offered)


def part_media_type(part: Part) -> str:
    """The media type a part carries: text, JSON data, or the file's declared type."""
    if isinstance(part, TextPart):
        return TEXT
    if isinstance(part, DataPart):
        return JSON
    assert isinstance(part, FilePart)
    return part.file.mime_type or BINARY
