"""The peer: the official a2a-sdk 0.2.x reference server running an equivalent agent.

``A2AStarletteApplication`` + ``DefaultRequestHandler`` + ``InMemoryTaskStore``, as the
SDK's samples wire them, under the same uvicorn as ours. The agent takes the same text as
the benchmark's workloads, ``steps=N interval=S [run=R]``: it enqueues the ``Task``, and
(after the runner's start signal when a run id is given) N ``working`` status updates
with a message each, then ``completed``: the same events, in the same shape, as our
stream carries for the same workload. ``POST /bench/go?run=R`` is the start signal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.apps import A2AStarletteApplication
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentSkill, TaskState
from a2a.utils import new_agent_text_message, new_task
from starlette.responses import Response
from starlette.routing import Route

from a2a_gateway_dev.bench.floor import Signals, paced

if TYPE_CHECKING:
    from a2a.server.events import EventQueue
    from starlette.applications import Starlette
    from starlette.requests import Request


def parse(text: str) -> tuple[int, float, str]:
    """``(steps, interval, run)`` from ``steps=N interval=S run=R``."""
    steps = re.search(r"\bsteps=(\d+)", text)
    interval = re.search(r"\binterval=(\d+(?:\.\d+)?)", text)
    run = re.search(r"\brun=([\w.-]+)", text)
    return (
        int(steps.group(1)) if steps else 5,
        float(interval.group(1)) if interval else 1.0,
        run.group(1) if run else "",
    )


class ProgressExecutor(AgentExecutor):
    """Equivalent of our ``progress`` agent for the benchmark's workloads."""

    def __init__(self, signals: Signals) -> None:
        self.signals = signals

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        steps, interval, run = parse(context.get_user_input())
        task = context.current_task
        if task is None:
            assert context.message is not None
            task = new_task(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        if run and not await self.signals.wait(run):
            await updater.complete()
            return
        async for step in paced(steps, interval):
            message = new_agent_text_message(f"step {step}/{steps}", task.context_id, task.id)
            await updater.update_status(TaskState.working, message)
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None:
            await TaskUpdater(event_queue, task.id, task.context_id).cancel()


def card(url: str = "http://127.0.0.1/") -> AgentCard:
    return AgentCard(
        name="bench-peer",
        description="a2a-sdk reference server running the benchmark's progress workload",
        url=url,
        version="0.1.0",
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(id="progress", name="progress", description="progress steps", tags=["bench"])
        ],
    )


def create_app() -> Starlette:
    signals = Signals()
    handler = DefaultRequestHandler(
        agent_executor=ProgressExecutor(signals), task_store=InMemoryTaskStore()
    )
    app = A2AStarletteApplication(agent_card=card(), http_handler=handler).build()

    async def go(request: Request) -> Response:
        signals.fire(request.query_params["run"], abort="abort" in request.query_params)
        return Response(status_code=204)

    app.router.routes.append(Route("/bench/go", go, methods=["POST"]))
    return app
