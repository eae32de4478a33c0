"""The push dispatcher a worker runs while ``A2A_PUSH_NOTIFICATIONS`` is on
(``push.delivery``): wired from the settings here, where the protocol layer's 1.0
rendering is handed to it (so the push package does not depend on the gateway's)."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from a2a_gateway.gateway.protocol import v1_render
from a2a_gateway.push import keystore, secret_keys
from a2a_gateway.push.dead_letters import DeadLetters
from a2a_gateway.push.delivery import Delivery, Dispatcher, RetryPolicy, SendHere
from a2a_gateway.push.outbox import Outbox
from a2a_gateway.push.sender import Sender
from a2a_gateway.push.stepfunctions import StartExecution

if TYPE_CHECKING:
    from a2a_gateway.config import Settings
    from a2a_gateway.push.signing import KeySet
    from a2a_gateway.store.eventlog import EventLog


async def dispatcher(settings: Settings, events: EventLog) -> Dispatcher:
    """The dispatcher a worker runs while ``A2A_PUSH_NOTIFICATIONS`` is on: it starts the
    state machine's executions when ``A2A_PUSH_STATE_MACHINE_ARN`` names one (AWS), and
    sends from this process otherwise. One outbox consumer per process."""
    prefix = settings.key_prefix
    outbox = Outbox(
        events.redis,
        prefix=prefix,
        buckets=settings.buckets,
        consumer=f"{socket.gethostname()}-{os.getpid()}",
        reclaim_after=settings.push_reclaim_seconds,
    )
    dead = DeadLetters(events.redis, prefix)
    deliver: Delivery
    if settings.push_state_machine_arn:
        deliver = StartExecution(settings.push_state_machine_arn, dead)
    else:
        sender = Sender(
            timeout=settings.push_timeout_seconds, allow_private=settings.push_allow_private
        )
        policy = RetryPolicy(attempts=settings.push_attempts, base=settings.push_retry_seconds)
        deliver = SendHere(sender, dead, policy)
    secret = settings.push_signing_keys_secret

    async def load_keys() -> KeySet:
        if secret:
            return await secret_keys.load(events.redis, prefix, secret)
        return await keystore.load_or_create(events.redis, prefix)

    ready = Dispatcher(
        events=events,
        outbox=outbox,
        load_keys=load_keys,
        deliver=deliver,
        render_v1=v1_render.task,
        issuer=settings.public_url,
    )
    await ready.start()
    return ready
