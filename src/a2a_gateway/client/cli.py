"""``a2a``: call an A2A agent from a terminal and watch its task live.

    a2a call URL "text"        send a message, stream the task (multi-turn: input-required
                               becomes a prompt whose answer continues the task)
    a2a watch URL TASK_ID      follow an existing task to its end (resuming)
    a2a get URL TASK_ID        the task, now
    a2a cancel URL TASK_ID     cancel the task
    a2a card URL               the agent card

The same commands are ``a2a-gateway call|watch|get|cancel|card`` in the development tools.
``--agent NAME`` targets ``URL/agents/NAME/``; ``--token`` (``A2A_TOKEN``) sends a bearer
token, ``--api-key`` (``A2A_API_KEY``) an API key; ``--deadline SECONDS`` bounds the whole
command, every turn of a conversation together (an answer typed after it passed is not
sent). ``--json`` prints one JSON object per line (each stream event with its ``id``, a
reconnection as ``{"resumed": {...}}``) and nothing else, for scripts.

Ctrl-C while a task runs asks whether to cancel it (``y``: ``tasks/cancel``; otherwise the
command detaches and says how to ``watch`` the task again).

Exit codes: 0 completed (or the command succeeded), 1 failed or rejected, 2 usage error,
3 canceled, 4 input-required left unanswered or auth-required, 5 transport or protocol
error, 130 interrupted.

Needs only httpx and rich (no server dependencies).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, cast

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from a2a_gateway.client.auth import ApiKeyAuth, BearerAuth
from a2a_gateway.client.client import PROTOCOLS, A2AClient
from a2a_gateway.client.errors import A2AClientError, StreamDeadlineExceeded
from a2a_gateway.client.types import Event, Resumed

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from a2a_gateway.client.types import StreamItem

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CANCELED = 3
EXIT_NEEDS_INPUT = 4
EXIT_ERROR = 5
EXIT_INTERRUPTED = 130

STATE_EXIT = {
    "completed": EXIT_OK,
    "failed": EXIT_FAILED,
    "rejected": EXIT_FAILED,
    "canceled": EXIT_CANCELED,
    "input-required": EXIT_NEEDS_INPUT,
    "auth-required": EXIT_NEEDS_INPUT,
}
STATE_STYLE = {
    "completed": "bold green",
    "failed": "bold red",
    "rejected": "bold red",
    "canceled": "bold yellow",
    "input-required": "bold cyan",
    "auth-required": "bold magenta",
}


class Interrupted(Exception):
    """Ctrl-C while a stream was followed."""


def parts_text(parts: Any) -> str:
    """The readable content of a list of A2A parts: text as is, data as JSON, files by name."""
    out: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            out.append(part["text"])
        elif "data" in part:
            out.append(json.dumps(part["data"], ensure_ascii=False))
        elif isinstance(part.get("file"), dict):
            out.append(f"[file {part['file'].get('name') or part['file'].get('uri') or ''}]")
    return "".join(out)


def status_text(result: dict[str, Any]) -> str:
    status = result.get("status")
    if not isinstance(status, dict) or not isinstance(status.get("message"), dict):
        return ""
    return parts_text(status["message"].get("parts"))


def read_line(prompt: str, err: Console) -> str:
    """One line from stdin after ``prompt`` (on stderr's console); ``EOFError`` at the end
    of input. Ctrl-C raises ``KeyboardInterrupt`` (the default handler is in place)."""
    err.print(Text(prompt), end="")
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


class View:
    """What the user sees of one task: human (rich) or ``--json`` lines."""

    def __init__(self, *, as_json: bool, out: Console, err: Console) -> None:
        self.as_json = as_json
        self.out = out
        self.err = err
        self.task_id: str | None = None
        self.context_id: str | None = None
        self.state: str | None = None
        self.message = ""
        self.last_id: str | None = None  # the last event's id, to say where it stopped
        self._printed: tuple[str | None, str] | None = None
        self._artifacts: dict[str, str] = {}
        self._started = time.monotonic()
        self._live: Live | None = None

    # -- the live region ----------------------------------------------------------------

    def _render(self) -> Group:
        rows: list[Any] = [Text(text) for text in self._artifacts.values() if text]
        line = Text.assemble(
            (self.state or "connecting", STATE_STYLE.get(self.state or "", "bold blue")),
            (f"  {self.message}" if self.message else ""),
            (f"  (task {self.task_id}, {time.monotonic() - self._started:.1f}s)", "dim")
            if self.task_id
            else "",
        )
        rows.append(Spinner("dots", text=line))
        return Group(*rows)

    def start(self) -> None:
        if self.as_json or self._live is not None:
            return
        self._live = Live(
            self._render(),
            console=self.out,
            refresh_per_second=10,
            transient=True,
            get_renderable=self._render,
        )
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    # -- events ---------------------------------------------------------------------------

    def json_line(self, obj: Any) -> None:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def resumed(self, item: Resumed) -> None:
        if self.as_json:
            self.json_line(
                {
                    "resumed": {
                        "attempt": item.attempt,
                        "after_id": item.after_id,
                        "reason": item.reason,
                    }
                }
            )
        else:
            self.err.print(
                Text(f"reconnected; nothing missed ({item.reason}, attempt {item.attempt})", "dim")
            )

    def event(self, event: Event) -> None:
        result = cast("dict[str, Any]", event.result)
        if self.as_json:
            self.json_line({"id": event.id, "result": result})
        if event.id is not None:
            self.last_id = event.id
        if event.task_id and self.task_id is None:
            self.task_id = event.task_id
            if not self.as_json:
                self.out.print(Text(f"task {self.task_id}", "dim"))
        if isinstance(result.get("contextId"), str):
            self.context_id = result["contextId"]
        kind = event.kind
        if kind == "artifact-update":
            self._artifact(result)
        elif kind == "task":
            for artifact in result.get("artifacts") or []:
                if isinstance(artifact, dict):
                    key = str(artifact.get("artifactId", ""))
                    self._artifacts[key] = parts_text(artifact.get("parts"))
        elif kind == "message":
            if not self.as_json:
                self.out.print(Text(parts_text(result.get("parts"))))
            self.state = "completed"
        if event.state is not None:
            self.state = event.state
            self.message = status_text(result)
            self._log_status()
        if event.final:
            self.flush_artifacts()

    def _artifact(self, result: dict[str, Any]) -> None:
        artifact = result.get("artifact")
        if not isinstance(artifact, dict):
            return
        key = str(artifact.get("artifactId", ""))
        text = parts_text(artifact.get("parts"))
        if result.get("append"):
            self._artifacts[key] = self._artifacts.get(key, "") + text
        else:
            self._artifacts[key] = text
        if result.get("lastChunk") is not False:
            self._flush(key)

    def _flush(self, key: str) -> None:
        text = self._artifacts.pop(key, "")
        if text and not self.as_json:
            self.out.print(Text(text, "bold"))

    def flush_artifacts(self) -> None:
        for key in list(self._artifacts):
            self._flush(key)

    def _log_status(self) -> None:
        """A permanent line for each new (state, message), so the steps stay readable
        (and visible when the output is not a terminal)."""
        if self.as_json or self._printed == (self.state, self.message):
            return
        self._printed = (self.state, self.message)
        line = Text.assemble(
            (f"{self.state}", STATE_STYLE.get(self.state or "", "blue")),
            (f"  {self.message}" if self.message else ""),
        )
        self.out.print(line)

    def note(self, text: str, style: str = "") -> None:
        """A human remark (stderr), never in ``--json`` output."""
        if not self.as_json:
            self.err.print(Text(text, style), soft_wrap=True)


async def consume(items: AsyncIterator[StreamItem], view: View) -> str | None:
    """Follow one stream to its final event; the state it ended in."""
    view.start()
    try:
        async for item in items:
            if isinstance(item, Resumed):
                view.resumed(item)
            else:
                view.event(item)
                if item.final:
                    break
    finally:
        view.stop()
    return view.state


async def interruptible(coro: Awaitable[str | None]) -> str | None:
    """Run ``coro``; Ctrl-C cancels it and raises ``Interrupted``."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(coro)
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        interrupted = True
        task.cancel()

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        return await task
    except asyncio.CancelledError:
        if interrupted:
            raise Interrupted from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)  # back to KeyboardInterrupt for prompts


