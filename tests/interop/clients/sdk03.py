"""Interop client: the official Python a2a-sdk 0.3.x (``ClientFactory``) against the gateway.

Usage: ``sdk03.py BASE PUSH_BASE``; ``sdk03.py --auth APIKEY_BASE JWT_BASE`` authenticates
(credentials in ``A2A_INTEROP_CREDENTIALS``). Clients come from
``ClientFactory.connect(agent_url)`` with the default ``ClientConfig`` (streaming on,
JSON-RPC, the card's preferred transport), so ``send_message`` streams; the blocking
``message/send`` operation uses the one documented switch for it,
``ClientConfig(streaming=False)``. The authenticated clients are connected from the
resolved card with the SDK's auth hook, ``AuthInterceptor`` over an
``InMemoryContextCredentialStore`` keyed by the scheme the card names.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from importlib.metadata import version
from typing import Any

import httpx
from a2a.client import (
    A2ACardResolver,
    A2AClientHTTPError,
    AuthInterceptor,
    Client,
    ClientCallContext,
    ClientConfig,
    ClientFactory,
    InMemoryContextCredentialStore,
)
from a2a.types import (
    AgentCard,
    APIKeySecurityScheme,
    GetTaskPushNotificationConfigParams,
    HTTPAuthSecurityScheme,
    In,
    Message,
    Part,
    PushNotificationConfig,
    Role,
    Task,
    TaskArtifactUpdateEvent,
    TaskIdParams,
    TaskPushNotificationConfig,
    TaskQueryParams,
    TaskState,
    TaskStatusUpdateEvent,
    TextPart,
)
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
)

report = Report(f"a2a-sdk {version('a2a-sdk')} (Python)", "0.3.0")


def message(text: str, task_id: str | None = None) -> Message:
    return Message(
        role=Role.user,
        message_id=str(uuid.uuid4()),
        parts=[Part(root=TextPart(text=text))],
        task_id=task_id,
    )


def artifact_text(task: Task) -> str:
    return "".join(
        part.root.text
        for artifact in task.artifacts or []
        for part in artifact.parts
        if isinstance(part.root, TextPart)
    )


def kind(update: Any) -> str:
    if update is None:
        return "task"
    if isinstance(update, TaskStatusUpdateEvent):
        return update.status.state.value
    if isinstance(update, TaskArtifactUpdateEvent):
        return "artifact"
    return type(update).__name__


async def connect(url: str, **config: Any) -> Client:
    return await ClientFactory.connect(
        url, client_config=ClientConfig(**config) if config else None
    )


async def last_task(client: Client, text: str, task_id: str | None = None) -> Task:
    """Send with the client's defaults and return the task as the last event left it."""
    task: Task | None = None
    async for event in client.send_message(message(text, task_id)):
        expect(isinstance(event, tuple), f"got a {type(event).__name__}, not a task event")
        task = event[0]
    expect(task is not None, "no event")
    assert task is not None
    return task


