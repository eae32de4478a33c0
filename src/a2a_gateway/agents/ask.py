"""``ask``: asks a question (``input-required``) and completes with the answer.

Turn 0 asks; the follow-up message, sent with the same ``taskId``, starts turn 1, which
answers with an artifact (``Hello, <answer>!``) and completes.

Long conversations: ``rounds=N`` in the task's *first* message (history[0]) makes the
agent ask N times, one question per turn with its number in it, before it answers the
last reply. N is clamped to ``[1, MAX_ROUNDS]``; without it there is one round.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk, Status, text_parts
from a2a_gateway.core.states import TaskState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

QUESTION = "What is your name?"
MAX_ROUNDS = 1000


def parse_rounds(text: str) -> int:
    """``N`` from ``rounds=N`` anywhere in ``text``, clamped to ``[1, MAX_ROUNDS]``; 1 if absent."""
    match = re.search(r"\brounds\s*=\s*(\d+)", text)
    rounds = int(match.group(1)) if match else 1
    return max(1, min(rounds, MAX_ROUNDS))


def question(number: int, rounds: int) -> str:
    """The question of round ``number`` (1-based) of ``rounds``."""
    return QUESTION if rounds == 1 else f"{QUESTION} (question {number} of {rounds})"


class AskAgent:
    """``rounds`` questions, then a greeting for the last answer."""

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        first = context.history[0] if context.history else context.message
        rounds = parse_rounds(first.text())
        if context.turn < rounds:
            yield Status(TaskState.INPUT_REQUIRED, text=question(context.turn + 1, rounds))
            return
        answer = context.message.text().strip() or "stranger"
        yield ArtifactChunk(
            artifact_id="answer",
            name="answer",
            parts=text_parts(f"Hello, {answer}!"),
            last_chunk=True,
        )