class Session:
    """One command's client, view and options. ``--deadline`` is counted from here: one
    end for everything the command does (every stream of a multi-turn call)."""

    def __init__(self, args: argparse.Namespace, client: A2AClient, view: View) -> None:
        self.args = args
        self.client = client
        self.view = view
        self.ends: float | None = None
        if args.deadline is not None:
            self.ends = time.monotonic() + args.deadline

    def time_left(self) -> float | None:
        """The seconds the command has left (``None``: no deadline); raises
        ``StreamDeadlineExceeded`` once there are none."""
        if self.ends is None:
            return None
        left = self.ends - time.monotonic()
        if left <= 0:
            raise StreamDeadlineExceeded(
                f"--deadline of {self.args.deadline}s exceeded",
                last_event_id=self.view.last_id,
                task_id=self.view.task_id,
            )
        return left

    async def follow(self, items: AsyncIterator[StreamItem]) -> int:
        """Follow the task to its end, answering ``input-required`` by a prompt."""
        view = self.view
        while True:
            try:
                state = await interruptible(consume(items, view))
            except Interrupted:
                return await self.interrupted()
            if state == "input-required":
                question = view.message or "The agent needs input"
                try:
                    answer = read_line("" if view.as_json else f"{question} > ", view.err)
                except EOFError:
                    view.note(
                        f"\nno answer; task {view.task_id} is waiting for input "
                        f"(answer later with: {self.hint('watch')})",
                        "yellow",
                    )
                    return EXIT_NEEDS_INPUT
                except KeyboardInterrupt:
                    return await self.interrupted()
                view.state, view.message = None, ""
                items = self.client.stream(
                    answer,
                    task_id=view.task_id,
                    context_id=view.context_id,
                    deadline=self.time_left(),
                )
                continue
            if state == "auth-required":
                view.note(f"the agent needs authorization: {view.message}", "magenta")
            if state is None:
                view.note("the stream ended without a task state", "red")
                return EXIT_ERROR
            return STATE_EXIT.get(state, EXIT_ERROR)

    def hint(self, command: str) -> str:
        return f"{self.args.prog} {command} {self.client.url}/ {self.view.task_id}"

    async def interrupted(self) -> int:
        view = self.view
        view.stop()
        if view.task_id is None:
            view.note("interrupted before the task was known")
            return EXIT_INTERRUPTED
        try:
            answer = read_line(f"\ncancel task {view.task_id}? [y/N] ", view.err)
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip().lower() in {"y", "yes"}:
            task = await self.client.cancel(view.task_id)
            state = task.get("status", {}).get("state", "")
            if view.as_json:
                view.json_line(task)
            else:
                view.out.print(Text(state, STATE_STYLE.get(state, "")))
            return STATE_EXIT.get(state, EXIT_ERROR)
        view.note(f"detached; task {view.task_id} goes on. Follow it with: {self.hint('watch')}")
        return EXIT_INTERRUPTED