async def main_suite(base: str, push_base: str) -> None:
    urls = agent_urls(base)
    push_urls = agent_urls(push_base)
    clients: list[Client] = []

    async def client_for(url: str, **config: Any) -> Client:
        client = await connect(url, **config)
        clients.append(client)
        return client

    async def card() -> str:
        client = await client_for(urls["progress"])
        card = await client.get_card()
        transport = client._transport
        url = getattr(transport, "url", "?")
        expect(url == urls["progress"], f"client picked {url!r}, not {urls['progress']!r}")
        expect(card.capabilities.streaming, "card: streaming not advertised")
        return (
            f"{type(transport).__name__} at {url} "
            f"(card protocolVersion={card.protocol_version}, "
            f"preferredTransport={card.preferred_transport})"
        )

    async def send() -> str:
        client = await client_for(urls["echo"], streaming=False)
        task = await last_task(client, ECHO_TEXT)
        report.state["send_task"] = task.id
        expect(task.status.state == TaskState.completed, f"state {task.status.state}")
        expect(artifact_text(task) == ECHO_TEXT, f"artifact text {artifact_text(task)!r}")
        return f"message/send (ClientConfig(streaming=False)): task completed, artifact {artifact_text(task)!r}"

    async def stream() -> str:
        client = await client_for(urls["progress"])
        arrivals = Arrivals()
        task: Task | None = None
        update: Any = None
        text = f"steps={STREAM_STEPS} interval={STREAM_INTERVAL}"
        async for event in client.send_message(message(text)):
            expect(isinstance(event, tuple), f"got a {type(event).__name__}")
            task, update = event
            arrivals.mark(kind(update))
        expect(task is not None and task.status.state == TaskState.completed, f"final {task}")
        expect(isinstance(update, TaskStatusUpdateEvent) and update.final, "no final event")
        working = [k for _, k in arrivals.events if k == "working"]
        expect(len(working) >= STREAM_STEPS, f"{len(working)} working updates")
        arrivals.first_before_last_by((STREAM_STEPS - 1) * STREAM_INTERVAL * 0.5)
        return f"message/stream (default send_message): {arrivals.summary()}"

    async def get() -> str:
        client = await client_for(urls["echo"])
        task = await client.get_task(TaskQueryParams(id=report.needs("send_task")))
        expect(task.status.state == TaskState.completed, f"state {task.status.state}")
        expect(artifact_text(task) == ECHO_TEXT, f"artifact text {artifact_text(task)!r}")
        return "tasks/get: completed with its artifact"

    async def cancel() -> str:
        client = await client_for(urls["progress"])
        arrivals = Arrivals()
        canceled: Task | None = None
        task: Task | None = None
        update: Any = None
        async for event in client.send_message(message(LONG_TASK)):
            task, update = event  # type: ignore[misc]
            arrivals.mark(kind(update))
            if (
                canceled is None
                and isinstance(update, TaskStatusUpdateEvent)
                and update.status.message
            ):
                canceled = await client.cancel_task(TaskIdParams(id=task.id))
                arrivals.mark("cancel-returned")
        expect(canceled is not None, f"nothing to cancel at: {arrivals.summary()}")
        assert canceled is not None
        expect(canceled.status.state == TaskState.canceled, f"cancel gave {canceled.status.state}")
        expect(
            isinstance(update, TaskStatusUpdateEvent) and update.status.state == TaskState.canceled,
            f"stream ended with {kind(update)}",
        )
        return f"tasks/cancel -> canceled; stream ended canceled: {arrivals.summary()}"

    async def resubscribe() -> str:
        client = await client_for(urls["progress"])
        text = f"steps={RESUBSCRIBE_STEPS} interval={RESUBSCRIBE_INTERVAL}"
        stream = client.send_message(message(text))
        first = await anext(stream)
        await stream.aclose()  # the connection drops after the first event
        expect(isinstance(first, tuple), f"first event {first}")
        task_id = first[0].id  # type: ignore[index]
        arrivals = Arrivals()
        task: Task | None = None
        update: Any = None
        steps_seen: list[str] = []
        async for event in client.resubscribe(TaskIdParams(id=task_id)):
            task, update = event
            arrivals.mark(kind(update))
            if isinstance(update, TaskStatusUpdateEvent) and update.status.message:
                steps_seen.append(text_of(update.status.message))
        expect(task is not None and task.status.state == TaskState.completed, f"final {task}")
        expect(
            f"step {RESUBSCRIBE_STEPS}/{RESUBSCRIBE_STEPS}" in steps_seen,
            f"steps seen {steps_seen}",
        )
        arrivals.first_before_last_by(RESUBSCRIBE_INTERVAL)
        return f"tasks/resubscribe: {arrivals.summary()}"

    async def multi_turn() -> str:
        client = await client_for(urls["ask"])
        task = await last_task(client, f"rounds={ASK_ROUNDS}")
        states = [task.status.state.value]
        for answer in [f"Ada {n}" for n in range(1, ASK_ROUNDS)] + ["Linus"]:
            task = await last_task(client, answer, task_id=task.id)
            states.append(task.status.state.value)
        expect(states == ["input-required"] * ASK_ROUNDS + ["completed"], f"states {states}")
        expect(artifact_text(task) == "Hello, Linus!", f"answer {artifact_text(task)!r}")
        return f"message/stream x{ASK_ROUNDS + 1}: {' -> '.join(states)}"

    async def push_set() -> str:
        client = await client_for(push_urls["ask"])
        card = await client.get_card()
        expect(card.capabilities.push_notifications, "card: push notifications not advertised")
        task = await last_task(client, "push configs, please")
        report.state["push_task"] = task.id
        config = TaskPushNotificationConfig(
            task_id=task.id,
            push_notification_config=PushNotificationConfig(
                id="interop-1", url=PUSH_URL, token="tok-1"
            ),
        )
        stored = await client.set_task_callback(config)
        expect(stored.push_notification_config.url == PUSH_URL, f"stored {stored}")
        return f"tasks/pushNotificationConfig/set: id={stored.push_notification_config.id}"

    async def push_get() -> str:
        client = await client_for(push_urls["ask"])
        task_id = report.needs("push_task")
        got = await client.get_task_callback(
            GetTaskPushNotificationConfigParams(id=task_id, push_notification_config_id="interop-1")
        )
        expect(got.task_id == task_id, f"task id {got.task_id}")
        expect(got.push_notification_config.url == PUSH_URL, f"url {got}")
        expect(not got.push_notification_config.token, f"token read back: {got}")
        return "tasks/pushNotificationConfig/get: url as set, the token not read back"

    try:
        await report.run("card", card)
        await report.run("send", send)
        await report.run("stream", stream)
        await report.run("get", get)
        await report.run("cancel", cancel)
        await report.run("resubscribe", resubscribe)
        await report.run("multi-turn", multi_turn)
        await report.run("push-set", push_set)
        await report.run("push-get", push_get)
        for operation, call in (
            ("push-list", "list_task_callback"),
            ("push-delete", "delete_task_callback"),
        ):
            if hasattr(Client, call):
                report.emit(operation, False, f"Client.{call} exists in this version: write it")
            else:
                report.absent(operation, f"the 0.3 Client has no {call} call")
        report.absent("list-tasks", "ListTasks is new in A2A 1.0")
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()


