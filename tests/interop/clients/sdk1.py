"""Interop client: the official Python a2a-sdk 1.x (``create_client``) against the gateway.

Usage: ``sdk1.py BASE PUSH_BASE`` runs every operation; ``sdk1.py --cross BASE IDS_JSON``
reads, subscribes to and cancels tasks the 0.2 client created, and creates one for it;
``sdk1.py --auth APIKEY_BASE JWT_BASE`` authenticates (credentials in
``A2A_INTEROP_CREDENTIALS``) through the SDK's auth hook, ``AuthInterceptor`` over an
``InMemoryContextCredentialStore`` keyed by the scheme the card names, passed to
``create_client`` with the resolved card.
Clients come from ``create_client(agent_url)`` with the default ``ClientConfig``
(streaming on, JSON-RPC; the factory picks the card's best JSON-RPC interface), so
``send_message`` streams; the blocking ``SendMessage`` operation uses the one documented
switch for it, ``ClientConfig(streaming=False)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from importlib.metadata import version
from typing import Any

import httpx
from a2a.client import (
    A2ACardResolver,
    AuthInterceptor,
    Client,
    ClientCallContext,
    ClientConfig,
    InMemoryContextCredentialStore,
    create_client,
)
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)
from google.protobuf.json_format import MessageToDict
from interop_common import (
    API_KEY_HEADER,
    ASK_ROUNDS,
    AUTH_STREAM_INTERVAL,
    AUTH_STREAM_STEPS,
    ECHO_TEXT,
    LONG_TASK,
    PUSH_URL,
    RESUBSCRIBE_INTERVAL,
    RESUBSCRIBE_STEPS,
    STREAM_INTERVAL,
    STREAM_STEPS,
    Arrivals,
    Failed,
    Report,
    agent_urls,
    cli,
    credentials,
    die,
    expect,
    refused,
)

report = Report(f"a2a-sdk {version('a2a-sdk')} (Python)", "1.0")

COMPLETED = TaskState.TASK_STATE_COMPLETED
CANCELED = TaskState.TASK_STATE_CANCELED
INPUT_REQUIRED = TaskState.TASK_STATE_INPUT_REQUIRED


def message(text: str, task_id: str = "", context_id: str = "") -> Message:
    return Message(
        role=Role.ROLE_USER,
        message_id=str(uuid.uuid4()),
        parts=[Part(text=text)],
        task_id=task_id,
        context_id=context_id,
    )


def request(
    text: str, task_id: str = "", context_id: str = "", **config: Any
) -> SendMessageRequest:
    return SendMessageRequest(
        message=message(text, task_id, context_id),
        configuration=SendMessageConfiguration(**config),
    )


def artifact_text(task: Task) -> str:
    return "".join(part.text for artifact in task.artifacts for part in artifact.parts)


def state_name(state: int) -> str:
    return TaskState.Name(state)  # type: ignore[arg-type]


def kind(event: StreamResponse) -> str:
    which = event.WhichOneof("payload")
    if which == "status_update":
        return state_name(event.status_update.status.state).removeprefix("TASK_STATE_").lower()
    return str(which)


class Tracker:
    """The task as the stream's events leave it (the 1.x client yields raw events)."""

    def __init__(self) -> None:
        self.task = Task()
        self.last: StreamResponse | None = None
        self.arrivals = Arrivals()
        self.step_messages: list[str] = []

    def add(self, event: StreamResponse) -> None:
        self.last = event
        self.arrivals.mark(kind(event))
        which = event.WhichOneof("payload")
        if which == "task":
            self.task.CopyFrom(event.task)
        elif which == "status_update":
            self.task.id = self.task.id or event.status_update.task_id
            self.task.status.CopyFrom(event.status_update.status)
            if event.status_update.status.HasField("message"):
                text = "".join(p.text for p in event.status_update.status.message.parts)
                self.step_messages.append(text)
        elif which == "artifact_update":
            update = event.artifact_update
            for artifact in self.task.artifacts:
                if artifact.artifact_id == update.artifact.artifact_id and update.append:
                    artifact.parts.extend(update.artifact.parts)
                    break
            else:
                self.task.artifacts.append(update.artifact)
        elif which == "message":
            raise Failed(f"the agent answered with a Message, not a task: {event.message}")

    @property
    def state(self) -> int:
        return self.task.status.state


async def follow(stream: Any, tracker: Tracker | None = None) -> Tracker:
    tracker = tracker or Tracker()
    async for event in stream:
        tracker.add(event)
    return tracker


