"""Interop client: Google ADK's ``RemoteA2aAgent`` (google-adk 2.x on a2a-sdk 1.x) against the
gateway.

Usage: ``adk.py BASE PUSH_BASE``. Each operation builds a ``RemoteA2aAgent`` from an agent
card URL with ADK's default settings, and runs it as the root agent of an ADK ``Runner``
with an ``InMemorySessionService``: no model, no API key, the remote agent is the whole app.
ADK resolves the card, makes its a2a-sdk client with ``ClientFactory`` (its default
``ClientConfig``: streaming on, JSON-RPC preferred over HTTP+JSON), and turns the stream's
task, status and artifact events into ADK events, each carrying the A2A task it came from
(``custom_metadata["a2a:response"]``). That is all ADK does with A2A: it sends messages and
never gets, cancels, subscribes to or lists tasks, nor configures push notifications.

What ADK's HTTP client sends is recorded (``httpx.AsyncClient.send`` wrapped, nothing
changed) to report the A2A version and method on the wire.

``adk.py --auth APIKEY_BASE JWT_BASE`` authenticates (credentials in
``A2A_INTEROP_CREDENTIALS``) through ADK's own hook, ``RemoteA2aAgent(auth_scheme=...,
auth_credential=...)``: the scheme is the card's (read with the a2a-sdk resolver ADK uses,
turned into ADK's OpenAPI ``AuthScheme``), and ADK attaches the credential to its card
request and to every message it sends.
"""

from __future__ import annotations

