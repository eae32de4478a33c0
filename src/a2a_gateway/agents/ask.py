"""``ask``: asks a question (``input-required``) and completes with the answer.

Turn 0 asks; the follow-up message, sent with the same ``taskId``, starts turn 1, which
answers with an artifact and completes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk, Status, text_parts
from a2a_gateway.core.states import TaskState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

QUESTION = "What is your name?"


class AskAgent:
    """One question, one answer."""

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        if context.turn == 0:
            yield Status(TaskState.INPUT_REQUIRED, text=QUESTION)
            return
        answer = context.message.text().strip() or "stranger"
        yield ArtifactChunk(
            artifact_id="answer",
            name="answer",
            parts=text_parts(f"Hello, {answer}!"),
            last_chunk=True,
        )
