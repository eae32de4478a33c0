"""From an owed event to notifications, and their delivery without AWS.

``notifications_for`` turns one outbox entry into the sender's input for each of the
task's configs: the payload in the shape of the version the config was set in (0.2.5 and
0.3: the ``Task``; 1.0: a ``StreamResponse`` holding the ``Task``, as
``application/a2a+json``), the body's exact text, the config's token and
``authentication`` (as an ``Authorization`` value), and the JWT that signs it
(``push.signing``: ``jti`` = the event's idempotency key and the config id, the same on
every attempt and every dispatcher). The payload is the task as it is when the
notification is built, with the status the owed event set.

``Dispatcher`` claims outbox entries and hands each notification to a ``Delivery``: in
AWS ``StartExecution`` (``push.stepfunctions``: the Express state machine runs the sender
Lambda, retries and dead-letters to SQS); in ``make dev`` and containers ``SendHere``,
which runs the same sender the Lambda runs (``push.sender``, in a thread) with the
state machine's retry policy (``RetryPolicy``: a first attempt and five retries, 2 s
doubling to at most 60 s, full jitter), never retries a ``PushRejected``, keeps a
dead-letter record in Redis (``DeadLetters``: no URL path, token, credentials or
payload), marks each (event, config) done so that a reclaimed entry does not send again
what was delivered, and acknowledges the entry when every config is done. A dispatcher
killed mid-delivery leaves its entry unacknowledged; another reclaims it and sends what
was not marked done, with the same ``jti``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from redis.exceptions import RedisError

from a2a_gateway.core.states import INTERRUPTED, TERMINAL
from a2a_gateway.models import TaskStatus
from a2a_gateway.push import keystore
from a2a_gateway.push.sender import PushRejected, Sender
from a2a_gateway.push.signing import notification_token

if TYPE_CHECKING:
    from a2a_gateway.models import PushNotificationConfig, Task
    from a2a_gateway.push.dead_letters import DeadLetters
    from a2a_gateway.push.outbox import Outbox, OwedEvent
    from a2a_gateway.push.signing import KeySet
    from a2a_gateway.store.eventlog import EventLog
    from a2a_gateway.store.push_configs import StoredConfig

log = logging.getLogger(__name__)

DONE_SECONDS = 7 * 24 * 3600
MAX_IDLE_SECONDS = 2.0
KEYS_SECONDS = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """The state machine's policy for ``PushDeliveryFailed``: ``attempts`` in all, the
    n-th retry after ``uniform(0, min(cap, base * rate**n))`` seconds."""

    attempts: int = 6
    base: float = 2.0
    rate: float = 2.0
    cap: float = 60.0

    def delay(self, retry: int) -> float:
        return random.uniform(0, min(self.cap, self.base * self.rate**retry))


RenderV1 = Callable[["Task"], dict[str, Any]]
"""1.0's JSON of a ``Task`` (the protocol layer's, handed in by the worker)."""


def payload(task: Task, version: str, render_v1: RenderV1) -> tuple[bytes, str]:
    """The body and content type of a notification about ``task`` for a config set in
    ``version``."""
    if version.startswith("1."):
        document: dict[str, Any] = {"task": render_v1(task)}
        media = "application/a2a+json"
    else:
        document, media = task.dump(), "application/json"
    return json.dumps(document, separators=(",", ":")).encode(), media


def authorization(config: PushNotificationConfig) -> str | None:
    """The ``Authorization`` value the config's ``authentication`` asks for: its first
    scheme and its credentials (``Bearer abc``); none without credentials."""
    auth = config.authentication
    if auth is None or not auth.credentials or not auth.schemes:
        return None
    return f"{auth.schemes[0]} {auth.credentials}"


def sender_input(
    owed: OwedEvent,
    task: Task,
    record: StoredConfig,
    keys: KeySet,
    *,
    issuer: str,
    render_v1: RenderV1,
) -> dict[str, Any]:
    """The sender's input for one config (``push.sender``'s contract)."""
    config = record.config
    config_id = str(config.id)
    body, media = payload(task, record.version, render_v1)
    jti = f"{owed.idempotency_key}:{config_id}"
    signature = notification_token(
        keys.signer,
        issuer=record.issuer or issuer,
        audience=config.url,
        body=body,
        jti=jti,
        task_id=task.id,
    )
    event: dict[str, Any] = {
        "url": config.url,
        "body": body.decode(),
        "contentType": media,
        "signature": signature,
        "taskId": task.id,
        "configId": config_id,
    }
    if config.token:
        event["token"] = config.token
    auth = authorization(config)
    if auth is not None:
        event["authorization"] = auth
    return event


async def notifications_for(
    owed: OwedEvent, events: EventLog, keys: KeySet, render_v1: RenderV1, issuer: str = ""
) -> list[dict[str, Any]]:
    """The sender's inputs for every config of the owed event's task (none if the task
    or its configs are gone)."""
    snapshot = await events.snapshot(owed.keys)
    if snapshot is None:
        return []
    task = await _as_of(owed, events, snapshot.task)
    records = await events.push.records(owed.keys)
    if owed.state not in TERMINAL and owed.state not in INTERRUPTED:
        records = [r for r in records if r.every_status]  # only those that asked for it
    return [sender_input(owed, task, r, keys, issuer=issuer, render_v1=render_v1) for r in records]


async def _as_of(owed: OwedEvent, events: EventLog, task: Task) -> Task:
    """``task`` with the status the owed event set (the task may have moved on since:
    a notification tells of its own event); the task as it is if the event is gone."""
    entries: Any = await events.redis.xrange(owed.keys.events, owed.event_id, owed.event_id)
    for _id, fields in entries or []:
        raw = fields.get(b"e") or fields.get("e")
        status = json.loads(raw).get("status") if raw else None
        if isinstance(status, dict):
            return task.model_copy(update={"status": TaskStatus.model_validate(status)})
    return task


class Delivery(Protocol):
    """Hands one notification (the sender's input) on. Returning means it is done
    (delivered, handed to something that will deliver it, or dead-lettered); raising
    leaves the outbox entry to be reclaimed and tried again later."""

    async def __call__(self, event: dict[str, Any]) -> None: ...


class SendHere:
    """Delivery by the sender in this process: the state machine's retry policy, then
    the Redis dead letters."""

    def __init__(self, sender: Sender, dead: DeadLetters, policy: RetryPolicy) -> None:
        self.sender = sender
        self.dead = dead
        self.policy = policy

    async def __call__(self, event: dict[str, Any]) -> None:
        for attempt in range(self.policy.attempts):
            try:
                await asyncio.to_thread(self.sender.send, event)
                return
            except PushRejected as refused:
                await self.dead.add(event, refused)
                return
            except Exception as failed:  # PushDeliveryFailed, or anything unforeseen
                if attempt == self.policy.attempts - 1:
                    await self.dead.add(event, failed)
                    return
                log.info(
                    "push to %s failed (attempt %d): %s",
                    urlsplit(str(event["url"])).hostname,
                    attempt + 1,
                    type(failed).__name__,
                )
                await asyncio.sleep(self.policy.delay(attempt))


class Dispatcher:
    """Claims the outbox and hands each config's notification to ``deliver`` (module
    docstring)."""

    def __init__(
        self,
        *,
        events: EventLog,
        outbox: Outbox,
        load_keys: Callable[[], Awaitable[KeySet]],
        deliver: Delivery,
        render_v1: RenderV1,
        concurrency: int = 16,
        poll_seconds: float = 0.25,
        issuer: str = "",
    ) -> None:
        self.events = events
        self.outbox = outbox
        self.load_keys = load_keys
        self.keys: KeySet | None = None
        self.deliver = deliver
        self.render_v1 = render_v1
        self.poll_seconds = poll_seconds
        self.issuer = issuer
        self.concurrency = concurrency
        self._keys_read = 0.0
        self._running: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Claim and deliver until cancelled, at most about ``concurrency`` entries at a
        time; deliveries in flight are cancelled with it (their entries stay
        unacknowledged, to be reclaimed). While nothing is owed the poll interval doubles
        up to ``MAX_IDLE_SECONDS``; an outbox that cannot be read (Redis down, or its
        groups lost) is logged and read again later, with its groups made again."""
        idle = self.poll_seconds
        try:
            while True:
                free = self.concurrency - len(self._running)
                try:
                    owed = await self.outbox.claim(free) if free > 0 else []
                except (RedisError, OSError) as err:
                    log.warning("push outbox unreadable (%s: %s)", type(err).__name__, err)
                    self.outbox.forget_groups()
                    await asyncio.sleep(MAX_IDLE_SECONDS)
                    continue
                for entry in owed:
                    task = asyncio.create_task(self._deliver_entry(entry))
                    self._running.add(task)
                    task.add_done_callback(self._finished)
                if owed:
                    idle = self.poll_seconds
                else:
                    await asyncio.sleep(idle)
                    idle = min(idle * 2, MAX_IDLE_SECONDS)
        finally:
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(*self._running, return_exceptions=True)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:  # not handed on: the entry stays, to be reclaimed and retried
            log.warning(
                "push notification not handed on (%s: %s); it will be retried",
                type(error).__name__,
                str(error)[:200],
            )

    async def _signing_keys(self) -> KeySet:
        """The key set, re-read from its store every ``KEYS_SECONDS`` (rotations) and
        published for the gateways each time."""
        if self.keys is None or time.monotonic() - self._keys_read >= KEYS_SECONDS:
            self.keys = await self.load_keys()
            await keystore.publish(self.events.redis, self.outbox.prefix, self.keys)
            self._keys_read = time.monotonic()
        return self.keys

    async def start(self) -> None:
        """Read and publish the keys now (the gateways serve them from then on)."""
        await self._signing_keys()

    async def _deliver_entry(self, owed: OwedEvent) -> None:
        keeping = asyncio.create_task(self._keep_claimed(owed))
        try:
            await self._deliver_configs(owed)
        finally:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
        await self.outbox.ack(owed)

    async def _keep_claimed(self, owed: OwedEvent) -> None:
        """While the entry is being delivered, keep other consumers from reclaiming it."""
        while True:
            await asyncio.sleep(self.outbox.reclaim_after / 3)
            with contextlib.suppress(RedisError, OSError):  # then it may be reclaimed
                await self.outbox.touch(owed)

    async def _deliver_configs(self, owed: OwedEvent) -> None:
        keys = await self._signing_keys()
        notifications = await notifications_for(
            owed, self.events, keys, self.render_v1, self.issuer
        )
        redis = self.events.redis
        for event in notifications:
            config_id = str(event["configId"])
            if await redis.hexists(owed.done_key, config_id):
                continue  # delivered (or dead-lettered) before this entry was reclaimed
            await self.deliver(event)
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hset(owed.done_key, config_id, "1")
                pipe.expire(owed.done_key, DONE_SECONDS)
                await pipe.execute()
