"""a2a-gateway: an A2A v0.2.5 server whose tasks run on Temporal and stream through Redis."""

from __future__ import annotations

__version__ = "0.1.0"