def print_task(view: View, task: dict[str, Any]) -> None:
    if view.as_json:
        view.json_line(task)
        return
    status = task.get("status") or {}
    state = str(status.get("state", ""))
    view.out.print(Text.assemble(("task ", "dim"), str(task.get("id", ""))))
    view.out.print(Text.assemble(("context ", "dim"), str(task.get("contextId", ""))))
    view.out.print(
        Text.assemble(
            ("state ", "dim"),
            (state, STATE_STYLE.get(state, "")),
            f"  {status_text(task)}" if status_text(task) else "",
        )
    )
    for artifact in task.get("artifacts") or []:
        name = artifact.get("name") or artifact.get("artifactId", "")
        view.out.print(Text.assemble((f"artifact {name}: ", "dim"), parts_text(artifact["parts"])))


def print_card(view: View, card: dict[str, Any]) -> None:
    if view.as_json:
        view.json_line(card)
        return
    view.out.print(Text(str(card.get("name", "")), "bold"))
    if card.get("description"):
        view.out.print(Text(str(card["description"])))
    for field in ("url", "version", "protocolVersion"):
        if field in card:
            view.out.print(Text.assemble((f"{field} ", "dim"), str(card[field])))
    capabilities = card.get("capabilities") or {}
    on = [name for name, value in capabilities.items() if value is True]
    if on:
        view.out.print(Text.assemble(("capabilities ", "dim"), ", ".join(on)))
    for skill in card.get("skills") or []:
        view.out.print(
            Text.assemble(
                ("skill ", "dim"),
                (str(skill.get("id", "")), "bold"),
                f"  {skill.get('description', '')}",
            )
        )


