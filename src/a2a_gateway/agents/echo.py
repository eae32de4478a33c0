"""``echo``: streams the user's message back, one word per artifact chunk.

Text comes back word by word (each chunk but the first starts with a space, so the chunks
concatenate to the text); file and data parts come back as chunks of their own.

Limits: a message of more than ``MAX_WORD_CHUNKS`` (1000) words comes back in about that
many text chunks of several words each (the concatenation is the same), so even the
largest message costs about a thousand events and a thousand delays; the ``delay`` option
is clamped to ``[0, MAX_DELAY]`` (1 s).
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from a2a_gateway.agents.base import AgentContext, AgentOutput, ArtifactChunk
from a2a_gateway.models import Part, TextPart

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

MAX_WORD_CHUNKS = 1000
MAX_DELAY = 1.0


class EchoAgent:
    """Echo the message; ``delay`` seconds between chunks make the streaming visible."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = max(0.0, min(float(delay), MAX_DELAY))

    async def run(self, context: AgentContext) -> AsyncIterator[AgentOutput]:
        parts = context.message.parts
        words = sum(len(p.text.split()) for p in parts if isinstance(p, TextPart))
        per_chunk = max(1, math.ceil(words / MAX_WORD_CHUNKS))
        pieces: list[Part] = []
        for part in parts:
            if isinstance(part, TextPart):
                split = part.text.split()
                for start in range(0, len(split), per_chunk):
                    text = " ".join(split[start : start + per_chunk])
                    first = not any(isinstance(p, TextPart) for p in pieces)
                    pieces.append(TextPart(text=text if first else f" {text}"))
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
