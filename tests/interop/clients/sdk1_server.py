"""An A2A server we did not write: the official a2a-sdk 1.x reference server
(``create_agent_card_routes`` + ``create_jsonrpc_routes`` over ``DefaultRequestHandler``
and ``InMemoryTaskStore``, in a plain ``Starlette`` app, wired as the SDK's v1.0
migration guide wires them) under uvicorn, with a progress agent. It speaks JSON-RPC
1.0 only (the 0.3 dialect is off under the default ``enable_v0_3_compat=False``: a 0.3
method name is "Method not found", and a 1.0 method without ``A2A-Version: 1.0`` is
refused as version 0.3). Its stream events carry no ``id:``, and it keeps a task running
when its streaming client goes away (the agent runs in an ``ActiveTask`` of its own), so a
client can resubscribe to it: ``SubscribeToTask`` sends the current ``Task`` first, then
only the events that follow.

Usage: ``sdk1_server.py PORT``, run with the 1.x interop venv's Python. The card is at
``/.well-known/agent-card.json``, the JSON-RPC endpoint at ``/``. The agent reads
``steps=N interval=S`` and sends the ``Task``, N ``working`` statuses with the message
``step i/N``, then ``completed``.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import TYPE_CHECKING

import uvicorn
from a2a.helpers import new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill, TaskState
from a2a.utils.constants import DEFAULT_RPC_URL, PROTOCOL_VERSION_1_0, TransportProtocol
from starlette.applications import Starlette

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
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        for step in range(1, steps + 1):
            await asyncio.sleep(interval)
            message = updater.new_agent_message([new_text_part(f"step {step}/{steps}")])
            await updater.update_status(TaskState.TASK_STATE_WORKING, message)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None:
            await TaskUpdater(event_queue, task.id, task.context_id).cancel()


def main() -> None:
    port = int(sys.argv[1])
    card = AgentCard(
        name="sdk1-progress",
        description="the a2a-sdk 1.x reference server with a progress agent",
        supported_interfaces=[
            AgentInterface(
                url=f"http://127.0.0.1:{port}{DEFAULT_RPC_URL}",
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=PROTOCOL_VERSION_1_0,
            )
        ],
        version="0.1.0",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="progress", name="progress", description="steps", tags=["test"])],
    )
    handler = DefaultRequestHandler(
        agent_executor=Progress(), task_store=InMemoryTaskStore(), agent_card=card
    )
    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url=DEFAULT_RPC_URL),
    ]
    uvicorn.run(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
