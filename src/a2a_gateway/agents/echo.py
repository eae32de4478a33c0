"""``echo``: streams the user's message back, one word per artifact chunk.

Text comes back word by word (each chunk but the first starts with a space, so the chunks
concatenate to the text); file and data parts come back as chunks of their own.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk
from a2a_gateway.models import Part, TextPart

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


class EchoAgent:
    """Echo the message; ``delay`` seconds between chunks make the streaming visible."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        pieces: list[Part] = []
        for part in context.message.parts:
            if isinstance(part, TextPart):
                words = part.text.split()
                for word in words:
                    first = not any(isinstance(p, TextPart) for p in pieces)
                    pieces.append(TextPart(text=word if first else f" {word}"))
            else:
                pieces.append(part)
        if not pieces:
            pieces = [TextPart(text="")]
        for index, piece in enumerate(pieces):
            if index and self.delay:
                await asyncio.sleep(self.delay)
            yield ArtifactChunk(
                artifact_id="echo",
                name="echo",
                parts=[piece],
                append=index > 0,
                last_chunk=index == len(pieces) - 1,
            )
