"""The ``a2a`` CLI (``a2a_gateway.client.cli``) against the real stack, run as a subprocess:
``--json`` streams, the human view, multi-turn and Ctrl-C through a pseudo-terminal,
``watch``, ``get``, ``cancel`` and ``card``, and the exit codes. Every child is killed in a
``finally``, also when a test fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.client import parse_event_id
from tests.unit.auth_issuer import AUDIENCE, issuer_with_one_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CLI = [sys.executable, "-m", "a2a_gateway.client.cli"]
ENV = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"}
ENV.pop("A2A_TOKEN", None)
ENV.pop("A2A_API_KEY", None)
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\r")


def run(*args: str, timeout: float = 20, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The CLI with pipes (not a terminal): exit code, stdout, stderr; ``env`` is added
    to the environment."""
    proc = subprocess.Popen(
        [*CLI, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, **(env or {})},
    )
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def started_task(url: str, agent: str, text: str) -> str:
    """A task started by ``call --json``, left running (the child is killed after the
    first event, which names the task)."""
    proc = subprocess.Popen(
        [*CLI, "call", url, "--agent", agent, "--json", text],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        return str(first["result"]["id"])
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


class Pty:
    """The CLI under a pseudo-terminal; ``expect`` waits for a pattern in what it printed
    (ANSI sequences removed)."""

    def __init__(self, *args: str) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.proc = subprocess.Popen(
            [*CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=ENV, close_fds=True
        )
        os.close(slave)
        self.master = master
        self._raw = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._raw += chunk

    @property
    def text(self) -> str:
        with self._lock:
            return ANSI.sub("", self._raw.decode(errors="replace"))

    def expect(self, pattern: str, timeout: float = 15) -> re.Match[str]:
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            match = re.search(pattern, self.text)
            if match:
                return match
            time.sleep(0.02)
        raise AssertionError(f"{pattern!r} not seen in:\n{self.text}")

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def wait(self, timeout: float = 15) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


def lines_json(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_json_stream_of_echo_completes(gateway_url: str) -> None:
    code, out, err = run("call", gateway_url, "--agent", "echo", "--json", "hello json world")
    assert code == 0, err
    events = lines_json(out)  # every line is JSON, nothing else on stdout
    ids = [parse_event_id(event["id"]) for event in events]
    assert None not in ids
    assert ids == sorted(ids)  # type: ignore[type-var]
    assert len(set(ids)) == len(ids)
    assert events[0]["result"]["kind"] == "task"
    assert events[-1]["result"]["status"]["state"] == "completed"
    assert events[-1]["result"]["final"] is True
    text = "".join(
        part["text"]
        for event in events
        if event["result"]["kind"] == "artifact-update"
        for part in event["result"]["artifact"]["parts"]
    )
    assert text == "hello json world"


def test_call_progress_shows_steps_and_final_state(gateway_url: str) -> None:
    code, out, _ = run("call", gateway_url, "--agent", "progress", "steps=3 interval=0.05")
    assert code == 0
    for step in ("step 1/3", "step 2/3", "step 3/3"):
        assert step in out
    assert re.search(r"^task [0-9a-f-]{36}$", out, re.MULTILINE)
    assert out.rstrip().splitlines()[-1] == "completed"


def test_multi_turn_through_a_terminal(gateway_url: str) -> None:
    pty = Pty("call", gateway_url, "--agent", "ask", "hi")
    try:
        pty.expect(r"What is your name\? > ")
        pty.send("Ada Lovelace\n")
        assert pty.wait() == 0
        pty.expect(r"Hello, Ada Lovelace!")
        pty.expect(r"completed")
    finally:
        pty.close()


def test_eof_at_the_prompt_exits_4(gateway_url: str) -> None:
    code, out, err = run("call", gateway_url, "--agent", "ask", "hi")  # stdin: /dev/null
    assert code == 4
    assert "input-required" in out
    assert "no answer" in err
    assert "watch" in err


def test_get_cancel_and_card(gateway_url: str) -> None:
    task_id = started_task(gateway_url, "progress", "steps=100 interval=0.1")
    code, out, _ = run("cancel", gateway_url, "--agent", "progress", task_id)
    assert code == 0
    assert "state canceled" in out
    assert task_id in out
    code, out, _ = run("get", gateway_url, "--agent", "progress", "--json", task_id)
    assert code == 0
    task = json.loads(out)
    assert task["id"] == task_id
    assert task["status"]["state"] == "canceled"
    code, out, _ = run("card", gateway_url, "--agent", "echo")
    assert code == 0
    assert out.splitlines()[0] == "echo"
    assert "skill echo" in out
    code, out, _ = run("card", gateway_url, "--agent", "echo", "--json")
    assert code == 0
    assert json.loads(out)["name"] == "echo"


def test_errors_and_usage(gateway_url: str) -> None:
    code, _, err = run("get", gateway_url, "--agent", "echo", "no-such-task")
    assert code == 5
    assert "error:" in err
    code, _, err = run("call", gateway_url)  # no text
    assert code == 2
    assert "usage:" in err
    code, _, _ = run("card", "http://127.0.0.1:9/")  # nothing listens: transport error
    assert code == 5


def test_watch_follows_a_running_task(gateway_url: str) -> None:
    """``watch`` starts while the task runs (thirty steps, three seconds): the task as it
    is, then the steps that follow it, live, to the end."""
    task_id = started_task(gateway_url, "progress", "steps=30 interval=0.1")
    code, out, err = run("watch", gateway_url, "--agent", "progress", "--json", task_id)
    assert code == 0, err
    events = lines_json(out)
    assert events[0]["result"]["id"] == task_id  # the task as it is, then what follows
    assert events[0]["result"]["kind"] == "task"
    followed = [e for e in events[1:] if e["result"]["kind"] == "status-update"]
    assert any(e["result"]["status"]["state"] == "working" for e in followed), events
    assert events[-1]["result"]["status"]["state"] == "completed"
    artifacts = [e for e in events if e["result"]["kind"] in ("artifact-update", "task")]
    assert any("finished 30 steps" in json.dumps(e) for e in artifacts)
    code, out, _ = run("watch", gateway_url, "--agent", "progress", task_id)  # already done
    assert code == 0
    assert "completed" in out


@pytest.mark.parametrize(("answer", "expected"), [("y", 3), ("n", 130)])
def test_ctrl_c_asks_whether_to_cancel(gateway_url: str, answer: str, expected: int) -> None:
    pty = Pty("call", gateway_url, "--agent", "progress", "steps=100 interval=0.1")
    try:
        task_id = pty.expect(r"task ([0-9a-f-]{36})").group(1)
        pty.expect(r"step 2/100")
        pty.proc.send_signal(signal.SIGINT)
        pty.expect(rf"cancel task {task_id}\? \[y/N\] ")
        pty.send(f"{answer}\n")
        assert pty.wait() == expected
        if answer == "n":
            pty.expect(rf"detached; task {task_id} goes on\. Follow it with: a2a watch ")
    finally:
        pty.close()
    code, out, _ = run("get", gateway_url, "--agent", "progress", "--json", task_id)
    assert code == 0
    state = json.loads(out)["status"]["state"]
    assert state == ("canceled" if answer == "y" else "working")
    if answer == "n":
        run("cancel", gateway_url, "--agent", "progress", task_id)


def test_a_cut_stream_resumes_and_says_so(start_gateway: Callable[..., str]) -> None:
    url = start_gateway(A2A_MAX_STREAM_SECONDS="1")
    code, out, err = run("call", url, "--agent", "progress", "steps=8 interval=0.2")
    assert code == 0, err
    assert "reconnected; nothing missed" in err
    assert all(f"step {n}/8" in out for n in range(1, 9))
    code, out, err = run("call", url, "--agent", "progress", "--json", "steps=8 interval=0.2")
    assert code == 0, err
    items = lines_json(out)
    assert any("resumed" in item for item in items)
    ids = [parse_event_id(item["id"]) for item in items if "id" in item]
    assert None not in ids
    assert ids == sorted(set(ids))  # type: ignore[type-var]
    assert items[-1]["result"]["status"]["state"] == "completed"


def test_the_credential_by_flag_or_environment(
    start_gateway: Callable[..., str], tmp_path: Path
) -> None:
    """Against a gateway that takes only API keys: refused without one (exit 5, saying
    so), served with ``--api-key`` or ``A2A_API_KEY``, as that key's principal (a task made
    with one key is not found with another)."""
    keys, mine, other = tmp_path / "keys.json", "cli-key-" + "a" * 24, "cli-key-" + "b" * 24
    entries = [
        {"sha256": hashlib.sha256(key.encode()).hexdigest(), "principal": name}
        for key, name in ((mine, "cli-user"), (other, "someone-else"))
    ]
    keys.write_text(json.dumps({"keys": entries}))
    url = start_gateway(A2A_AUTH="apikey", A2A_API_KEYS_FILE=str(keys))
    code, _, err = run("call", url, "hello")
    assert code == 5 and "401" in err, err
    code, out, err = run("call", url, "--api-key", mine, "--json", "hello there")
    assert code == 0, err
    task_id = lines_json(out)[0]["result"]["id"]
    code, out, err = run("get", url, "--json", task_id, env={"A2A_API_KEY": mine})
    assert code == 0, err
    assert json.loads(out)["status"]["state"] == "completed"
    code, _, err = run("get", url, task_id, env={"A2A_API_KEY": other})
    assert code == 5 and "-32001" in err, err


def test_deadline_gives_up_with_the_position(start_gateway: Callable[..., str]) -> None:
    """``--deadline`` bounds the whole follow, reconnections included: exit 5, naming the
    task and the last event id to watch it from."""
    url = start_gateway(A2A_MAX_STREAM_SECONDS="1")
    code, out, err = run(
        "call", url, "--agent", "progress", "--json", "--deadline", "2.5", "steps=40 interval=0.25"
    )
    assert code == 5, err
    assert "deadline" in err
    items = lines_json(out)
    task_id = items[0]["result"]["id"]
    last_id = [item["id"] for item in items if "id" in item][-1]
    assert task_id in err and last_id in err, err
    # It gave up, the task did not: still working (forty steps take ten seconds).
    code, out, _ = run("get", url, "--agent", "progress", "--json", task_id)
    assert json.loads(out)["status"]["state"] == "working"
    assert run("cancel", url, "--agent", "progress", task_id)[0] == 0


def test_deadline_bounds_every_turn_together(gateway_url: str) -> None:
    """``--deadline`` is one budget for the whole command, not one per stream: in a
    two-round conversation whose first question is answered at once and the second after
    the 3 s have passed, the second answer is not sent (exit 5, naming the task and where
    it stopped), though no stream took long: a deadline given afresh to every turn would
    let the conversation complete."""
    deadline, rounds = 3.0, 2
    args = ["call", gateway_url, "--agent", "ask", "--json", "--deadline", str(deadline)]
    proc = subprocess.Popen(
        [*CLI, *args, f"rounds={rounds}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    asked: list[str] = []
    items: list[dict[str, Any]] = []
    try:
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            items.append(json.loads(line))
            result = items[-1]["result"]
            if result.get("final") and result["status"]["state"] == "input-required":
                asked.append(result["status"]["message"]["parts"][0]["text"])
                if len(asked) == rounds:
                    time.sleep(deadline + 0.2)  # the command's time runs out meanwhile
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(f"answer {len(asked)}\n")
                    proc.stdin.flush()
        err = proc.stderr.read()
        code = proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()
    assert code == 5, err
    assert "deadline" in err, err
    assert asked == [f"What is your name? (question {n} of {rounds})" for n in (1, 2)], asked
    task_id = items[0]["result"]["id"]
    last_id = [item["id"] for item in items if item.get("id")][-1]
    assert task_id in err and last_id in err, err
    # It gave up before sending; the task still waits for the second answer.
    code, out, _ = run("get", gateway_url, "--agent", "ask", "--json", task_id)
    assert code == 0 and json.loads(out)["status"]["state"] == "input-required"


def test_a_bearer_jwt_by_flag_or_environment(start_gateway: Callable[..., str]) -> None:
    """Against a JWT gateway (a real local issuer: discovery document and JWKS over HTTP):
    ``--token`` and ``A2A_TOKEN`` carry the bearer token; an expired one is refused."""
    with issuer_with_one_key() as issuer:
        url = start_gateway(A2A_AUTH="jwt", A2A_JWT_ISSUER=issuer.url, A2A_JWT_AUDIENCE=AUDIENCE)
        token = issuer.token("k1", sub="cli-user")
        code, out, err = run("call", url, "--token", token, "--json", "hello")
        assert code == 0, err
        task_id = lines_json(out)[0]["result"]["id"]
        code, out, err = run("get", url, "--json", task_id, env={"A2A_TOKEN": token})
        assert code == 0 and json.loads(out)["status"]["state"] == "completed", err
        expired = issuer.token("k1", sub="cli-user", exp=int(time.time()) - 3600)
        code, _, err = run("get", url, task_id, env={"A2A_TOKEN": expired})
        assert code == 5 and "401" in err, err
