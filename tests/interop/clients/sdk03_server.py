"""An A2A server we did not write: the official a2a-sdk 0.3.x reference server
(``A2AStarletteApplication`` + ``DefaultRequestHandler`` + ``InMemoryTaskStore``, wired
as the SDK's samples wire them) under uvicorn, with a progress agent. Its stream events
carry no ``id:``, and it keeps a task running when its streaming client goes away (0.3.x
consumes the events in the background), so a client can resubscribe to it.

Usage: ``sdk03_server.py PORT``, run with the 0.3 interop venv's Python. The agent reads
``steps=N interval=S`` and sends the ``Task``, N ``working`` statuses with the message
``step i/N``, then ``completed``.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import TYPE_CHECKING

import uvicorn
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentSkill, TaskState
from a2a.utils import new_agent_text_message, new_task

if TYPE_CHECKING:
    from a2a.server.events import EventQueue


def number(pattern: str, text: str, default: float) -> float:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else default


class Progress(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        steps = int(number(r"\bsteps=(\d+)", text, 5))
        interval = number(r"\binterval=(\d+(?:\.\d+)?)", text, 0.2)
        task = context.current_task
        if task is None:
            assert context.message is not None
            task = new_task(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        for step in range(1, steps + 1):
            await asyncio.sleep(interval)
            message = new_agent_text_message(f"step {step}/{steps}", task.context_id, task.id)
            await updater.update_status(TaskState.working, message)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None:
            await TaskUpdater(event_queue, task.id, task.context_id).cancel()


def main() -> None:
    port = int(sys.argv[1])
    card = AgentCard(
        name="sdk03-progress",
        description="the a2a-sdk 0.3 reference server with a progress agent",
        url=f"http://127.0.0.1:{port}/",
        version="0.1.0",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="progress", name="progress", description="steps", tags=["test"])],
    )
    handler = DefaultRequestHandler(agent_executor=Progress(), task_store=InMemoryTaskStore())
    app = A2AStarletteApplication(agent_card=card, http_handler=handler).build()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
