"""Task states (A2A §6.3) and the rules about them, stated once.

``terminal`` states end a task for good; ``interrupted`` ones pause it until the client
answers. A status in either is *final* for a stream: the stream ends after it. The
workflow, the append script (its Lua table is generated from ``TERMINAL``), the event log
and the gateway all read these sets; none keeps a copy.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    """Spec §6.3 task states (wire values)."""

    SUBMITTED = "submitted"
    WORKING = "working"
    INPUT_REQUIRED = "input-required"
    COMPLETED = "completed"
    CANCELED = "canceled"
    FAILED = "failed"
    REJECTED = "rejected"
    AUTH_REQUIRED = "auth-required"
    UNKNOWN = "unknown"

    @property
    def terminal(self) -> bool:
        return self.value in TERMINAL

    @property
    def interrupted(self) -> bool:
        return self.value in INTERRUPTED

    @property
    def final(self) -> bool:
        """Whether a stream ends after a status in this state."""
        return self.terminal or self.interrupted


TERMINAL: frozenset[str] = frozenset({"completed", "canceled", "failed", "rejected"})
INTERRUPTED: frozenset[str] = frozenset({"input-required", "auth-required"})
