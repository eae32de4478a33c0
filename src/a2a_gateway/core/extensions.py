"""The A2A extensions this gateway offers (declared in every card's
``capabilities.extensions``; a client activates one by naming its URI in the
``X-A2A-Extensions`` header, or ``A2A-Extensions`` in 1.0, comma-separated)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

PUSH_EVERY_STATUS = "urn:a2a-gateway:ext:push-every-status-update:v1"
"""Activated on the request that sets a push config: that config is notified of every
status update of its task, not only of final and interrupted states."""

DESCRIPTIONS = {
    PUSH_EVERY_STATUS: (
        "Activate it on the request that sets a push notification config: the config is "
        "notified of every status update, not only of final and interrupted states."
    ),
}

HEADERS = ("a2a-extensions", "x-a2a-extensions")


def activated(headers: Mapping[str, str]) -> frozenset[str]:
    """The extension URIs a request activates (both header spellings, comma-separated),
    limited to the ones offered here."""
    named = {
        uri.strip()
        for name in HEADERS
        for uri in (headers.get(name) or "").split(",")
        if uri.strip()
    }
    return frozenset(named & DESCRIPTIONS.keys())
