"""Which protocol version a request speaks (A2A 1.0 §3.6).

The ``A2A-Version`` header, or the ``A2A-Version`` query parameter, names ``Major.Minor``
(a patch number is ignored). An absent or empty value means 0.3 (§3.6.2); 0.2.5 clients
send none, and 0.2.5 and 0.3 share their JSON-RPC methods and shapes, so both are served
by the same dialect. Any other version is refused with ``VersionNotSupportedError``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from a2a_gateway.errors import VersionNotSupportedError

if TYPE_CHECKING:
    from collections.abc import Mapping

HEADER = "a2a-version"
SUPPORTED = ("0.2", "0.3", "1.0")
_VERSION = re.compile(r"\s*v?(\d{1,4})\.(\d{1,4})(?:\.\d{1,4})?\s*")


def requested(headers: Mapping[str, str], query: Mapping[str, str], *, default: str = "0.3") -> str:
    """The ``Major.Minor`` the request asks for (``default`` when it names none: 0.3, as
    §3.6.2 says, unless the binding exists in one version only), or
    ``VersionNotSupportedError``. The header wins over the query parameter."""
    raw = headers.get(HEADER)
    if raw is None:
        raw = next((v for k, v in query.items() if k.lower() == HEADER), None)
    if raw is None or not raw.strip():
        return default
    match = _VERSION.fullmatch(raw)
    version = f"{int(match[1])}.{int(match[2])}" if match else None
    if version not in SUPPORTED:
        shown = raw if len(raw) <= 32 else raw[:32] + "…"
        raise VersionNotSupportedError(
            f"A2A version {shown!r} is not supported; this agent serves " + ", ".join(SUPPORTED),
            data={"requested": shown, "supported": list(SUPPORTED)},
        )
    return version