def text_of(message_: Message) -> str:
    return "".join(p.root.text for p in message_.parts if isinstance(p.root, TextPart))


def card_scheme(card: AgentCard, mode: str) -> tuple[str, str]:
    """The name of the scheme, among the card's security requirements (OR), that a
    credential of ``mode`` satisfies, and what it is; the card must declare it exactly."""
    schemes = card.security_schemes or {}
    for requirement in card.security or []:
        for name in requirement:
            scheme = schemes[name].root if name in schemes else None
            if mode == "apikey" and isinstance(scheme, APIKeySecurityScheme):
                expect(scheme.in_ == In.header, f"{name} is in {scheme.in_}")
                expect(scheme.name == API_KEY_HEADER, f"{name} names header {scheme.name}")
                return name, f"apiKey in header {scheme.name}"
            bearer = (
                isinstance(scheme, HTTPAuthSecurityScheme) and scheme.scheme.lower() == "bearer"
            )
            if mode == "jwt" and isinstance(scheme, HTTPAuthSecurityScheme) and bearer:
                expect(scheme.bearer_format == "JWT", f"bearerFormat {scheme.bearer_format}")
                return name, f"http bearer, bearerFormat {scheme.bearer_format}"
    raise Failed(f"the card has no {mode} scheme: security {card.security}, schemes {schemes}")


async def auth_suite(apikey_base: str, jwt_base: str) -> None:
    """Each mode: the card's scheme, the credential only in the hook's store; refused
    without it."""
    given = credentials()
    clients: list[Client] = []
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
                    expect(cards["echo"].supports_authenticated_extended_card, "extended card")
                    store = InMemoryContextCredentialStore()
                    await store.set_credentials("interop", name, given[mode])
                    hook = [AuthInterceptor(store)]
                    signed_in = ClientCallContext(state={"sessionId": "interop"})
                    anonymous = ClientCallContext(state={"sessionId": "nobody"})

                    async def connect(agent: str, **config: Any) -> Client:
                        client = await ClientFactory.connect(
                            cards[agent],
                            client_config=ClientConfig(**config) if config else None,
                            interceptors=hook,
                        )
                        clients.append(client)
                        return client

                    blocking = await connect("echo", streaming=False)
                    try:
                        async for _ in blocking.send_message(message(ECHO_TEXT), context=anonymous):
                            pass
                    except A2AClientHTTPError as exc:
                        expect(exc.status_code == 401, f"without the credential: {exc}")
                    else:
                        raise Failed("message/send without the credential was not refused")
                    # The card the client holds, through the hook: the extended one (the
                    # public card says supportsAuthenticatedExtendedCard).
                    extended = await blocking.get_card(context=signed_in)
                    expect(extended.name == "echo", f"extended card {extended.name!r}")
                    task: Task | None = None
                    async for event in blocking.send_message(message(ECHO_TEXT), context=signed_in):
                        expect(isinstance(event, tuple), f"got a {type(event).__name__}")
                        task = event[0]  # type: ignore[index]
                    expect(task is not None, "message/send: no task")
                    assert task is not None
                    expect(task.status.state == TaskState.completed, f"send: {task.status.state}")
                    expect(artifact_text(task) == ECHO_TEXT, f"artifact {artifact_text(task)!r}")
                    streaming = await connect("progress")
                    arrivals = Arrivals()
                    update: Any = None
                    last: Task | None = None
                    text = f"steps={AUTH_STREAM_STEPS} interval={AUTH_STREAM_INTERVAL}"
                    async for event in streaming.send_message(message(text), context=signed_in):
                        expect(isinstance(event, tuple), f"got a {type(event).__name__}")
                        last, update = event  # type: ignore[misc]
                        arrivals.mark(kind(update))
                    expect(last is not None and last.status.state == TaskState.completed, "stream")
                    expect(isinstance(update, TaskStatusUpdateEvent) and update.final, "no final")
                    arrivals.first_before_last_by(
                        (AUTH_STREAM_STEPS - 1) * AUTH_STREAM_INTERVAL * 0.5
                    )
                    got = await blocking.get_task(TaskQueryParams(id=task.id), context=signed_in)
                    expect(got.status.state == TaskState.completed, f"get: {got.status.state}")
                    return (
                        f"card security {cards['echo'].security} -> scheme {name!r} ({what}); "
                        "AuthInterceptor(InMemoryContextCredentialStore) with nothing for the "
                        "session: HTTP 401 (A2AClientHTTPError); with the credential: "
                        "Client.get_card() (agent/getAuthenticatedExtendedCard), "
                        f"message/send completed, message/stream {arrivals.summary()}, "
                        "tasks/get completed"
                    )

                runs.append(report.run(f"auth-{mode}", body))
            await asyncio.gather(*runs)
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()


def main() -> None:
    mode, args = cli(sys.argv)
    if mode == "main" and len(args) == 2:
        asyncio.run(main_suite(*args))
    elif mode == "auth" and len(args) == 2:
        asyncio.run(auth_suite(*args))
    else:
        die(__doc__ or "usage")


if __name__ == "__main__":
    main()
