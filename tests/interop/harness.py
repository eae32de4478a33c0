"""The interop run: every official client line's script against the session's gateways.

:data:`LINES` declares, per client line, the operations its script reports and those the
line does not have (``ok: null``, "not in this version"). :func:`run_interop` runs the
scripts as subprocesses (the five suites side by side, the cross-version scenario as a
chain beside them) and returns every script's lines and exit status;
:func:`interop_table` renders the results as the markdown table docs/compliance.md holds.

Cross-version scenario (one deployment, one set of tasks):

1. the 0.2 client creates a completed echo task and one running progress task for each
   1.x reader;
2. the 1.x Python client and the JS client each read those tasks, subscribe to their
   progress task and cancel it there, and create an echo task, an ``ask`` task waiting
   for input and a running progress task;
3. the 0.2 client reads, answers and cancels what each of them created.

Authentication: each line's script also runs once in ``--auth`` mode against the two
gateways of :class:`AuthTargets` (``A2A_AUTH=apikey`` and ``A2A_AUTH=jwt``), started
when the cross-version readers are done, beside the suites still running. The
credentials reach it in the environment (``A2A_INTEROP_CREDENTIALS``, never on the
command line), and the script hands them only to its client line's own auth hook, which
picks the scheme from the agent card (:data:`AUTH_OPERATIONS`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from tests.interop import envs
from tests.interop.clients.interop_common import AUTH_OPERATIONS, CREDENTIALS_ENV, OPERATIONS

if TYPE_CHECKING:
    from pathlib import Path

SCRIPT_TIMEOUT = 240.0


READER_OPERATIONS = (
    "cross-get-from-sdk02",
    "cross-subscribe-from-sdk02",
    "cross-cancel-from-sdk02",
    "cross-create",
)

WRITER_OPERATIONS = (
    "cross-create",
    "cross-get-from-sdk1",
    "cross-multi-turn-from-sdk1",
    "cross-cancel-from-sdk1",
    "cross-get-from-js1",
    "cross-multi-turn-from-js1",
    "cross-cancel-from-js1",
)


@dataclass(frozen=True)
class AuthTargets:
    """The authenticating gateways and the one credential each accepts."""

    apikey_url: str
    api_key: str
    jwt_url: str
    token: str

    def argv(self) -> list[str]:
        return ["--auth", self.apikey_url, self.jwt_url]

    def env(self) -> dict[str, str]:
        return {CREDENTIALS_ENV: json.dumps({"apikey": self.api_key, "jwt": self.token})}


@dataclass(frozen=True)
class Line:
    """One official client line: how the table names it, what it reports, what it lacks."""

    key: str
    client: str  # as the script reports it, e.g. "a2a-sdk 0.3.26 (Python)"
    protocol: str
    operations: tuple[str, ...]
    # Operations this line cannot drive, and why (the protocol version lacks it, or the
    # client has no call for it although the gateway serves it).
    absent: dict[str, str] = field(default_factory=dict)

    def applicable(self, operation: str) -> bool:
        return operation not in self.absent


NO_CALL = (
    "n/a: the client has no call for it (the gateway serves it: "
    "`tests/e2e/test_conformance.py`, `test_stream.py`)"
)
NEW_IN_1_0 = "n/a: not in this protocol version (new in 1.0)"
# Google ADK's RemoteA2aAgent only sends messages (SendStreamingMessage) and turns the
# answers into ADK events: it has no other A2A call.
ADK_NO_CALL = "n/a: ADK's RemoteA2aAgent has no call for it (it only sends messages)"
ADK_NO_CANCEL = (
    "n/a: ADK's RemoteA2aAgent has no call for it (aborting an ADK invocation closes "
    "the stream, it sends no CancelTask)"
)


def _pinned(requirement: str) -> str:
    return requirement.split("==", 1)[1]


LINES = {
    line.key: line
    for line in (
        Line(
            "sdk02",
            f"a2a-sdk {version('a2a-sdk')} (Python)",
            "0.2.5",
            OPERATIONS + AUTH_OPERATIONS + WRITER_OPERATIONS,
            {
                "resubscribe": NO_CALL,
                "push-list": NO_CALL,
                "push-delete": NO_CALL,
                "list-tasks": NEW_IN_1_0,
            },
        ),
        Line(
            "sdk03",
            f"a2a-sdk {_pinned(envs.SDK03)} (Python)",
            "0.3.0",
            OPERATIONS + AUTH_OPERATIONS,
            {"push-list": NO_CALL, "push-delete": NO_CALL, "list-tasks": NEW_IN_1_0},
        ),
        Line(
            "sdk1",
            f"a2a-sdk {_pinned(envs.SDK1)} (Python)",
            "1.0",
            OPERATIONS + AUTH_OPERATIONS + READER_OPERATIONS,
        ),
        Line(
            "js1",
            f"{envs.JS1[0]} {envs.JS1[1]} (Node)",
            "1.0",
            OPERATIONS + AUTH_OPERATIONS + READER_OPERATIONS,
        ),
        Line(
            "adk",
            f"google-adk {_pinned(envs.ADK)} (Python, RemoteA2aAgent)",
            "1.0",
            OPERATIONS + AUTH_OPERATIONS,
            {
                "get": ADK_NO_CALL,
                "cancel": ADK_NO_CANCEL,
                "resubscribe": ADK_NO_CALL,
                "push-set": ADK_NO_CALL,
                "push-get": ADK_NO_CALL,
                "push-list": ADK_NO_CALL,
                "push-delete": ADK_NO_CALL,
                "list-tasks": ADK_NO_CALL,
            },
        ),
    )
}

DESCRIPTIONS = {
    "card": "agent card resolved from the agent URL; the client picks an interface",
    "send": "send to echo (blocking where the client has it; ADK only streams): completed, artifact echoes the input",
    "stream": "streaming send (progress): events arrive live, ends completed",
    "get": "get task",
    "cancel": "cancel a running task while streaming it: canceled, the stream ends canceled",
    "resubscribe": "resubscribe / subscribe to a running task after the stream dropped",
    "multi-turn": "multi-turn (ask, rounds=2): input-required twice, then completed",
    "push-set": "push notification config: set / create",
    "push-get": "push notification config: get",
    "push-list": "push notification config: list",
    "push-delete": "push notification config: delete",
    "list-tasks": "ListTasks: the new tasks newest first, pageSize paging",
    "auth-apikey": (
        "`A2A_AUTH=apikey`: the key given only to the client's own auth hook, which picks "
        "the scheme from the public card; through it the extended card (the client's card "
        "call, where it has one: not 0.2.x, not ADK), send (completed), stream (live), get "
        "(not ADK: no call); without the key HTTP 401, raised as the client's error"
    ),
    "auth-jwt": (
        "`A2A_AUTH=jwt` with a local issuer's RS256 token: the same, through the hook's "
        "bearer scheme"
    ),
    "cross-create": "cross-version: create tasks for the other protocol line",
    "cross-get-from-sdk02": "cross-version: get tasks the 0.2.5 client created",
    "cross-subscribe-from-sdk02": "cross-version: subscribe to a 0.2.5 client's running task",
    "cross-cancel-from-sdk02": "cross-version: cancel a 0.2.5 client's running task",
    "cross-get-from-sdk1": "cross-version: get a task the a2a-sdk 1.x client created",
    "cross-multi-turn-from-sdk1": "cross-version: answer an a2a-sdk 1.x client's input-required task",
    "cross-cancel-from-sdk1": "cross-version: cancel an a2a-sdk 1.x client's running task",
    "cross-get-from-js1": "cross-version: get a task the @a2a-js/sdk client created",
    "cross-multi-turn-from-js1": "cross-version: answer an @a2a-js/sdk client's input-required task",
    "cross-cancel-from-js1": "cross-version: cancel an @a2a-js/sdk client's running task",
}


@dataclass
class ScriptRun:
    """One run of one client script: what it printed and how it ended."""

    key: str
    mode: str
    argv: list[str]
    stdout_path: Path
    stderr_path: Path
    process: subprocess.Popen[bytes] | None = None
    returncode: int | None = None
    elapsed: float = 0.0
    started: float = 0.0
    lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def created(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        for line in self.lines:
            if isinstance(line.get("created"), dict):
                ids.update(line["created"])
        return ids

    def describe(self) -> str:
        tail = "\n".join(self.stderr.splitlines()[-30:])
        return (
            f"{self.key} {self.mode}: exit {self.returncode} after {self.elapsed:.1f} s\n"
            f"argv: {self.argv}\nstderr (tail):\n{tail}"
        )


@dataclass
class InteropRun:
    """Every script run and every operation result, keyed ``(line key, operation)``."""

    runs: list[ScriptRun]
    results: dict[tuple[str, str], dict[str, Any]]
    elapsed: float

    def runs_of(self, key: str) -> list[ScriptRun]:
        return [run for run in self.runs if run.key == key]


def script_argv(key: str) -> list[str]:
    clients = envs.CLIENTS_DIR
    if key == "sdk02":
        return [sys.executable, str(clients / "sdk02.py")]
    if key == "sdk03":
        return [str(envs.SDK03_ENV.python), str(clients / "sdk03.py")]
    if key == "sdk1":
        return [str(envs.SDK1_ENV.python), str(clients / "sdk1.py")]
    if key == "js1":
        return [str(envs.NODE), str(clients / "js1.mjs")]
    if key == "adk":
        return [str(envs.ADK_ENV.python), str(clients / "adk.py")]
    raise ValueError(key)


def script_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env = envs.with_node(env)
    env.update(
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        A2A_INTEROP_JS_ENTRY=str(envs.JS1_ENV.path / envs.JS_ENTRY),
        A2A_INTEROP_JS_SDK_VERSION=envs.JS1[1],
    )
    return env


class Scripts:
    """Starts client scripts, waits for them, and stops every one of them by pid."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.runs: list[ScriptRun] = []
        self.env = script_env()

    def start(
        self, key: str, mode: str, args: list[str], env: dict[str, str] | None = None
    ) -> ScriptRun:
        argv = script_argv(key) + args
        name = f"{key}-{mode}"
        run = ScriptRun(key, mode, argv, self.workdir / f"{name}.out", self.workdir / f"{name}.err")
        with run.stdout_path.open("wb") as out, run.stderr_path.open("wb") as err:
            run.process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**self.env, **(env or {})},
                cwd=envs.ROOT,
            )
        run.started = time.monotonic()
        self.runs.append(run)
        return run

    def wait(self, run: ScriptRun, deadline: float) -> ScriptRun:
        assert run.process is not None
        try:
            run.returncode = run.process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop(run)
            with run.stderr_path.open("a") as err:
                err.write(f"\n[interop harness] killed after {SCRIPT_TIMEOUT:.0f} s\n")
        run.elapsed = time.monotonic() - run.started
        run.lines = parse_lines(run.stdout_path)
        return run

    @staticmethod
    def stop(run: ScriptRun) -> None:
        """SIGTERM, then SIGKILL, to this script's own pid; always reaped."""
        proc = run.process
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            run.returncode = proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            run.returncode = proc.wait()

    def stop_all(self) -> None:
        for run in self.runs:
            self.stop(run)