class Clients:
    """Clients made by ``create_client`` (closed at the end)."""

    def __init__(self) -> None:
        self.made: list[Client] = []

    async def __call__(self, url: str, **config: Any) -> Client:
        client = await create_client(url, client_config=ClientConfig(**config) if config else None)
        self.made.append(client)
        return client

    async def close(self) -> None:
        for client in self.made:
            with contextlib.suppress(Exception):
                await client.close()


async def send_blocking(clients: Clients, url: str, text: str, **kwargs: Any) -> Task:
    client = await clients(url, streaming=False)
    events = [event async for event in client.send_message(request(text, **kwargs))]
    expect(len(events) == 1 and events[0].HasField("task"), f"SendMessage gave {events}")
    return events[0].task


async def cancel_running(client: Client, stream: Any, tracker: Tracker) -> Task:
    """Follow ``stream`` to the first progress update, cancel the task, follow to the end."""
    canceled: Task | None = None
    async for event in stream:
        tracker.add(event)
        if canceled is None and tracker.step_messages:
            canceled = await client.cancel_task(CancelTaskRequest(id=tracker.task.id))
            tracker.arrivals.mark("cancel-returned")
    expect(canceled is not None, f"nothing to cancel at: {tracker.arrivals.summary()}")
    assert canceled is not None
    expect(
        canceled.status.state == CANCELED, f"CancelTask gave {state_name(canceled.status.state)}"
    )
    expect(tracker.state == CANCELED, f"stream ended {state_name(tracker.state)}")
    return canceled


