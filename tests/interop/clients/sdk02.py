"""Interop client: the official Python a2a-sdk 0.2.x (``A2AClient``) against the gateway.

Usage: ``sdk02.py BASE PUSH_BASE`` runs every operation; ``sdk02.py --cross-create BASE``
creates tasks for the 1.x readers; ``sdk02.py --cross-read BASE IDS_JSON`` reads tasks the
1.x clients created; ``sdk02.py --auth APIKEY_BASE JWT_BASE`` authenticates (credentials in
``A2A_INTEROP_CREDENTIALS``). The client is built the SDK's way,
``A2AClient.get_client_from_agent_card_url`` with a default ``httpx.AsyncClient``; the
authenticated one from the resolved card with the SDK's auth hook, ``AuthInterceptor`` over
an ``InMemoryContextCredentialStore`` keyed by the scheme the card names.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from importlib.metadata import version
from typing import Any

import httpx
from a2a.client import A2ACardResolver, A2AClient, A2AClientHTTPError
from a2a.client.auth import AuthInterceptor, InMemoryContextCredentialStore
from a2a.client.middleware import ClientCallContext
from a2a.types import (
    AgentCard,
    APIKeySecurityScheme,
    CancelTaskRequest,
    GetTaskPushNotificationConfigParams,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    HTTPAuthSecurityScheme,
    In,
    JSONRPCErrorResponse,
    Message,
    MessageSendConfiguration,
    MessageSendParams,
    Part,
    PushNotificationConfig,
    Role,
    SendMessageRequest,
    SendStreamingMessageRequest,
    SetTaskPushNotificationConfigRequest,
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
    STREAM_INTERVAL,
    STREAM_STEPS,
    Absent,
    Arrivals,
    Failed,
    Report,
    agent_urls,
    cli,
    credentials,
    die,
    expect,
)

report = Report(f"a2a-sdk {version('a2a-sdk')} (Python)", "0.2.5")


def message(text: str, task_id: str | None = None) -> Message:
    return Message(
        role=Role.user,
        message_id=str(uuid.uuid4()),
        parts=[Part(root=TextPart(text=text))],
        task_id=task_id,
    )


def send_request(text: str, task_id: str | None = None, **config: Any) -> SendMessageRequest:
    configuration = MessageSendConfiguration(accepted_output_modes=["text/plain"], **config)
    params = MessageSendParams(message=message(text, task_id), configuration=configuration)
    return SendMessageRequest(id=str(uuid.uuid4()), params=params)


def stream_request(text: str) -> SendStreamingMessageRequest:
    return SendStreamingMessageRequest(
        id=str(uuid.uuid4()), params=MessageSendParams(message=message(text))
    )


def result(response: Any) -> Any:
    """The result of an SDK response, or a failure carrying its JSON-RPC error."""
    root = response.root
    if isinstance(root, JSONRPCErrorResponse):
        raise Failed(f"JSON-RPC error {root.error.code}: {root.error.message}")
    return root.result


def artifact_text(task: Task) -> str:
    return "".join(
        part.root.text
        for artifact in task.artifacts or []
        for part in artifact.parts
        if isinstance(part.root, TextPart)
    )


def state(task: Task) -> str:
    return task.status.state.value


async def connect(http: httpx.AsyncClient, url: str) -> A2AClient:
    return await A2AClient.get_client_from_agent_card_url(http, url)


async def send_text(
    client: A2AClient, text: str, task_id: str | None = None, **config: Any
) -> Task:
    task = result(await client.send_message(send_request(text, task_id, **config)))
    expect(isinstance(task, Task), f"message/send returned {type(task).__name__}, not a Task")
    return task


async def get(client: A2AClient, task_id: str) -> Task:
    request = GetTaskRequest(id=str(uuid.uuid4()), params=TaskQueryParams(id=task_id))
    task = result(await client.get_task(request))
    expect(isinstance(task, Task), f"tasks/get returned {type(task).__name__}")
    return task


async def main_suite(base: str, push_base: str) -> None:
    urls = agent_urls(base)
    push_urls = agent_urls(push_base)
    async with httpx.AsyncClient() as http:

        async def card() -> str:
            echo = await connect(http, urls["echo"])
            progress = await connect(http, urls["progress"])
            for client in (echo, progress):
                expect(client.agent_card.capabilities.streaming, "card: streaming not advertised")
            expect(
                progress.url.rstrip("/").endswith("/agents/progress"),
                f"progress card url {progress.url!r}",
            )
            return (
                f"echo url={echo.url} progress url={progress.url} "
                f"protocolVersion={echo.agent_card.protocol_version} "
                f"transport={echo.agent_card.preferred_transport}"
            )

        async def send() -> str:
            client = await connect(http, urls["echo"])
            task = await send_text(client, ECHO_TEXT)
            report.state["send_task"] = task.id
            expect(state(task) == "completed", f"state {state(task)}")
            expect(artifact_text(task) == ECHO_TEXT, f"artifact text {artifact_text(task)!r}")
            return f"message/send: task {task.id} completed, artifact {artifact_text(task)!r}"

        async def stream() -> str:
            client = await connect(http, urls["progress"])
            arrivals = Arrivals()
            events = []
            text = f"steps={STREAM_STEPS} interval={STREAM_INTERVAL}"
            async for response in client.send_message_streaming(stream_request(text)):
                event = result(response)
                events.append(event)
                arrivals.mark(kind(event))
            last = events[-1]
            expect(
                isinstance(last, TaskStatusUpdateEvent) and last.final,
                f"last event {kind(last)}",
            )
            expect(last.status.state == TaskState.completed, f"final state {last.status.state}")
            working = [e for e in events if kind(e) == "working"]
            expect(len(working) >= STREAM_STEPS, f"{len(working)} working updates")
            arrivals.first_before_last_by((STREAM_STEPS - 1) * STREAM_INTERVAL * 0.5)
            return f"message/stream: {arrivals.summary()}"

        async def get_op() -> str:
            client = await connect(http, urls["echo"])
            task = await get(client, report.needs("send_task"))
            expect(state(task) == "completed", f"state {state(task)}")
            expect(artifact_text(task) == ECHO_TEXT, f"artifact text {artifact_text(task)!r}")
            return f"tasks/get: {task.id} completed with its artifact"

        async def cancel() -> str:
            client = await connect(http, urls["progress"])
            return await cancel_while_streaming(client, LONG_TASK)

        async def resubscribe() -> str:
            if not hasattr(A2AClient, "resubscribe"):
                raise Absent("A2AClient 0.2.x has no resubscribe call")
            raise Failed("A2AClient.resubscribe exists in this version: write the operation")

        async def multi_turn() -> str:
            client = await connect(http, urls["ask"])
            task = await send_text(client, f"rounds={ASK_ROUNDS}")
            states = [state(task)]
            for answer in [f"Ada {n}" for n in range(1, ASK_ROUNDS)] + ["Linus"]:
                expect(state(task) == "input-required", f"states {states}")
                task = await send_text(client, answer, task_id=task.id)
                states.append(state(task))
            expect(states == ["input-required"] * ASK_ROUNDS + ["completed"], f"states {states}")
            expect(artifact_text(task) == "Hello, Linus!", f"answer {artifact_text(task)!r}")
            return f"message/send x{ASK_ROUNDS + 1}: {' -> '.join(states)}"

        async def push_set() -> str:
            client = await connect(http, push_urls["ask"])
            expect(client.agent_card.capabilities.push_notifications, "card: push not advertised")
            task = await send_text(client, "push configs, please")
            report.state["push_task"] = task.id
            config = TaskPushNotificationConfig(
                task_id=task.id,
                push_notification_config=PushNotificationConfig(
                    id="interop-1", url=PUSH_URL, token="tok-1"
                ),
            )
            request = SetTaskPushNotificationConfigRequest(id=str(uuid.uuid4()), params=config)
            stored = result(await client.set_task_callback(request))
            expect(stored.push_notification_config.url == PUSH_URL, f"stored {stored}")
            return f"tasks/pushNotificationConfig/set on {task.id}: id={stored.push_notification_config.id}"

        async def push_get() -> str:
            client = await connect(http, push_urls["ask"])
            task_id = report.needs("push_task")
            params = GetTaskPushNotificationConfigParams(
                id=task_id, push_notification_config_id="interop-1"
            )
            request = GetTaskPushNotificationConfigRequest(id=str(uuid.uuid4()), params=params)
            got = result(await client.get_task_callback(request))
            expect(got.task_id == task_id, f"task id {got.task_id}")
            expect(got.push_notification_config.url == PUSH_URL, f"url {got}")
            expect(not got.push_notification_config.token, f"token read back: {got}")
            return "tasks/pushNotificationConfig/get: url as set, the token not read back"

        await report.run("card", card)
        await report.run("send", send)
        await report.run("stream", stream)
        await report.run("get", get_op)
        await report.run("cancel", cancel)
        await report.run("resubscribe", resubscribe)
        await report.run("multi-turn", multi_turn)
        await report.run("push-set", push_set)
        await report.run("push-get", push_get)
        report.absent("push-list", "A2AClient 0.2.x has no list call for push configs")
        report.absent("push-delete", "A2AClient 0.2.x has no delete call for push configs")
        report.absent("list-tasks", "ListTasks is new in A2A 1.0")


def kind(event: Any) -> str:
    if isinstance(event, Task):
        return "task"
    if isinstance(event, TaskStatusUpdateEvent):
        return event.status.state.value
    if isinstance(event, TaskArtifactUpdateEvent):
        return "artifact"
    return type(event).__name__


async def cancel_while_streaming(client: A2AClient, text: str) -> str:
    """Stream a long task; at its first progress update cancel it; the stream must end
    with the canceled state."""
    arrivals = Arrivals()
    task_id = ""
    canceled: Task | None = None
    last: Any = None
    async for response in client.send_message_streaming(stream_request(text)):
        event = result(response)
        arrivals.mark(kind(event))
        last = event
        if isinstance(event, Task):
            task_id = event.id
        if canceled is None and isinstance(event, TaskStatusUpdateEvent) and event.status.message:
            request = CancelTaskRequest(id=str(uuid.uuid4()), params=TaskIdParams(id=task_id))
            canceled = result(await client.cancel_task(request))
            arrivals.mark("cancel-returned")
    expect(canceled is not None, f"no progress update to cancel at: {arrivals.summary()}")
    assert canceled is not None
    expect(canceled.status.state == TaskState.canceled, f"tasks/cancel gave {state(canceled)}")
    expect(
        isinstance(last, TaskStatusUpdateEvent) and last.status.state == TaskState.canceled,
        f"stream ended with {kind(last)}",
    )
    return f"tasks/cancel -> canceled; stream ended canceled: {arrivals.summary()}"


async def cross_create(base: str) -> None:
    """Tasks for the 1.x readers: one completed echo task, one running progress task each."""
    urls = agent_urls(base)
    async with httpx.AsyncClient() as http:
        created: dict[str, str] = {}

        async def create() -> str:
            echo = await connect(http, urls["echo"])
            task = await send_text(echo, "made by the 0.2 client")
            expect(state(task) == "completed", f"echo state {state(task)}")
            created["echo"] = task.id
            progress = await connect(http, urls["progress"])
            for reader in ("sdk1", "js1"):
                running = await send_text(progress, LONG_TASK, blocking=False)
                expect(state(running) in {"submitted", "working"}, f"state {state(running)}")
                created[f"progress-{reader}"] = running.id
            return f"created {created}"

        await report.run("cross-create", create)
        report.created(created)


async def cross_read(base: str, ids: dict[str, str]) -> None:
    """Read, answer and cancel the tasks the 1.x clients created."""
    urls = agent_urls(base)
    async with httpx.AsyncClient() as http:
        for creator in ("sdk1", "js1"):

            async def read(creator: str = creator) -> str:
                task_id = ids.get(f"echo-{creator}")
                expect(task_id, f"the {creator} client created no echo task")
                task = await get(await connect(http, urls["echo"]), task_id)
                expect(state(task) == "completed", f"state {state(task)}")
                expected = f"made by {creator}"
                expect(artifact_text(task) == expected, f"artifact text {artifact_text(task)!r}")
                texts = [
                    p.root.text
                    for m in task.history or []
                    for p in m.parts
                    if p.root.kind == "text"
                ]
                expect(expected in texts, f"history texts {texts}")
                return f"tasks/get: completed, artifact and history as {creator} sent them"

            async def answer(creator: str = creator) -> str:
                task_id = ids.get(f"ask-{creator}")
                expect(task_id, f"the {creator} client created no ask task")
                client = await connect(http, urls["ask"])
                before = await get(client, task_id)
                expect(state(before) == "input-required", f"state {state(before)}")
                task = await send_text(client, "Grace", task_id=task_id)
                expect(state(task) == "completed", f"state {state(task)}")
                expect(artifact_text(task) == "Hello, Grace!", f"answer {artifact_text(task)!r}")
                return "message/send answers the 1.x client's input-required task: completed"

            async def cancel(creator: str = creator) -> str:
                task_id = ids.get(f"progress-{creator}")
                expect(task_id, f"the {creator} client created no progress task")
                client = await connect(http, urls["progress"])
                request = CancelTaskRequest(id=str(uuid.uuid4()), params=TaskIdParams(id=task_id))
                canceled = result(await client.cancel_task(request))
                expect(state(canceled) == "canceled", f"tasks/cancel gave {state(canceled)}")
                task = await get(client, task_id)
                expect(state(task) == "canceled", f"tasks/get after cancel: {state(task)}")
                return "tasks/cancel on the 1.x client's running task: canceled"

            await report.run(f"cross-get-from-{creator}", read)
            await report.run(f"cross-multi-turn-from-{creator}", answer)
            await report.run(f"cross-cancel-from-{creator}", cancel)


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
                store = InMemoryContextCredentialStore()
                await store.set_credentials("interop", name, given[mode])
                hook = [AuthInterceptor(store)]
                signed_in = ClientCallContext(state={"sessionId": "interop"})
                anonymous = ClientCallContext(state={"sessionId": "nobody"})
                echo = A2AClient(http, agent_card=cards["echo"], interceptors=hook)
                progress = A2AClient(http, agent_card=cards["progress"], interceptors=hook)
                try:
                    await echo.send_message(send_request(ECHO_TEXT), context=anonymous)
                except A2AClientHTTPError as exc:
                    expect(exc.status_code == 401, f"without the credential: {exc}")
                else:
                    raise Failed("message/send without the credential was not refused")
                answer = await echo.send_message(send_request(ECHO_TEXT), context=signed_in)
                task = result(answer)
                expect(isinstance(task, Task) and state(task) == "completed", f"send: {task}")
                expect(artifact_text(task) == ECHO_TEXT, f"artifact {artifact_text(task)!r}")
                arrivals = Arrivals()
                last: Any = None
                text = f"steps={AUTH_STREAM_STEPS} interval={AUTH_STREAM_INTERVAL}"
                request = stream_request(text)
                async for response in progress.send_message_streaming(request, context=signed_in):
                    last = result(response)
                    arrivals.mark(kind(last))
                expect(
                    isinstance(last, TaskStatusUpdateEvent)
                    and last.final
                    and last.status.state == TaskState.completed,
                    f"stream ended with {kind(last)}",
                )
                arrivals.first_before_last_by((AUTH_STREAM_STEPS - 1) * AUTH_STREAM_INTERVAL * 0.5)
                query = GetTaskRequest(id=str(uuid.uuid4()), params=TaskQueryParams(id=task.id))
                got = result(await echo.get_task(query, context=signed_in))
                expect(isinstance(got, Task) and state(got) == "completed", f"get: {got}")
                return (
                    f"card security {cards['echo'].security} -> scheme {name!r} ({what}); "
                    "AuthInterceptor(InMemoryContextCredentialStore) with nothing for the "
                    "session: HTTP 401 (A2AClientHTTPError); with the credential: message/send "
                    f"completed, message/stream {arrivals.summary()}, tasks/get completed"
                )

            runs.append(report.run(f"auth-{mode}", body))
        await asyncio.gather(*runs)


def main() -> None:
    mode, args = cli(sys.argv)
    if mode == "main" and len(args) == 2:
        asyncio.run(main_suite(*args))
    elif mode == "cross-create" and len(args) == 1:
        asyncio.run(cross_create(args[0]))
    elif mode == "cross-read" and len(args) == 2:
        asyncio.run(cross_read(args[0], json.loads(args[1])))
    elif mode == "auth" and len(args) == 2:
        asyncio.run(auth_suite(*args))
    else:
        die(__doc__ or "usage")


if __name__ == "__main__":
    main()