import asyncio
import json
import sys
import warnings
from importlib.metadata import version
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from a2a.client import A2ACardResolver
from fastapi.openapi.models import APIKey, APIKeyIn, HTTPBearer
from google.adk.agents.remote_a2a_agent import AGENT_CARD_WELL_KNOWN_PATH, RemoteA2aAgent
from google.adk.auth.auth_credential import (
    AuthCredential,
    AuthCredentialTypes,
    HttpAuth,
    HttpCredentials,
)
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.genai import types
from interop_common import (
    API_KEY_HEADER,
    ASK_ROUNDS,
    AUTH_STREAM_INTERVAL,
    AUTH_STREAM_STEPS,
    ECHO_TEXT,
    OPERATIONS,
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

if TYPE_CHECKING:
    from google.adk.auth.auth_schemes import AuthScheme

# ADK marks its whole A2A integration experimental and says so on every use.
warnings.filterwarnings("ignore", message=r"\[EXPERIMENTAL\]")

report = Report(f"google-adk {version('google-adk')} (Python, RemoteA2aAgent)", "1.0")

NO_CALL = "RemoteA2aAgent has no call for it (ADK only sends messages)"
ABSENT = {
    "get": NO_CALL,
    "cancel": NO_CALL + "; aborting an ADK invocation closes the stream, sends no CancelTask",
    "resubscribe": NO_CALL,
    "push-set": NO_CALL,
    "push-get": NO_CALL,
    "push-list": NO_CALL,
    "push-delete": NO_CALL,
    "list-tasks": NO_CALL,
}

COMPLETED = "TASK_STATE_COMPLETED"
INPUT_REQUIRED = "TASK_STATE_INPUT_REQUIRED"
APP, USER = "a2a-interop", "interop-user"


class Wire:
    """Requests ADK's HTTP client sent: method, path, A2A-Version header, JSON-RPC method."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, str]] = []
        original = httpx.AsyncClient.send

        async def send(client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
            rpc = ""
            if request.method == "POST":
                try:
                    rpc = str(json.loads(request.content).get("method", ""))
                except (ValueError, AttributeError):
                    rpc = "?"
            header = request.headers.get("A2A-Version", "(none)")
            self.sent.append((request.method, request.url.path, header, rpc))
            return await original(client, request, **kwargs)

        httpx.AsyncClient.send = send  # type: ignore[method-assign]

    def since(self, mark: int) -> list[tuple[str, str, str, str]]:
        return self.sent[mark:]

    @staticmethod
    def summary(sent: list[tuple[str, str, str, str]]) -> str:
        return "; ".join(
            f"{method} {path} A2A-Version: {header}" + (f" {rpc}" if rpc else "")
            for method, path, header, rpc in sent
        )


wire = Wire()


def card_url(agent_url: str) -> str:
    """The agent URL plus the well-known card path: ADK fetches the card from exactly the
    URL it is given (``A2ACardResolver`` with that path)."""
    return agent_url.rstrip("/") + AGENT_CARD_WELL_KNOWN_PATH


def a2a_state(event: Any) -> str:
    """The A2A task state an ADK event was made from ("" if none)."""
    response = (event.custom_metadata or {}).get("a2a:response")
    if not isinstance(response, dict):
        return ""
    return str((response.get("status") or {}).get("state", ""))


def a2a_task_id(event: Any) -> str:
    return str((event.custom_metadata or {}).get("a2a:task_id", ""))


def answer_text(events: list[Any]) -> str:
    """The agent's answer as ADK hands it on: its non-thought text parts, in order."""
    return "".join(
        part.text
        for event in events
        if event.content
        for part in event.content.parts or []
        if part.text and not part.thought
    )


def thoughts(events: list[Any]) -> list[str]:
    return [
        part.text
        for event in events
        if event.content
        for part in event.content.parts or []
        if part.text and part.thought
    ]


def questions(events: list[Any]) -> list[str]:
    """What the remote agent asked: ADK turns input-required into a long-running call."""
    asked = []
    for event in events:
        for call in event.get_function_calls():
            if event.long_running_tool_ids and call.id in event.long_running_tool_ids:
                asked.append(str((call.args or {}).get("input_required", call.args)))
    return asked


def errors(events: list[Any]) -> list[str]:
    return [str(event.error_message) for event in events if event.error_message]


class Conversation:
    """A ``RemoteA2aAgent`` (defaults, or ADK's auth hook: ``auth_scheme`` and
    ``auth_credential``) as the root agent of a ``Runner``, one ADK session."""

    def __init__(
        self,
        agent_url: str,
        auth_scheme: AuthScheme | None = None,
        auth_credential: AuthCredential | None = None,
    ) -> None:
        self.agent = RemoteA2aAgent(
            name="gateway",
            agent_card=card_url(agent_url),
            auth_scheme=auth_scheme,
            auth_credential=auth_credential,
        )
        self.sessions = InMemorySessionService()
        self.runner = Runner(app_name=APP, agent=self.agent, session_service=self.sessions)
        self.session_id = ""

    async def say(self, text: str) -> tuple[list[Any], Arrivals]:
        """One user message, one ADK invocation: the events as they arrived."""
        if not self.session_id:
            session = await self.sessions.create_session(app_name=APP, user_id=USER)
            self.session_id = session.id
        message = types.Content(role="user", parts=[types.Part(text=text)])
        arrivals = Arrivals()
        events = []
        async for event in self.runner.run_async(
            user_id=USER, session_id=self.session_id, new_message=message
        ):
            events.append(event)
            arrivals.mark(a2a_state(event).removeprefix("TASK_STATE_").lower() or "event")
        expect(not errors(events), f"ADK error events: {errors(events)}")
        return events, arrivals

    async def close(self) -> None:
        await self.runner.close()
        await self.agent.cleanup()


class Conversations:
    """Every conversation made, closed at the end."""

    def __init__(self) -> None:
        self.made: list[Conversation] = []

    def __call__(
        self,
        agent_url: str,
        auth_scheme: AuthScheme | None = None,
        auth_credential: AuthCredential | None = None,
    ) -> Conversation:
        conversation = Conversation(agent_url, auth_scheme, auth_credential)
        self.made.append(conversation)
        return conversation

    async def close(self) -> None:
        for conversation in self.made:
            try:
                await conversation.close()
            except Exception as exc:  # closing must not hide the results
                print(f"closing: {exc!r}", file=sys.stderr)


async def main_suite(base: str) -> None:
    urls = agent_urls(base)
    conversations = Conversations()

    async def card() -> str:
        conversation = conversations(urls["progress"])
        agent = conversation.agent
        mark = len(wire.sent)
        # What every ADK run does first: resolve and validate the card, make the client.
        client = await agent._ensure_resolved()
        transport = client._transport
        url = getattr(transport, "url", "?")
        resolved = agent._agent_card
        expect(resolved is not None, "no card resolved")
        interfaces = [
            f"{i.protocol_binding} {i.protocol_version} {i.url}"
            for i in resolved.supported_interfaces
        ]
        expect(type(transport).__name__ == "JsonRpcTransport", f"picked {type(transport).__name__}")
        expect(url == urls["progress"], f"ADK picked {url!r}, not {urls['progress']!r}")
        expect(resolved.description in agent.description, f"description {agent.description!r}")
        fetched = wire.since(mark)
        card_path = urlsplit(card_url(urls["progress"])).path
        expect(
            [(m, p) for m, p, _, _ in fetched] == [("GET", card_path)],
            f"card requests: {Wire.summary(fetched)}",
        )
        return (
            f"{type(transport).__name__} (1.0) at {url}; {Wire.summary(fetched)}; "
            f"card interfaces: {interfaces}"
        )

    async def send() -> str:
        conversation = conversations(urls["echo"])
        mark = len(wire.sent)
        events, arrivals = await conversation.say(ECHO_TEXT)
        states = [a2a_state(event) for event in events]
        expect(states[-1:] == [COMPLETED], f"A2A states {states}")
        expect(answer_text(events) == ECHO_TEXT, f"answer {answer_text(events)!r}")
        posts = [s for s in wire.since(mark) if s[0] == "POST"]
        expect(
            [(h, rpc) for _, _, h, rpc in posts] == [("1.0", "SendStreamingMessage")],
            f"requests: {Wire.summary(posts)}",
        )
        chunks = [answer_text([event]) for event in events if answer_text([event])]
        final = [answer_text([event]) for event in events if event.is_final_response()]
        return (
            f"Runner.run_async -> {Wire.summary(posts)} (ADK's default: streaming); "
            f"{arrivals.summary()}; completed; the artifact's chunks as events {chunks} "
            f"(is_final_response: {[text for text in final if text]})"
        )

    async def stream() -> str:
        conversation = conversations(urls["progress"])
        events, arrivals = await conversation.say(
            f"steps={STREAM_STEPS} interval={STREAM_INTERVAL}"
        )
        states = [a2a_state(event) for event in events]
        expect(states[-1:] == [COMPLETED], f"A2A states {states}")
        steps = [t for t in thoughts(events) if t.startswith("step ")]
        expect(len(steps) >= STREAM_STEPS, f"step thoughts {thoughts(events)}")
        arrivals.first_before_last_by((STREAM_STEPS - 1) * STREAM_INTERVAL * 0.5)
        return f"Runner.run_async: progress as thought events, live: {arrivals.summary()}"

    async def multi_turn() -> str:
        conversation = conversations(urls["ask"])
        mark = len(wire.sent)
        runs = [await conversation.say(f"rounds={ASK_ROUNDS}")]
        for answer in [f"Ada {n}" for n in range(1, ASK_ROUNDS)] + ["Linus"]:
            asked = questions(runs[-1][0])
            expect(asked, f"run {len(runs)} asked nothing: {[a2a_state(e) for e in runs[-1][0]]}")
            runs.append(await conversation.say(answer))
        finals = [a2a_state(events[-1]) for events, _ in runs]
        expect(finals == [INPUT_REQUIRED] * ASK_ROUNDS + [COMPLETED], f"final states {finals}")
        task_ids = {a2a_task_id(event) for events, _ in runs for event in events}
        expect(len(task_ids) == 1 and "" not in task_ids, f"A2A tasks {task_ids}")
        answer = answer_text(runs[-1][0])
        expect(answer == "Hello, Linus!", f"answer {answer!r}")
        posts = [s for s in wire.since(mark) if s[0] == "POST"]
        expect(
            [rpc for _, _, _, rpc in posts] == ["SendStreamingMessage"] * (ASK_ROUNDS + 1),
            f"requests {Wire.summary(posts)}",
        )
        names = " -> ".join(state.removeprefix("TASK_STATE_").lower() for state in finals)
        return (
            f"{ASK_ROUNDS + 1} runs in one ADK session, one A2A task: {names}; "
            f"input-required arrives as an ADK long-running call; answer {answer!r}"
        )

    operations = {"card": card, "send": send, "stream": stream, "multi-turn": multi_turn}
    try:
        for operation in OPERATIONS:
            if operation in operations:
                await report.run(operation, operations[operation])
            else:
                report.absent(operation, ABSENT[operation])
    finally:
        await conversations.close()


def card_auth(card: Any, mode: str, secret: str) -> tuple[AuthScheme, AuthCredential, str]:
    """ADK's ``auth_scheme`` and ``auth_credential`` for the scheme, among the card's 1.0
    security requirements (OR), that a credential of ``mode`` satisfies."""
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
                return (
                    APIKey(**{"in": APIKeyIn.header, "name": api_key.name}),
                    AuthCredential(auth_type=AuthCredentialTypes.API_KEY, api_key=secret),
                    f"{name!r}: apiKeySecurityScheme in header {api_key.name} -> APIKey",
                )
            http = scheme.http_auth_security_scheme
            bearer = which == "http_auth_security_scheme" and http.scheme.lower() == "bearer"
            if mode == "jwt" and bearer:
                expect(http.bearer_format == "JWT", f"bearerFormat {http.bearer_format}")
                return (
                    HTTPBearer(bearerFormat=http.bearer_format),
                    AuthCredential(
                        auth_type=AuthCredentialTypes.HTTP,
                        http=HttpAuth(scheme="bearer", credentials=HttpCredentials(token=secret)),
                    ),
                    f"{name!r}: httpAuthSecurityScheme bearer JWT -> HTTPBearer",
                )
    raise Failed(f"the card has no {mode} scheme")


async def auth_suite(apikey_base: str, jwt_base: str) -> None:
    """Each mode: the card's scheme through ADK's auth hook; refused without it."""
    given = credentials()
    conversations = Conversations()
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
            runs = []  # the two modes side by side
            for mode, base in (("apikey", apikey_base), ("jwt", jwt_base)):

                async def body(mode: str = mode, base: str = base) -> str:
                    urls = agent_urls(base)
                    card = await A2ACardResolver(http, urls["echo"]).get_agent_card()
                    scheme, credential, what = card_auth(card, mode, given[mode])
                    try:
                        await conversations(urls["echo"]).say(ECHO_TEXT)
                    except Exception as exc:
                        expect("401" in str(exc), f"without the credential: {exc!r}")
                        without = str(exc)[:160]
                    else:
                        raise Failed("an ADK run without the credential was not refused")
                    echo = conversations(urls["echo"], scheme, credential)
                    events, _ = await echo.say(ECHO_TEXT)
                    states = [a2a_state(event) for event in events]
                    expect(states[-1:] == [COMPLETED], f"send: A2A states {states}")
                    expect(answer_text(events) == ECHO_TEXT, f"answer {answer_text(events)!r}")
                    progress = conversations(urls["progress"], scheme, credential)
                    events, arrivals = await progress.say(
                        f"steps={AUTH_STREAM_STEPS} interval={AUTH_STREAM_INTERVAL}"
                    )
                    states = [a2a_state(event) for event in events]
                    expect(states[-1:] == [COMPLETED], f"stream: A2A states {states}")
                    arrivals.first_before_last_by(
                        (AUTH_STREAM_STEPS - 1) * AUTH_STREAM_INTERVAL * 0.5
                    )
                    return (
                        f"card scheme {what}; RemoteA2aAgent without auth_scheme: {without}; "
                        f"with auth_scheme and auth_credential: send completed, stream "
                        f"{arrivals.summary()}; get: n/a (RemoteA2aAgent only sends messages)"
                    )

                runs.append(report.run(f"auth-{mode}", body))
            await asyncio.gather(*runs)
    finally:
        await conversations.close()


def main() -> None:
    mode, args = cli(sys.argv)
    if mode == "main" and len(args) == 2:
        asyncio.run(main_suite(args[0]))
    elif mode == "auth" and len(args) == 2:
        asyncio.run(auth_suite(*args))
    else:
        die(__doc__ or "usage")


if __name__ == "__main__":
    main()