async def main_suite(base: str, push_base: str) -> None:
    urls = agent_urls(base)
    push_urls = agent_urls(push_base)
    clients = Clients()

    async def card() -> str:
        client = await clients(urls["progress"])
        transport = client._transport
        url = getattr(transport, "url", "?")
        card = client._card
        interfaces = [
            f"{i.protocol_binding} {i.protocol_version} {i.url}" for i in card.supported_interfaces
        ]
        expect(type(transport).__name__ == "JsonRpcTransport", f"picked {type(transport).__name__}")
        expect(url == urls["progress"], f"client picked {url!r}, not {urls['progress']!r}")
        expect(card.capabilities.streaming, "card: streaming not advertised")
        return f"{type(transport).__name__} (1.0) at {url}; card interfaces: {interfaces}"

    async def send() -> str:
        task = await send_blocking(clients, urls["echo"], ECHO_TEXT)
        report.state["send_task"] = task.id
        expect(task.status.state == COMPLETED, f"state {state_name(task.status.state)}")
        expect(artifact_text(task) == ECHO_TEXT, f"artifact text {artifact_text(task)!r}")
        return f"SendMessage (ClientConfig(streaming=False)): completed, artifact {artifact_text(task)!r}"

    async def stream() -> str:
        client = await clients(urls["progress"])
        text = f"steps={STREAM_STEPS} interval={STREAM_INTERVAL}"
        tracker = await follow(client.send_message(request(text)))
        expect(tracker.state == COMPLETED, f"final state {state_name(tracker.state)}")
        expect(len(tracker.step_messages) >= STREAM_STEPS, f"steps {tracker.step_messages}")
        tracker.arrivals.first_before_last_by((STREAM_STEPS - 1) * STREAM_INTERVAL * 0.5)
        return f"SendStreamingMessage (default send_message): {tracker.arrivals.summary()}"

    async def get() -> str:
        client = await clients(urls["echo"])
        task = await client.get_task(GetTaskRequest(id=report.needs("send_task")))
        expect(task.status.state == COMPLETED, f"state {state_name(task.status.state)}")
        expect(artifact_text(task) == ECHO_TEXT, f"artifact text {artifact_text(task)!r}")
        return "GetTask: completed with its artifact"

    async def cancel() -> str:
        client = await clients(urls["progress"])
        tracker = Tracker()
        await cancel_running(client, client.send_message(request(LONG_TASK)), tracker)
        return f"CancelTask -> canceled; stream ended canceled: {tracker.arrivals.summary()}"

    async def subscribe() -> str:
        client = await clients(urls["progress"])
        text = f"steps={RESUBSCRIBE_STEPS} interval={RESUBSCRIBE_INTERVAL}"
        stream = client.send_message(request(text))
        first = await anext(stream)
        await stream.aclose()  # the connection drops after the first event
        expect(first.HasField("task"), f"first event {kind(first)}")
        tracker = await follow(client.subscribe(SubscribeToTaskRequest(id=first.task.id)))
        expect(tracker.state == COMPLETED, f"final state {state_name(tracker.state)}")
        last_step = f"step {RESUBSCRIBE_STEPS}/{RESUBSCRIBE_STEPS}"
        expect(last_step in tracker.step_messages, f"steps {tracker.step_messages}")
        tracker.arrivals.first_before_last_by(RESUBSCRIBE_INTERVAL)
        return f"SubscribeToTask: {tracker.arrivals.summary()}"

    async def multi_turn() -> str:
        client = await clients(urls["ask"])
        tracker = await follow(client.send_message(request(f"rounds={ASK_ROUNDS}")))
        task_id = tracker.task.id
        states = [tracker.state]
        for answer in [f"Ada {n}" for n in range(1, ASK_ROUNDS)] + ["Linus"]:
            tracker = await follow(client.send_message(request(answer, task_id=task_id)))
            states.append(tracker.state)
        names = [state_name(s) for s in states]
        expect(states == [INPUT_REQUIRED] * ASK_ROUNDS + [COMPLETED], f"states {names}")
        task = await client.get_task(GetTaskRequest(id=task_id))
        expect(artifact_text(task) == "Hello, Linus!", f"answer {artifact_text(task)!r}")
        return f"SendStreamingMessage x{ASK_ROUNDS + 1}: {' -> '.join(names)}"

    async def push_set() -> str:
        client = await clients(push_urls["ask"])
        expect(client._card.capabilities.push_notifications, "card: push not advertised")
        tracker = await follow(client.send_message(request("push configs, please")))
        task_id = tracker.task.id
        report.state["push_task"] = task_id
        stored = []
        for n in (1, 2):
            config = TaskPushNotificationConfig(
                task_id=task_id, id=f"interop-{n}", url=PUSH_URL, token=f"tok-{n}"
            )
            stored.append(await client.create_task_push_notification_config(config))
        expect(stored[0].url == PUSH_URL and stored[0].id == "interop-1", f"stored {stored[0]}")
        return f"CreateTaskPushNotificationConfig x2 on {task_id}"

    async def push_get() -> str:
        client = await clients(push_urls["ask"])
        task_id = report.needs("push_task")
        got = await client.get_task_push_notification_config(
            GetTaskPushNotificationConfigRequest(task_id=task_id, id="interop-1")
        )
        expect(got.task_id == task_id and got.url == PUSH_URL and not got.token, f"got {got}")
        return "GetTaskPushNotificationConfig: url as set, the token not read back"

    async def push_list() -> str:
        client = await clients(push_urls["ask"])
        task_id = report.needs("push_task")
        listed = await client.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task_id)
        )
        ids = sorted(c.id for c in listed.configs)
        expect(ids == ["interop-1", "interop-2"], f"listed {ids}")
        return f"ListTaskPushNotificationConfigs: {ids}"

    async def push_delete() -> str:
        client = await clients(push_urls["ask"])
        task_id = report.needs("push_task")
        await client.delete_task_push_notification_config(
            DeleteTaskPushNotificationConfigRequest(task_id=task_id, id="interop-1")
        )
        listed = await client.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task_id)
        )
        ids = sorted(c.id for c in listed.configs)
        expect(ids == ["interop-2"], f"after delete: {ids}")
        return f"DeleteTaskPushNotificationConfig: {ids} left"

    async def list_tasks() -> str:
        context = f"interop-sdk1-{uuid.uuid4()}"
        created = []
        for n in range(3):
            task = await send_blocking(clients, urls["echo"], f"list me {n}", context_id=context)
            expect(task.context_id == context, f"context {task.context_id!r}")
            created.append(task.id)
        client = await clients(urls["echo"])
        listed = await client.list_tasks(ListTasksRequest(context_id=context))
        ids = [t.id for t in listed.tasks]
        expect(ids == created[::-1], f"listed {ids}, created {created} (newest first expected)")
        expect(listed.total_size == 3, f"totalSize {listed.total_size}")
        page1 = await client.list_tasks(ListTasksRequest(context_id=context, page_size=2))
        newest_first = created[::-1]
        expect([t.id for t in page1.tasks] == newest_first[:2], f"page 1 {page1}")
        expect(page1.next_page_token, "page 1 has no nextPageToken")
        page2 = await client.list_tasks(
            ListTasksRequest(context_id=context, page_size=2, page_token=page1.next_page_token)
        )
        expect(
            [t.id for t in page2.tasks] == newest_first[2:], f"page 2 {[t.id for t in page2.tasks]}"
        )
        expect(not page2.next_page_token, f"page 2 nextPageToken {page2.next_page_token!r}")
        everything = await client.list_tasks(ListTasksRequest())
        expect(
            {t.id for t in everything.tasks} >= set(created),
            "unfiltered ListTasks lacks the new tasks",
        )
        return f"ListTasks: 3 tasks newest first; pageSize=2 pages {len(page1.tasks)}+{len(page2.tasks)}"

    try:
        await report.run("card", card)
        await report.run("send", send)
        await report.run("stream", stream)
        await report.run("get", get)
        await report.run("cancel", cancel)
        await report.run("resubscribe", subscribe)
        await report.run("multi-turn", multi_turn)
        await report.run("push-set", push_set)
        await report.run("push-get", push_get)
        await report.run("push-list", push_list)
        await report.run("push-delete", push_delete)
        await report.run("list-tasks", list_tasks)
    finally:
        await clients.close()


