"""The agent plug-in contract.

An agent's ``run`` is called once per *turn*: the first user message starts turn 0, and
every follow-up message to a task in ``input-required`` starts the next turn. It yields
``Status`` and ``ArtifactChunk`` values, which the worker publishes in order as A2A
events. A turn ends when the agent yields a terminal or interrupted ``Status``
(``input-required``, ``auth-required``) or returns; returning means ``completed``.

Retries: if the worker dies mid-turn, Temporal runs the turn again from the start, and
events already published are dropped by sequence number. An agent that yields the same
outputs in the same order is therefore exactly-once; one that does not (a model call,
say) is at-least-once from the point it diverges.

Cancellation: ``run`` is cancelled (``asyncio.CancelledError``) at any ``await``; the
worker then publishes the final ``canceled`` status itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from a2a_gateway.models import Message, Part, TextPart

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from a2a_gateway.core.states import TaskState


@dataclass(frozen=True)
class AgentContext:
    """What a turn knows: the task, the message that started the turn, and the history."""

    task_id: str
    context_id: str
    message: Message
    history: list[Message]
    turn: int


@dataclass(frozen=True)
class Status:
    """A status change, optionally with a message from the agent to the client."""

    state: TaskState
    text: str | None = None
    parts: list[Part] = field(default_factory=list)


@dataclass(frozen=True)
class ArtifactChunk:
    """A piece of an artifact: ``append`` adds to the artifact with the same id."""

    artifact_id: str
    parts: list[Part]
    name: str | None = None
    append: bool = False
    last_chunk: bool = False


AgentOutput = Status | ArtifactChunk


class Agent(Protocol):
    """An agent plug-in; see the module docstring for lifecycle and retry rules."""

    def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]: ...


def text_parts(text: str) -> list[Part]:
    """One text part holding ``text``."""
    return [TextPart(text=text)]
