"""Delivery in AWS, with moto for Step Functions and a real Valkey: the worker's
dispatcher starts one execution per notification whose input is the sender's contract
(signed, verifiable), dead-letters what no execution may carry, and leaves an entry it
could not start to be tried again."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from a2a_gateway.core.states import TaskState
from a2a_gateway.gateway.protocol import v1_render
from a2a_gateway.models import Artifact, PushNotificationConfig, TaskArtifactUpdateEvent, TextPart
from a2a_gateway.push import keystore
from a2a_gateway.push.dead_letters import DeadLetters
from a2a_gateway.push.delivery import Dispatcher
from a2a_gateway.push.outbox import GROUP, Outbox
from a2a_gateway.push.signing import verify_notification
from a2a_gateway.push.stepfunctions import MAX_INPUT_BYTES, StartExecution
from a2a_gateway.store.eventlog import EventLog, status_event
from a2a_gateway.store.keys import TaskKeys
from tests.integration.test_eventlog import new_task

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from redis.asyncio import Redis

BUCKETS = 4
HOOK = "https://hooks.example.com/a2a?id=7"
ISSUER = "https://gateway.example/"


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    name = f"sf-{uuid.uuid4().hex[:10]}"
    yield name
    found = [key async for key in redis.scan_iter(match=f"{name}:*")]
    if found:
        await redis.delete(*found)


@pytest.fixture
def states() -> Any:
    with mock_aws():
        client = boto3.client("stepfunctions", region_name="us-east-1")
        yield client


def machine(states: Any) -> str:
    definition = {"StartAt": "Send", "States": {"Send": {"Type": "Pass", "End": True}}}
    created = states.create_state_machine(
        name=f"push-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/push",
        type="EXPRESS",
    )
    return str(created["stateMachineArn"])


async def finished_task(log: EventLog, prefix: str, *, artifact_bytes: int = 0) -> TaskKeys:
    keys = TaskKeys.of("alice", f"t-{uuid.uuid4()}", BUCKETS, prefix)
    await log.create(keys, new_task(keys.task_id), agent="echo")
    config = PushNotificationConfig(url=HOOK, id="c1", token="client-token")
    await log.push.set(keys, config, version="0.3", issuer=ISSUER)
    seq = 1
    if artifact_bytes:
        chunk = TaskArtifactUpdateEvent(
            task_id=keys.task_id,
            context_id="c",
            artifact=Artifact(artifact_id="a", parts=[TextPart(text="x" * artifact_bytes)]),
        )
        await log.append_artifact(keys, seq, chunk)
        seq += 1
    done = status_event(keys.task_id, "c", TaskState.COMPLETED, None, final=True)
    await log.append_status(keys, seq, done)
    return keys


class CountedStart(StartExecution):
    """``StartExecution`` that counts its attempts and failures."""

    attempts = 0
    failures = 0

    def _start(self, document: str) -> str:
        self.attempts += 1
        try:
            return super()._start(document)
        except Exception:
            self.failures += 1
            raise


async def run_until(dispatcher: Dispatcher, done: Any, within: float = 20.0) -> None:
    running = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(within):
            while not await done():
                await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def dispatcher_for(redis: Redis, log: EventLog, prefix: str, deliver: Any, keys: Any) -> Dispatcher:
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="w", reclaim_after=3600)

    async def load_keys() -> Any:
        return keys

    return Dispatcher(
        events=log,
        outbox=outbox,
        load_keys=load_keys,
        deliver=deliver,
        render_v1=v1_render.task,
        poll_seconds=0.05,
    )


async def test_each_notification_starts_one_execution_with_a_signed_input(
    redis: Redis, prefix: str, states: Any
) -> None:
    log = EventLog(redis, ttl_seconds=600, maxlen=1000, buckets=BUCKETS, key_prefix=prefix)
    keys = await keystore.load_or_create(redis, prefix)
    arn = machine(states)
    deliver = StartExecution(arn, DeadLetters(redis, prefix), client=states)
    task = await finished_task(log, prefix)

    async def started() -> bool:
        return bool(states.list_executions(stateMachineArn=arn)["executions"])

    await run_until(dispatcher_for(redis, log, prefix, deliver, keys), started)
    (execution,) = states.list_executions(stateMachineArn=arn)["executions"]
    sent = json.loads(states.describe_execution(executionArn=execution["executionArn"])["input"])
    assert set(sent) == {"url", "body", "contentType", "signature", "taskId", "configId", "token"}
    assert sent["url"] == HOOK and sent["token"] == "client-token"
    assert sent["taskId"] == task.task_id and sent["configId"] == "c1"
    body = sent["body"].encode()
    assert json.loads(body)["status"]["state"] == "completed"
    claims = verify_notification(
        sent["signature"], body, jwks=keys.jwks(), issuer=ISSUER, audience=HOOK
    )
    assert claims["jti"] == f"alice:{task.task_id}:1:c1"
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="check")
    assert (await redis.xpending(outbox.key(task.bucket), GROUP))["pending"] == 0


async def test_too_large_for_an_execution_is_dead_lettered_and_a_failed_start_is_kept(
    redis: Redis, prefix: str, states: Any
) -> None:
    log = EventLog(redis, ttl_seconds=600, maxlen=1000, buckets=BUCKETS, key_prefix=prefix)
    keys = await keystore.load_or_create(redis, prefix)
    arn = machine(states)
    dead = DeadLetters(redis, prefix)
    big = await finished_task(log, prefix, artifact_bytes=MAX_INPUT_BYTES)

    async def dead_lettered() -> bool:
        return bool(await dead.all())

    deliver = StartExecution(arn, dead, client=states)
    await run_until(dispatcher_for(redis, log, prefix, deliver, keys), dead_lettered)
    (record,) = await dead.all()
    assert record["taskId"] == big.task_id and record["error"] == "InputTooLarge"
    assert states.list_executions(stateMachineArn=arn)["executions"] == []

    # A start that fails (here: no such state machine) is not dead-lettered: the entry
    # stays pending for a later try.
    lost = await finished_task(log, prefix)
    missing = arn.replace(arn.rsplit(":", 1)[1], "gone")
    failing = CountedStart(missing, dead, client=states)

    async def tried() -> bool:
        return failing.attempts > 0 and failing.failures > 0

    await run_until(dispatcher_for(redis, log, prefix, failing, keys), tried)
    outbox = Outbox(redis, prefix=prefix, buckets=BUCKETS, consumer="check")
    assert (await redis.xpending(outbox.key(lost.bucket), GROUP))["pending"] == 1
    assert [r["taskId"] for r in await dead.all()] == [big.task_id]
