"""The A2A operations on the internal model: params in, domain objects and events out.

Every protocol version and binding calls this one service (the protocol layer parses its
requests into ``a2a_gateway.models`` and renders what comes back); it knows nothing of
JSON-RPC envelopes or SSE. Where versions differ in semantics, ``Call.version`` says which
applies.

No task state lives here (brief, decision 6): every method reads Redis and talks to
Temporal through the ``TaskRunner``, so any gateway instance can serve any task.

Streams start with a ``TaskSnapshot`` and then follow the task's Redis stream; each item
carries the Redis entry id it reflects, so a client can resume after any item with
``Last-Event-ID``. A stream ends after the first event marked ``final``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from redis.exceptions import RedisError

from a2a_gateway.core.contract import MessageRef, TaskInput
from a2a_gateway.core.extensions import PUSH_EVERY_STATUS
from a2a_gateway.core.states import TaskState
from a2a_gateway.errors import (
    ContentTypeNotSupportedError,
    InternalError,
    InvalidAgentResponseError,
    InvalidParamsError,
    LimitExceededError,
    LimitsUnavailableError,
    PushNotificationNotSupportedError,
    RPCError,
    TaskNotCancelableError,
    TaskNotFoundError,
    TaskTerminalError,
    UnsupportedOperationError,
)
from a2a_gateway.gateway.budget import TokenBucket
from a2a_gateway.gateway.events import TaskSnapshot
from a2a_gateway.gateway.follow import follow
from a2a_gateway.gateway.quota import refusal, unavailable
from a2a_gateway.limit_classes import Limits
from a2a_gateway.models import (
    Task,
    TaskPushNotificationConfig,
    TaskStatus,
    now_iso,
    trim_history,
)
from a2a_gateway.modes import any_match, part_media_type
from a2a_gateway.push.webhook_url import WebhookRefused, check_webhook_url
from a2a_gateway.store.eventlog import entry_key, is_entry_id, status_event
from a2a_gateway.store.hub import SubscriptionEnded
from a2a_gateway.store.keys import is_valid_id
from a2a_gateway.store.push_configs import PushConfigLimitError
from a2a_gateway.store.quotas import MAX_LEASE_TTL_SECONDS, RUNNING_TASKS
from a2a_gateway.store.task_index import InvalidPageToken

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from a2a_gateway.config import Settings
    from a2a_gateway.gateway.events import StreamItem
    from a2a_gateway.gateway.runner import TaskRunner
    from a2a_gateway.models import (
        DeleteTaskPushNotificationConfigParams,
        GetTaskPushNotificationConfigParams,
        ListTasksParams,
        Message,
        MessageSendParams,
        PushNotificationConfig,
        TaskIdParams,
        TaskQueryParams,
    )
    from a2a_gateway.routing import Route
    from a2a_gateway.store.eventlog import EventLog, Snapshot
    from a2a_gateway.store.hub import StreamHub
    from a2a_gateway.store.keys import TaskKeys

log = logging.getLogger(__name__)
T = TypeVar("T")
PUSH_OFF = "Push notifications are not enabled on this deployment (set A2A_PUSH_NOTIFICATIONS=true)"
CANCEL_WAIT_SECONDS = 10.0
TURN_LEASE_MARGIN_SECONDS = 300.0
PUSH_RETRY_AFTER_SECONDS = 60


V1 = "1.0"


@dataclass(frozen=True)
class Call:
    """Who is calling, through which agent's URL, in which protocol version (``0.2``,
    ``0.3`` or ``1.0``), resuming after which event, with which stream deadline, under
    which per-principal limits, and where clients reach this gateway (``base_url``: the
    issuer of the push notifications a config set by this call will get)."""

    principal: str
    route: Route
    version: str = "0.3"
    last_event_id: str | None = None
    deadline: float | None = None
    limits: Limits = field(default_factory=Limits)
    base_url: str = ""
    extensions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TaskPage:
    """One page of ``list_tasks``: newest first; ``next_page_token`` is empty on the last."""

    tasks: list[Task]
    next_page_token: str
    page_size: int
    total_size: int


@dataclass(frozen=True)
class Submission:
    """A message accepted for a task: the task as the client should first see it, and the
    stream position after which the task's further events follow."""

    keys: TaskKeys
    task: Task
    event_id: str
    settled: bool = False


