"""The requests each workload sends to each server, and our side's event publisher.

Three servers answer the same workload with the same events per stream: an opening event
(our ``Task``, the peer's ``Task``, the floor's hello), N ``working`` status updates and a
final one, each stamped with ``status.timestamp`` when produced.

* **ours, end to end**: ``message/stream`` to the ``progress`` agent; the Temporal worker
  stamps and appends every event (``steps=N interval=S``).
* **ours, direct**: to measure the gateway itself at 1,000-10,000 streams without making
  the single local Temporal worker the bottleneck, the runner creates the tasks in Redis
  and appends their events through the very script the worker uses
  (``EventLog.append_status``), stamping each event as it publishes it, exactly as the
  worker does; the clients follow them with ``tasks/resubscribe``, which serves them
  through the same hub and SSE path as ``message/stream``.
* **peer / floor**: the events are produced in the server process itself, after the
  runner's start signal.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING

from a2a_gateway.core.states import TaskState
from a2a_gateway.models import Message, Task, TaskStatus, TextPart, now_iso
from a2a_gateway.routing import builtin
from a2a_gateway.store.eventlog import status_event
from a2a_gateway.store.keys import ANONYMOUS
from a2a_gateway_dev.bench.client import StreamSpec

if TYPE_CHECKING:
    from a2a_gateway.store.eventlog import EventLog

PUBLISHERS = 64  # concurrent appends of the direct publisher (its connection pool bound)


def _rpc(method: str, params: dict[str, object], request_id: int) -> bytes:
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return json.dumps(body, separators=(",", ":")).encode()


def _message(text: str, task_id: str | None = None) -> dict[str, object]:
    message: dict[str, object] = {
        "role": "user",
        "messageId": uuid.uuid4().hex,
        "parts": [{"kind": "text", "text": text}],
    }
    if task_id:
        message["taskId"] = task_id
    return message


def ours_progress(count: int, steps: int, interval: float, prefix: str) -> list[StreamSpec]:
    """``message/stream`` to our ``progress`` agent (Temporal + worker on the path)."""
    text = f"steps={steps} interval={interval}"
    return [
        StreamSpec(
            "POST",
            "/agents/progress",
            _rpc("message/stream", {"message": _message(text, f"{prefix}-{i}")}, i),
        )
        for i in range(count)
    ]


def ours_resubscribe(task_ids: list[str]) -> list[StreamSpec]:
    """``tasks/resubscribe`` (no Last-Event-ID: the Task, then every new event)."""
    return [
        StreamSpec("POST", "/", _rpc("tasks/resubscribe", {"id": task_id}, i))
        for i, task_id in enumerate(task_ids)
    ]


def peer_stream(count: int, steps: int, interval: float, run: str = "") -> list[StreamSpec]:
    """``message/stream`` to the a2a-sdk peer's equivalent agent."""
    text = f"steps={steps} interval={interval}" + (f" run={run}" if run else "")
    return [
        StreamSpec("POST", "/", _rpc("message/stream", {"message": _message(text)}, i))
        for i in range(count)
    ]


def floor_stream(count: int, steps: int, interval: float, run: str = "") -> list[StreamSpec]:
    """The floor's counter stream."""
    path = f"/sse?steps={steps}&interval={interval}" + (f"&run={run}" if run else "")
    return [StreamSpec("GET", path) for _ in range(count)]


async def create_tasks(events: EventLog, task_ids: list[str]) -> None:
    """Tasks in state ``working``, created through the append script as the gateway does."""
    gate = asyncio.Semaphore(PUBLISHERS)

    async def one(task_id: str) -> None:
        task = Task(
            id=task_id,
            context_id=f"ctx-{task_id}",
            status=TaskStatus(state=TaskState.WORKING, timestamp=now_iso()),
            history=[Message(message_id=f"m-{task_id}", role="user", parts=[TextPart(text="go")])],
        )
        async with gate:
            # owned by the default agent, which "/" (where the clients post) serves
            await events.create(events.keys(ANONYMOUS, task_id), task, agent=builtin().default)

    await asyncio.gather(*(one(t) for t in task_ids))


async def _append(events: EventLog, task_id: str, step: int, steps: int) -> None:
    keys = events.keys(ANONYMOUS, task_id)
    context_id = f"ctx-{task_id}"
    if step > steps:
        event = status_event(task_id, context_id, TaskState.COMPLETED, None, True)
    else:
        message = Message(
            message_id=f"{task_id}-s{step}",
            role="agent",
            parts=[TextPart(text=f"step {step}/{steps}")],
            task_id=task_id,
            context_id=context_id,
        )
        event = status_event(task_id, context_id, TaskState.WORKING, message, False)
    await events.append_status(keys, step, event)


async def publish(events: EventLog, task_ids: list[str], steps: int, interval: float) -> None:
    """``steps`` working updates and a final ``completed`` per task, stamped when appended.
    ``interval`` 0: back to back (``PUBLISHERS`` appends in flight, each task's in order);
    otherwise one per task every ``interval`` seconds, tasks spread evenly over it."""
    if interval <= 0:

        async def lane(mine: list[str]) -> None:
            for step in range(1, steps + 2):
                for task_id in mine:
                    await _append(events, task_id, step, steps)

        await asyncio.gather(*(lane(task_ids[i::PUBLISHERS]) for i in range(PUBLISHERS)))
        return
    begin = time.monotonic()
    gate = asyncio.Semaphore(PUBLISHERS)

    async def paced(index: int, task_id: str) -> None:
        phase = interval * index / max(len(task_ids), 1)
        for step in range(1, steps + 2):
            delay = begin + phase + (min(step, steps) - 1) * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            async with gate:
                await _append(events, task_id, step, steps)

    await asyncio.gather(*(paced(i, t) for i, t in enumerate(task_ids)))


def self_paced(
    server: str, count: int, steps: int, interval: float, prefix: str
) -> list[StreamSpec]:
    """The same self-paced workload for any server: our ``progress`` agent, the peer's
    equivalent agent, or the floor's counter (``server`` is the name: ours*, peer, floor)."""
    if server.startswith("ours"):
        return ours_progress(count, steps, interval, prefix)
    if server == "peer":
        return peer_stream(count, steps, interval)
    return floor_stream(count, steps, interval)