async def cross(base: str, ids: dict[str, str]) -> None:
    """Read, subscribe to and cancel what the 0.2 client created; create a task for it."""
    urls = agent_urls(base)
    clients = Clients()
    created: dict[str, str] = {}

    async def get_op() -> str:
        client = await clients(urls["echo"])
        task = await client.get_task(GetTaskRequest(id=ids["echo"]))
        expect(task.status.state == COMPLETED, f"state {state_name(task.status.state)}")
        expect(artifact_text(task) == "made by the 0.2 client", f"artifact {artifact_text(task)!r}")
        running = await (await clients(urls["progress"])).get_task(
            GetTaskRequest(id=ids["progress-sdk1"])
        )
        expect(
            running.status.state in {TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING},
            f"running task is {state_name(running.status.state)}",
        )
        return "GetTask: the 0.2 echo task (completed, artifact) and the running progress task"

    tracker = Tracker()
    canceled: list[Task] = []

    async def subscribe_and_cancel() -> str:
        client = await clients(urls["progress"])
        stream = client.subscribe(SubscribeToTaskRequest(id=ids["progress-sdk1"]))
        canceled.append(await cancel_running(client, stream, tracker))
        return f"SubscribeToTask: {tracker.arrivals.summary()}"

    async def cancel_op() -> str:
        expect(canceled, "the subscription did not get to cancel the task")
        expect(canceled[0].status.state == CANCELED, f"CancelTask gave {canceled[0].status}")
        client = await clients(urls["progress"])
        task = await client.get_task(GetTaskRequest(id=ids["progress-sdk1"]))
        expect(
            task.status.state == CANCELED, f"GetTask after cancel: {state_name(task.status.state)}"
        )
        return "CancelTask -> canceled (the 0.2 task), and GetTask agrees"

    async def create() -> str:
        task = await send_blocking(clients, urls["echo"], "made by sdk1")
        expect(task.status.state == COMPLETED, f"state {state_name(task.status.state)}")
        created["echo-sdk1"] = task.id
        asking = await send_blocking(clients, urls["ask"], "hi from sdk1")
        expect(asking.status.state == INPUT_REQUIRED, f"ask: {state_name(asking.status.state)}")
        created["ask-sdk1"] = asking.id
        running = await send_blocking(clients, urls["progress"], LONG_TASK, return_immediately=True)
        expect(
            running.status.state in {TaskState.TASK_STATE_SUBMITTED, TaskState.TASK_STATE_WORKING},
            f"progress: {state_name(running.status.state)}",
        )
        created["progress-sdk1"] = running.id
        return f"SendMessage: {created}"

    try:
        await report.run("cross-get-from-sdk02", get_op)
        await report.run("cross-subscribe-from-sdk02", subscribe_and_cancel)
        await report.run("cross-cancel-from-sdk02", cancel_op)
        await report.run("cross-create", create)
        report.created(created)
    finally:
        await clients.close()


def card_scheme(card: AgentCard, mode: str) -> tuple[str, str]:
    """The name of the scheme, among the card's 1.0 security requirements (OR), that a
    credential of ``mode`` satisfies, and what it is; the card must declare it exactly."""
    for requirement in card.security_requirements:
        for name in requirement.schemes:
            if name not in card.security_schemes:
                continue
            scheme = card.security_schemes[name]
            which = scheme.WhichOneof("scheme")
            if mode == "apikey" and which == "api_key_security_scheme":
                api_key = scheme.api_key_security_scheme
                expect(api_key.location == "header", f"{name} is in {api_key.location}")
                expect(api_key.name == API_KEY_HEADER, f"{name} names header {api_key.name}")
                return name, f"apiKeySecurityScheme in header {api_key.name}"
            http = scheme.http_auth_security_scheme
            bearer = which == "http_auth_security_scheme" and http.scheme.lower() == "bearer"
            if mode == "jwt" and bearer:
                expect(http.bearer_format == "JWT", f"bearerFormat {http.bearer_format}")
                return name, f"httpAuthSecurityScheme bearer, bearerFormat {http.bearer_format}"
    found = MessageToDict(card)
    raise Failed(
        f"the card has no {mode} scheme: securityRequirements "
        f"{found.get('securityRequirements')}, securitySchemes {found.get('securitySchemes')}"
    )