class A2AService:
    """Implements the A2A methods on an event log and a task runner."""

    def __init__(
        self, events: EventLog, hub: StreamHub, runner: TaskRunner, settings: Settings
    ) -> None:
        self.events = events
        self.hub = hub
        self.runner = runner
        self.settings = settings
        self.push = events.push
        self.lookups = TokenBucket(settings.rebuild_queries_per_second)
        self._background: set[asyncio.Future[Any]] = set()

    async def _snapshot(self, call: Call, task_id: str) -> Snapshot:
        snapshot = await self._find(call, task_id)
        if snapshot is None:
            raise TaskNotFoundError(data={"taskId": task_id})
        return snapshot

    async def _find(self, call: Call, task_id: str) -> Snapshot | None:
        """The task, if this caller may reach it through this agent's URL: from Redis, or,
        if Redis has lost it, rebuilt from its workflow (the source of truth) and written
        back. A task owned by another agent is not found, exactly like one that never
        existed. Lookups that find nothing are remembered briefly in Redis, and Temporal
        queries for unknown ids are rate-limited, so a flood of unknown ids costs Redis
        reads, not Temporal queries."""
        keys = self.events.keys(call.principal, task_id)
        try:
            snapshot = await self.events.snapshot(keys)
            if snapshot is None:
                snapshot = await self._rebuild(call, keys)
        except ValidationError:
            log.exception("task %s does not validate as an A2A Task", task_id)
            raise InvalidAgentResponseError(data={"taskId": task_id}) from None
        if snapshot is None or snapshot.agent != call.route.name:
            return None
        return snapshot

    async def _rebuild(self, call: Call, keys: TaskKeys) -> Snapshot | None:
        if await self.events.known_missing(keys):
            return None
        if not self.lookups.take():
            log.info("task lookup budget spent; %s treated as unknown", keys.task_id)
            return None
        view = await self.runner.task(call.principal, keys.task_id)
        if view is None:
            await self.events.remember_missing(keys, self.settings.miss_cache_seconds)
            return None
        log.warning("task %s missing from Redis; rebuilt from its workflow", keys.task_id)
        await self.events.create(keys, Task.model_validate(view.wire()), agent=view.agent)
        return await self.events.snapshot(keys)

    # -- message/send and message/stream ---------------------------------------------

    async def submit(self, call: Call, params: MessageSendParams) -> Submission:
        """Create a task for the message, or deliver it to the task it names.

        A ``taskId`` that names no task creates one with that id, so a client may retry
        a request blindly; a message already in the task's history is such a retry and
        changes nothing. A follow-up reaches a task only in ``input-required`` or
        ``auth-required``; a final task refuses it.
        """
        message = params.message
        self._negotiate(call.route, params)
        task_id = message.task_id
        if task_id is not None:
            if not is_valid_id(task_id):
                raise InvalidParamsError(
                    "message.taskId must be 1-128 letters, digits, '.', '_' or '-'",
                    data={"taskId": task_id},
                )
            keys = self.events.keys(call.principal, task_id)
            snapshot = await self._find(call, task_id)
            if snapshot is not None:
                await self._push_from_message(call, keys, params)
                return await self._deliver(call, keys, snapshot, params)
            if call.version == V1:  # 1.0 §3.4.2: a taskId must name an existing task
                raise TaskNotFoundError(data={"taskId": task_id})
        else:
            task_id = str(uuid.uuid4())
            keys = self.events.keys(call.principal, task_id)
        context_id = message.context_id or str(uuid.uuid4())
        first = message.model_copy(update={"task_id": task_id, "context_id": context_id})
        task = Task(
            id=task_id,
            context_id=context_id,
            status=TaskStatus(state=TaskState.SUBMITTED, timestamp=now_iso()),
            history=[first],
            metadata=params.metadata,
        )
        created = await self.events.create(keys, task, agent=call.route.name)
        if not created.appended:  # it exists: created concurrently, or by another agent
            snapshot = await self._find(call, task_id)
            if snapshot is None:
                raise TaskNotFoundError(data={"taskId": task_id})
            await self._push_from_message(call, keys, params)
            return await self._deliver(call, keys, snapshot, params)
        try:
            await self._hold_turn(call, task_id)
        except (LimitExceededError, LimitsUnavailableError):  # refused, or not knowable now
            with contextlib.suppress(RedisError, OSError):  # Redis may be what is unavailable
                await self.events.discard(keys)
            raise
        await self._push_from_message(call, keys, params)
        try:
            await self._start(call, task, first)
        except Exception:
            log.exception("could not start the workflow of task %s", task_id)
            await self.events.discard(keys)
            await self.events.quotas.release(call.principal, RUNNING_TASKS, task_id)
            raise InternalError("The task could not be scheduled; retry later.") from None
        return Submission(keys, task, created.entry_id)

    async def _push_from_message(
        self, call: Call, keys: TaskKeys, params: MessageSendParams
    ) -> None:
        """The push config a message carries is stored before its turn starts (for a new
        task and for a follow-up alike), so that turn already notifies it."""
        config = params.configuration
        if config is not None and config.push_notification_config is not None:
            await self._push_set(call, keys, config.push_notification_config)

    async def _hold_turn(self, call: Call, task_id: str) -> None:
        """Count the task against its principal's ``runningTasks`` until its status is
        final or interrupted (the event log gives the lease back then), or
        ``LimitExceededError``. The lease outlives the longest turn, so one whose release
        was lost (a crash between) frees itself."""
        policy = call.route.policy
        ttl = min(
            policy.turn_timeout_seconds * policy.turn_attempts + TURN_LEASE_MARGIN_SECONDS,
            MAX_LEASE_TTL_SECONDS,
        )
        allowed = call.limits.running_tasks
        quotas = self.events.quotas
        try:
            refused = await quotas.acquire(call.principal, RUNNING_TASKS, task_id, allowed, ttl)
        except (RedisError, OSError) as err:
            raise unavailable(err) from None
        if refused is not None:
            raise refusal(refused, RUNNING_TASKS)

    def _negotiate(self, route: Route, params: MessageSendParams) -> None:
        """Refuse what the agent cannot take or the client cannot read (-32005), and push
        configuration when push notifications are off (-32003) or its URL is refused
        (-32602), before anything is created."""
        for part in params.message.parts:
            media = part_media_type(part)
            if not any_match([media], route.input_modes):
                raise ContentTypeNotSupportedError(
                    f"Agent {route.name!r} does not accept {media} input",
                    data={"accepted": route.input_modes, "received": media},
                )
        config = params.configuration
        accepted = config.accepted_output_modes if config else None
        if accepted and not any_match(accepted, route.output_modes):
            raise ContentTypeNotSupportedError(
                f"Agent {route.name!r} produces none of the accepted output modes",
                data={"acceptedOutputModes": accepted, "outputModes": route.output_modes},
            )
        if config and config.push_notification_config:
            if not self.settings.push_notifications:
                raise PushNotificationNotSupportedError(PUSH_OFF)
            self._check_push_url(config.push_notification_config)

    async def _start(self, call: Call, task: Task, message: Message) -> None:
        """Start the task's workflow (idempotent). Only the message's id and size travel
        through Temporal: the message itself is the task's first history entry."""
        route = call.route
        await self.runner.start(
            TaskInput(
                call.principal,
                task.id,
                task.context_id,
                route.name,
                message.message_id,
                _size(message),
                route.policy,
            ),
            route.task_queue,
        )

    async def _deliver(
        self, call: Call, keys: TaskKeys, snapshot: Snapshot, params: MessageSendParams
    ) -> Submission:
        """A message for an existing task: a retry of one it has (changes nothing but
        re-sends what may have been lost), or a follow-up to an interrupted task, accepted
        into the event log at once (history, state ``submitted``) and then signalled, so
        the first frame a client sees reflects it."""
        task, message = snapshot.task, params.message
        state = task.status.state
        if message.context_id is not None and message.context_id != task.context_id:
            raise InvalidParamsError(
                f"message.contextId does not match the context of task {task.id}",
                data={"taskId": task.id, "contextId": task.context_id},
            )
        history = task.history or []
        retried = any(m.message_id == message.message_id for m in history)
        if retried:
            await self._resend(call, snapshot, message.message_id)
            settled = state.terminal or state.interrupted
            return Submission(keys, task, snapshot.last_id, settled)
        if state.terminal:
            raise TaskTerminalError(
                f"Task {task.id} is in terminal state: {state.value}",
                data={"taskId": task.id, "state": state.value},
            )
        if not state.interrupted:
            raise UnsupportedOperationError(
                f"Task {task.id} is {state.value}; it accepts a new message only when "
                "its state is input-required or auth-required",
                data={"taskId": task.id, "state": state.value},
            )
        limit = call.route.policy.max_turns
        if snapshot.turns + 1 >= limit:  # turns are numbered from 0
            raise InvalidParamsError(
                f"Task {task.id} has reached its limit of {limit} turns",
                data={"taskId": task.id, "maxTurns": limit},
            )
        body = message.model_copy(update={"task_id": task.id, "context_id": task.context_id})
        await self._hold_turn(call, task.id)
        accepted = await self.events.accept(keys, body, task.context_id)
        if not accepted.appended:  # another follow-up won the race: maybe this very one
            fresh = await self._snapshot(call, task.id)
            if fresh.task.status.state.terminal:  # no turn will run: give the place back
                await self.events.quotas.release(call.principal, RUNNING_TASKS, task.id)
            if any(m.message_id == message.message_id for m in fresh.task.history or []):
                return await self._deliver(call, keys, fresh, params)
            raise UnsupportedOperationError(
                f"Task {task.id} is {accepted.state}; it accepts a new message only when "
                "its state is input-required or auth-required",
                data={"taskId": task.id, "state": accepted.state},
            )
        await self.runner.send(
            call.principal, task.id, MessageRef(body.message_id, accepted.seq, _size(body))
        )
        fresh = await self._snapshot(call, task.id)
        return Submission(keys, fresh.task, fresh.last_id)

    async def _resend(self, call: Call, snapshot: Snapshot, message_id: str) -> None:
        """A retried message while the task is ``submitted``: the request that took it may
        have died before Temporal heard of it, so start or signal again (both idempotent)."""
        task = snapshot.task
        if task.status.state is not TaskState.SUBMITTED or not task.history:
            return
        if task.history[0].message_id == message_id and snapshot.turns == 0:
            await self._start(call, task, task.history[0])
        elif snapshot.accepted_id == message_id:
            accepted = next(m for m in task.history if m.message_id == message_id)
            ref = MessageRef(message_id, snapshot.accepted_seq, _size(accepted))
            await self.runner.send(call.principal, task.id, ref)

    async def send(self, call: Call, params: MessageSendParams) -> Task:
        """``message/send``: blocking (the default) waits for a final or interrupted state.
        The submission itself is shielded: a client that leaves ends the wait, never a
        half-made submission (a task created but its workflow not started)."""
        submission = await self._shielded(self.submit(call, params))
        config = params.configuration
        task = submission.task
        if not submission.settled and (config is None or config.blocking is not False):
            timeout = self.settings.blocking_timeout_seconds
            await self._wait_final(submission.keys, submission.event_id, timeout)
            task = (await self._snapshot(call, task.id)).task
        history_length = config.history_length if config else None
        return trim_history(task, history_length)

    async def _shielded(self, work: Coroutine[Any, Any, T]) -> T:
        """``work``, run to its end even if the caller is cancelled meanwhile (the task is
        kept referenced until then; an error it raises after that is logged)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    def _settled(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and isinstance(task.exception(), Exception):
            exc = task.exception()
            if not isinstance(exc, RPCError):
                log.warning("a submission finished with %r", exc)

    async def stream(self, call: Call, params: MessageSendParams) -> AsyncIterator[StreamItem]:
        """``message/stream``: the ``Task`` first, then every event up to the final one."""
        submission = await self.submit(call, params)
        config = params.configuration
        task = trim_history(submission.task, config.history_length if config else None)
        return self._items(
            call, submission.keys, task, submission.event_id, settled=submission.settled
        )

    async def _items(
        self,
        call: Call,
        keys: TaskKeys,
        task: Task,
        event_id: str,
        *,
        settled: bool = False,
    ) -> AsyncIterator[StreamItem]:
        """The task as of ``event_id``, then every event after it up to a final one; just
        the task when it is final or when nothing new will happen."""
        yield TaskSnapshot(task, event_id)
        if settled or task.status.state.terminal:
            return
        async for item in self._follow(call, keys, event_id):
            yield item

    def _follow(self, call: Call, keys: TaskKeys, after: str) -> AsyncIterator[StreamItem]:
        return follow(
            self.hub,
            keys,
            after,
            heartbeat=self.settings.heartbeat_seconds,
            deadline=call.deadline,
        )

    async def _wait_final(
        self, keys: TaskKeys, after: str, seconds: float, *, terminal: bool = False
    ) -> None:
        """Wait at most ``seconds`` for a final event after ``after`` (a terminal one when
        ``terminal``); the caller then reads the snapshot, whatever happened."""
        deadline = time.monotonic() + seconds
        try:
            subscription = await self.hub.subscribe(keys, after)
        except SubscriptionEnded:  # draining
            return
        try:
            while (left := deadline - time.monotonic()) > 0:
                entry = await subscription.next(left)
                if entry is not None and entry.final and (not terminal or entry.terminal):
                    return
        except SubscriptionEnded:
            return
        finally:
            await subscription.close()

    # -- tasks/* ------------------------------------------------------------------------

    async def get(self, call: Call, params: TaskQueryParams) -> Task:
        """``tasks/get``: the snapshot, with at most ``historyLength`` recent messages."""
        snapshot = await self._snapshot(call, params.id)
        return trim_history(snapshot.task, params.history_length)

    async def cancel(self, call: Call, params: TaskIdParams) -> Task:
        """``tasks/cancel``: cancel the workflow and wait (briefly) for the ``canceled`` event."""
        snapshot = await self._snapshot(call, params.id)
        state = snapshot.state
        if state.terminal:
            raise TaskNotCancelableError(
                f"Task {params.id} is already {state.value}",
                data={"taskId": params.id, "state": state.value},
            )
        keys = self.events.keys(call.principal, params.id)
        if not await self.runner.cancel(call.principal, params.id):
            task = snapshot.task
            event = status_event(task.id, task.context_id, TaskState.CANCELED, None, True)
            await self.events.append_status(keys, -1, event)
        await self._wait_final(keys, snapshot.last_id, CANCEL_WAIT_SECONDS, terminal=True)
        snapshot = await self._snapshot(call, params.id)
        return snapshot.task

    async def resubscribe(self, call: Call, params: TaskIdParams) -> AsyncIterator[StreamItem]:
        """``tasks/resubscribe``: after ``Last-Event-ID``, exactly the events after it;
        without one, or when events after it were trimmed, the current ``Task`` first.
        An id that is not a stream id, or that lies beyond the task's newest event, is
        refused (-32602): a client's position is only ever its own. In 1.0 a task that is
        already terminal cannot be subscribed to (§3.1.6) unless the client resumes."""
        keys = self.events.keys(call.principal, params.id)
        snapshot = await self._snapshot(call, params.id)
        after = call.last_event_id
        if call.version == V1 and after is None and snapshot.state.terminal:
            raise UnsupportedOperationError(
                f"Task {params.id} is {snapshot.state.value}; a terminal task has no "
                "further updates to subscribe to",
                data={"taskId": params.id, "state": snapshot.state.value},
            )
        if after is not None:
            await self._check_position(keys, snapshot, after)
            if not await self.events.trimmed_after(keys, after):
                if snapshot.state.terminal and entry_key(snapshot.last_id) <= entry_key(after):
                    return _empty()
                return self._follow(call, keys, after)
        # An interrupted task is waiting for the client: like its final event, its snapshot
        # ends the stream.
        waiting = snapshot.state.interrupted
        return self._items(call, keys, snapshot.task, snapshot.last_id, settled=waiting)

    async def _check_position(self, keys: TaskKeys, snapshot: Snapshot, after: str) -> None:
        if not is_entry_id(after):
            raise InvalidParamsError(
                "Last-Event-ID must be an event id from this task's stream",
                data={"lastEventId": after},
            )
        if entry_key(after) <= entry_key(snapshot.last_id):
            return
        newest = await self.events.last_entry_id(keys)  # it may have moved since the read
        if newest is None or entry_key(after) > entry_key(newest):
            raise InvalidParamsError(
                "Last-Event-ID is beyond the newest event of this task",
                data={"lastEventId": after, "newest": newest or snapshot.last_id},
            )

    async def list_tasks(self, call: Call, params: ListTasksParams) -> TaskPage:
        """``ListTasks`` (1.0): the caller's tasks at this agent, most recently updated
        first, filtered and paged through the principal's task index. A task the index
        names but Redis no longer holds (expired) is dropped from the index and the page."""
        after = params.status_timestamp_after
        try:
            found = await self.events.index.page(
                call.principal,
                agent=call.route.name,
                context_id=params.context_id,
                state=params.status.value if params.status else None,
                updated_after_ms=int(after.timestamp() * 1000) if after else None,
                page_size=params.page_size,
                page_token=params.page_token,
            )
        except InvalidPageToken:
            raise InvalidParamsError(
                "pageToken is not a token this server issued for this query",
                data={"pageToken": params.page_token},
            ) from None
        keys = [self.events.keys(call.principal, task_id) for task_id in found.task_ids]
        snapshots = await asyncio.gather(*(self.events.snapshot(k) for k in keys))
        tasks, gone = [], []
        for key, snapshot in zip(keys, snapshots, strict=True):
            if snapshot is None or snapshot.agent != call.route.name:
                gone.append(key.task_id)
                continue
            task = trim_history(snapshot.task, params.history_length)
            if not params.include_artifacts:
                task = task.model_copy(update={"artifacts": None})
            tasks.append(task)
        if gone:
            await self.events.index.forget(call.principal, gone)
        total = max(found.total_size - len(gone), len(tasks))
        return TaskPage(tasks, found.next_page_token, params.page_size, total)

    # -- tasks/pushNotificationConfig/* ---------------------------------------------------
    # Configs are stored whole (delivery needs the token and credentials) and read back
    # without them (``PushNotificationConfig.public``), in every version.

    async def _push_keys(self, call: Call, task_id: str) -> TaskKeys:
        if not self.settings.push_notifications:
            raise PushNotificationNotSupportedError(PUSH_OFF)
        await self._snapshot(call, task_id)
        return self.events.keys(call.principal, task_id)

    async def push_set(
        self, call: Call, params: TaskPushNotificationConfig
    ) -> TaskPushNotificationConfig:
        """``tasks/pushNotificationConfig/set``: add or replace one of the task's configs."""
        keys = await self._push_keys(call, params.task_id)
        stored = await self._push_set(call, keys, params.push_notification_config)
        return TaskPushNotificationConfig(
            task_id=params.task_id, push_notification_config=stored.public()
        )

    async def _push_set(
        self, call: Call, keys: TaskKeys, config: PushNotificationConfig
    ) -> PushNotificationConfig:
        """Store ``config``, the one way every version and binding stores one: a URL the
        set-time rules refuse is ``InvalidParamsError``; a new one beyond the caller's
        ``pushConfigsPerTask`` is ``LimitExceededError`` (deleting one, or replacing one by
        its id, makes room)."""
        self._check_push_url(config)
        limit = call.limits.push_configs_per_task
        try:
            every_status = PUSH_EVERY_STATUS in call.extensions
            return await self.push.set(
                keys,
                config,
                limit,
                version=call.version,
                issuer=call.base_url,
                every_status=every_status,
            )
        except PushConfigLimitError as err:
            raise LimitExceededError(
                str(err),
                data={
                    "limit": "pushConfigsPerTask",
                    "allowed": limit,
                    "retryAfter": PUSH_RETRY_AFTER_SECONDS,
                    "taskId": keys.task_id,
                },
            ) from None

    def _check_push_url(self, config: PushNotificationConfig) -> None:
        """Refuse (-32602) a webhook URL that breaks a set-time rule (``push.webhook_url``);
        the message names the rule, ``data.rule`` is its short name."""
        try:
            check_webhook_url(config.url, allow_private=self.settings.push_allow_private)
        except WebhookRefused as err:
            raise InvalidParamsError(
                str(err), data={"field": "pushNotificationConfig.url", "rule": err.rule}
            ) from None

    async def push_get(
        self, call: Call, params: GetTaskPushNotificationConfigParams
    ) -> TaskPushNotificationConfig:
        """``tasks/pushNotificationConfig/get``: one config (the first if no id is given)."""
        keys = await self._push_keys(call, params.id)
        config_id = params.push_notification_config_id
        stored = await self.push.get(keys, config_id)
        if stored is None:
            raise InvalidParamsError(
                f"Task {params.id} has no push notification config"
                + (f" with id {config_id!r}" if config_id else ""),
                data={"taskId": params.id, "pushNotificationConfigId": config_id},
            )
        return TaskPushNotificationConfig(
            task_id=params.id, push_notification_config=stored.public()
        )

    async def push_list(self, call: Call, params: TaskIdParams) -> list[TaskPushNotificationConfig]:
        """``tasks/pushNotificationConfig/list``: every config of the task."""
        keys = await self._push_keys(call, params.id)
        return [
            TaskPushNotificationConfig(task_id=params.id, push_notification_config=c.public())
            for c in await self.push.list(keys)
        ]

    async def push_delete(self, call: Call, params: DeleteTaskPushNotificationConfigParams) -> None:
        """``tasks/pushNotificationConfig/delete``: idempotent; deleting twice is not an error."""
        keys = await self._push_keys(call, params.id)
        await self.push.delete(keys, params.push_notification_config_id)


async def _empty() -> AsyncIterator[StreamItem]:
    return
    yield  # pragma: no cover


def _json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _size(message: Message) -> int:
    """The size of a message as stored (compact JSON, UTF-8 bytes)."""
    return len(_json(message.dump()).encode())
