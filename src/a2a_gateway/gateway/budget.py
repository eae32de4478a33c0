"""A token bucket: at most ``rate`` actions a second on average, ``burst`` at once.

Used to bound what a flood of requests can cost elsewhere (Temporal queries for task ids
that Redis does not know). Per process, in memory: it holds no task state.
"""

from __future__ import annotations

import time


class TokenBucket:
    """``take`` returns True while the budget allows one more action, else False."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
