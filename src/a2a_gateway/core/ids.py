"""Event ids: Redis stream entry ids (``ms-seq``), as the event log writes them and SSE
``id:`` carries them. Which strings are such ids, and their order, stated once: the event
log, the gateway and the client (which needs nothing of the server) read them here.
Standard library only.
"""

from __future__ import annotations

import re

_ENTRY_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
MAX_ID_PART = 2**64 - 1
"""The largest part of a stream id Redis accepts."""


def is_entry_id(value: str) -> bool:
    """Whether ``value`` is a Redis stream entry id (``ms-seq``, ASCII digits, each part at
    most 2^64-1); nothing else (no spaces, no ``$`` or ``>``, no other digits)."""
    if not _ENTRY_ID.fullmatch(value):
        return False
    ms, sq = entry_key(value)
    return ms <= MAX_ID_PART and sq <= MAX_ID_PART


def entry_key(entry_id: str) -> tuple[int, int]:
    """An entry id as a sortable pair: ``10-0`` after ``9-5``."""
    ms, _, sq = entry_id.partition("-")
    return int(ms), int(sq)
