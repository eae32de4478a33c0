"""Agent plug-ins for end-to-end tests, loaded by a worker the test starts with its own
routes file (``"entrypoint": "tests.e2e.agents:BigOutputAgent"``)."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk, Status, text_parts
from a2a_gateway.core.states import TaskState

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


def chunk_text(index: int, size: int) -> str:
    """The ``index``-th chunk of the big artifact: ``size`` characters that differ from one
    chunk to the next, so a lost, repeated or reordered chunk shows."""
    seed = hashlib.sha256(str(index).encode()).hexdigest()
    return (seed * (size // len(seed) + 1))[:size]


def artifact_text(chunks: int, chunk_size: int) -> str:
    """The whole artifact ``BigOutputAgent(chunks, chunk_size)`` produces."""
    return "".join(chunk_text(i, chunk_size) for i in range(chunks))


def report_text(index: int, size: int) -> str:
    """The ``index``-th large ``working`` status message."""
    return f"report {index}: " + "é" * size


class BigOutputAgent:
    """Produces several megabytes in one turn: ``reports`` ``working`` statuses whose
    messages hold ``report_size`` characters each, then one artifact in ``chunks`` chunks of
    ``chunk_size`` characters."""

    def __init__(
        self,
        chunks: int = 16,
        chunk_size: int = 256 * 1024,
        reports: int = 3,
        report_size: int = 512 * 1024,
    ) -> None:
        self.chunks = chunks
        self.chunk_size = chunk_size
        self.reports = reports
        self.report_size = report_size

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        for index in range(self.reports):
            yield Status(TaskState.WORKING, text=report_text(index, self.report_size))
        for index in range(self.chunks):
            yield ArtifactChunk(
                artifact_id="big",
                name="big",
                parts=text_parts(chunk_text(index, self.chunk_size)),
                append=index > 0,
                last_chunk=index == self.chunks - 1,
            )
