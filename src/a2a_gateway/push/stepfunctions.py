"""Delivery in AWS: one execution of the push state machine per notification.

``StartExecution`` hands the sender's input (``push.sender``'s contract, which carries
what the sender needs and no more: the webhook URL, the exact body, its content type, the
JWT, the config's token and ``Authorization``, the task and config ids) to the Express
state machine (``statemachine/push.asl.json``), whose sender Lambda runs outside the VPC,
retries what may succeed later and dead-letters the rest to SQS without the secrets.

An input over the Express limit (``MAX_INPUT_BYTES``) can never start: it is dead-lettered
here (Redis) at once. Any other failure to start (throttling, the endpoint) raises, so
the outbox entry stays unacknowledged and is tried again when it is reclaimed; a
notification is never dropped for a failed start. boto3 (the ``aws`` extra, in the
worker image) is imported when the first execution starts; its client is made once, in
the thread that first uses it, and shared after (boto3 clients are thread-safe).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from a2a_gateway.push.dead_letters import DeadLetters

MAX_INPUT_BYTES = 256 * 1024
"""Step Functions' limit on an execution's input (UTF-8)."""


class InputTooLarge(Exception):
    """The notification is larger than an execution may carry."""


class StartExecution:
    """A ``Delivery`` that starts one execution of ``state_machine_arn`` per notification."""

    def __init__(self, state_machine_arn: str, dead: DeadLetters, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.dead = dead
        self._client = client
        self._lock = threading.Lock()

    def _states(self) -> Any:
        with self._lock:
            if self._client is None:
                # The aws extra (in the worker image); only a worker in AWS needs it.
                boto3: Any = importlib.import_module("boto3")
                self._client = boto3.client("stepfunctions")
            return self._client

    def _start(self, document: str) -> str:
        answer = self._states().start_execution(
            stateMachineArn=self.state_machine_arn, input=document
        )
        return str(answer["executionArn"])

    async def __call__(self, event: dict[str, Any]) -> None:
        document = json.dumps(event, separators=(",", ":"))
        size = len(document.encode())
        if size > MAX_INPUT_BYTES:
            too_large = InputTooLarge(
                f"{size} bytes; an execution's input may hold {MAX_INPUT_BYTES}"
            )
            await self.dead.add(event, too_large)
            return
        await asyncio.to_thread(self._start, document)