async def auth_suite(apikey_base: str, jwt_base: str) -> None:
    """Each mode: the card's scheme, the credential only in the hook's store; refused
    without it."""
    given = credentials()
    clients = Clients()
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
            runs = []  # the two modes side by side
            for mode, base in (("apikey", apikey_base), ("jwt", jwt_base)):

                async def body(mode: str = mode, base: str = base) -> str:
                    urls = agent_urls(base)
                    cards = {
                        agent: await A2ACardResolver(http, urls[agent]).get_agent_card()
                        for agent in ("echo", "progress")
                    }
                    name, what = card_scheme(cards["echo"], mode)
                    expect(cards["echo"].capabilities.extended_agent_card, "extendedAgentCard")
                    store = InMemoryContextCredentialStore()
                    await store.set_credentials("interop", name, given[mode])
                    hook = [AuthInterceptor(store)]
                    signed_in = ClientCallContext(state={"sessionId": "interop"})
                    anonymous = ClientCallContext(state={"sessionId": "nobody"})

                    async def connect(agent: str, **config: Any) -> Client:
                        client = await create_client(
                            cards[agent],
                            client_config=ClientConfig(**config) if config else None,
                            interceptors=hook,
                        )
                        clients.made.append(client)
                        return client

                    blocking = await connect("echo", streaming=False)
                    try:
                        async for _ in blocking.send_message(request(ECHO_TEXT), context=anonymous):
                            pass
                    except Exception as exc:
                        expect(refused(exc), f"without the credential: {exc!r}")
                        error = type(exc).__name__
                    else:
                        raise Failed("SendMessage without the credential was not refused")
                    extended = await blocking.get_extended_agent_card(
                        GetExtendedAgentCardRequest(), context=signed_in
                    )
                    expect(extended.name == "echo", f"extended card {extended.name!r}")
                    events = [
                        e
                        async for e in blocking.send_message(request(ECHO_TEXT), context=signed_in)
                    ]
                    expect(len(events) == 1 and events[0].HasField("task"), f"send: {events}")
                    task = events[0].task
                    expect(task.status.state == COMPLETED, f"send: {state_name(task.status.state)}")
                    expect(artifact_text(task) == ECHO_TEXT, f"artifact {artifact_text(task)!r}")
                    streaming = await connect("progress")
                    text = f"steps={AUTH_STREAM_STEPS} interval={AUTH_STREAM_INTERVAL}"
                    tracker = await follow(streaming.send_message(request(text), context=signed_in))
                    expect(tracker.state == COMPLETED, f"stream: {state_name(tracker.state)}")
                    tracker.arrivals.first_before_last_by(
                        (AUTH_STREAM_STEPS - 1) * AUTH_STREAM_INTERVAL * 0.5
                    )
                    got = await blocking.get_task(GetTaskRequest(id=task.id), context=signed_in)
                    expect(got.status.state == COMPLETED, f"get: {state_name(got.status.state)}")
                    names = [list(r.schemes) for r in cards["echo"].security_requirements]
                    return (
                        f"card securityRequirements {names} -> scheme {name!r} ({what}); "
                        "AuthInterceptor(InMemoryContextCredentialStore) with nothing for the "
                        f"session: HTTP 401 ({error}); with the credential: "
                        "GetExtendedAgentCard, SendMessage "
                        f"completed, SendStreamingMessage {tracker.arrivals.summary()}, "
                        "GetTask completed"
                    )

                runs.append(report.run(f"auth-{mode}", body))
            await asyncio.gather(*runs)
    finally:
        await clients.close()


def main() -> None:
    mode, args = cli(sys.argv)
    if mode == "main" and len(args) == 2:
        asyncio.run(main_suite(*args))
    elif mode == "cross" and len(args) == 2:
        asyncio.run(cross(args[0], json.loads(args[1])))
    elif mode == "auth" and len(args) == 2:
        asyncio.run(auth_suite(*args))
    else:
        die(__doc__ or "usage")


if __name__ == "__main__":
    main()