def parse_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"unparsed": raw}
        lines.append(parsed if isinstance(parsed, dict) else {"unparsed": raw})
    return lines


def run_interop(
    base: str, push_base: str, workdir: Path, auth: AuthTargets | None = None
) -> InteropRun:
    """Run the five suites, their authenticated runs (with ``auth``) and the cross-version
    chain; see the module docstring."""
    started = time.monotonic()
    scripts = Scripts(workdir)
    deadline = started + SCRIPT_TIMEOUT
    try:
        suites = [scripts.start(key, "main", [base, push_base]) for key in LINES]
        create = scripts.start("sdk02", "cross-create", ["--cross-create", base])
        handed = json.dumps(scripts.wait(create, deadline).created())
        readers = [
            scripts.start(key, "cross", ["--cross", base, handed]) for key in ("sdk1", "js1")
        ]
        ids: dict[str, str] = {}
        for reader in readers:
            ids.update(scripts.wait(reader, deadline).created())
        read = scripts.start("sdk02", "cross-read", ["--cross-read", base, json.dumps(ids)])
        if auth is not None:
            # Started once the busy start (every suite and the chain importing and
            # connecting at once) is over; they end about when the slowest suite does.
            suites += [scripts.start(key, "auth", auth.argv(), auth.env()) for key in LINES]
        scripts.wait(read, deadline)
        for suite in suites:
            scripts.wait(suite, deadline)
    finally:
        scripts.stop_all()
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for run in scripts.runs:
        for line in run.lines:
            if "operation" in line:
                results[(run.key, str(line["operation"]))] = line
    return InteropRun(scripts.runs, results, time.monotonic() - started)


def outcome(line: Line, operation: str, result: dict[str, Any] | None) -> str:
    if result is None:
        return "missing"
    if result.get("ok") is True:
        return "pass"
    if result.get("ok") is None and not line.applicable(operation):
        return line.absent[operation]
    return "FAIL"


def interop_table(results: dict[tuple[str, str], dict[str, Any]]) -> str:
    """The markdown table of docs/compliance.md: one row per client line and operation."""
    rows = ["| client | protocol | operation | result |", "| --- | --- | --- | --- |"]
    for line in LINES.values():
        for operation in line.operations:
            result = outcome(line, operation, results.get((line.key, operation)))
            text = f"`{operation}`: {DESCRIPTIONS[operation]}"
            rows.append(f"| {line.client} | {line.protocol} | {text} | {result} |")
    return "\n".join(rows) + "\n"