async def run(args: argparse.Namespace, view: View) -> int:
    url = args.url.rstrip("/")
    if args.agent:
        url = f"{url}/agents/{args.agent}/"
    auth: httpx.Auth | None = None
    if args.token:
        auth = BearerAuth(args.token)
    elif args.api_key:
        auth = ApiKeyAuth(args.api_key)
    async with A2AClient(url, auth=auth, protocol=args.protocol) as client:
        session = Session(args, client, view)

        async def bounded(call: Callable[[], Awaitable[Any]]) -> Any:
            async with asyncio.timeout(session.time_left()):
                return await call()

        if args.command == "call":
            return await session.follow(client.stream(args.text, deadline=session.time_left()))
        if args.command == "watch":
            view.task_id = args.task_id
            items = client.resubscribe(args.task_id, deadline=session.time_left())
            return await session.follow(items)
        if args.command == "get":
            print_task(view, await bounded(lambda: client.get(args.task_id)))
            return EXIT_OK
        if args.command == "cancel":
            print_task(view, await bounded(lambda: client.cancel(args.task_id)))
            return EXIT_OK
        print_card(view, await bounded(client.card))
        return EXIT_OK


def parser(prog: str) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="one JSON object per line")
    common.add_argument("--agent", metavar="NAME", help="the agent at URL/agents/NAME/")
    common.add_argument(
        "--token",
        default=os.environ.get("A2A_TOKEN"),
        help="bearer token (default: $A2A_TOKEN)",
    )
    common.add_argument(
        "--api-key",
        default=os.environ.get("A2A_API_KEY"),
        help="API key, sent as X-API-Key (default: $A2A_API_KEY)",
    )
    common.add_argument(
        "--deadline", type=float, metavar="SECONDS", help="give up after this long (exit 5)"
    )
    common.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="auto",
        help="JSON-RPC dialect: 0.3, 1.0, or auto (from the agent card; the default)",
    )
    top = argparse.ArgumentParser(
        prog=prog,
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = top.add_subparsers(dest="command", required=True)
    call = sub.add_parser("call", parents=[common], help="send a message and follow the task")
    call.add_argument("url")
    call.add_argument("text")
    watch = sub.add_parser("watch", parents=[common], help="follow an existing task")
    get = sub.add_parser("get", parents=[common], help="show a task")
    cancel = sub.add_parser("cancel", parents=[common], help="cancel a task")
    for command in (watch, get, cancel):
        command.add_argument("url")
        command.add_argument("task_id")
    card = sub.add_parser("card", parents=[common], help="show the agent card")
    card.add_argument("url")
    return top


CLIENT_COMMANDS = frozenset({"call", "watch", "get", "cancel", "card"})


def main(argv: list[str] | None = None, *, prog: str = "a2a") -> int:
    """Run one command; the exit code (see the module docstring)."""
    try:
        args = parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # --help, or a usage error (argparse's 2)
        return int(exit_.code or 0)
    args.prog = prog
    if args.deadline is not None and args.deadline <= 0:
        print(f"{prog}: error: --deadline must be positive", file=sys.stderr)
        return EXIT_USAGE
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    view = View(as_json=args.json, out=out, err=err)
    try:
        return asyncio.run(run(args, view))
    except KeyboardInterrupt:
        view.stop()
        return EXIT_INTERRUPTED
    except (A2AClientError, httpx.HTTPError, TimeoutError) as error:
        view.stop()
        message = str(error) or type(error).__name__
        err.print(Text(f"error: {message}", "red"))
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
