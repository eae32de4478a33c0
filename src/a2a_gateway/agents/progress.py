"""``progress``: ``steps=N interval=S`` working updates, then a result artifact.

Defaults are 5 steps one second apart. Each step is a ``working`` status with a message;
the agent can be cancelled at any moment (it only ever waits in ``asyncio.sleep``).

Limits: a request asks for at most ``MAX_STEPS`` (1000) steps at most ``MAX_INTERVAL``
(60 s) apart; larger values are clamped to these, negative ones to 0. The longest turn is
therefore under 17 hours, which the built-in route's turn timeout allows for.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING

from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk, Status, text_parts
from a2a_gateway.core.states import TaskState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

DEFAULT_STEPS = 5
DEFAULT_INTERVAL = 1.0
MAX_STEPS = 1000
MAX_INTERVAL = 60.0


def parse_options(text: str) -> tuple[int, float]:
    """``(steps, interval)`` from ``steps=N interval=S`` anywhere in ``text``, clamped to
    ``[0, MAX_STEPS]`` and ``[0, MAX_INTERVAL]``."""
    steps_match = re.search(r"\bsteps\s*=\s*(\d+)", text)
    interval_match = re.search(r"\binterval\s*=\s*(\d+(?:\.\d+)?)", text)
    steps = int(steps_match.group(1)) if steps_match else DEFAULT_STEPS
    interval = float(interval_match.group(1)) if interval_match else DEFAULT_INTERVAL
    return max(0, min(steps, MAX_STEPS)), max(0.0, min(interval, MAX_INTERVAL))


class ProgressAgent:
    """Report progress step by step."""

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        steps, interval = parse_options(context.message.text())
        for step in range(1, steps + 1):
            await asyncio.sleep(interval)
            yield Status(TaskState.WORKING, text=f"step {step}/{steps}")
        yield ArtifactChunk(
            artifact_id="result",
            name="result",
            parts=text_parts(f"finished {steps} steps"),
            last_chunk=True,
        )
