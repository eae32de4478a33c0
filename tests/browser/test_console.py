"""The browser console (/console/) in real browsers: Debian's headless Chromium and
Firefox ESR, driven by puppeteer-core (``console_driver.mjs``) against the real stack.

Each scenario runs in both browsers and is checked against what the task really
produced: the ids and kinds of the events the page shows are compared with the task's
Redis stream, entry for entry. The gateway ends every stream after
``MAX_STREAM_SECONDS``, so a task that runs longer is only seen whole if the page
resumes by itself. A screenshot per scenario and browser is saved under
``.run/screenshots/`` (not committed).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway_dev.devstack import free_port
from tests.browser.conftest import SETUP_TIMEOUT
from tests.conftest import GATEWAY_ENV
from tests.e2e.test_reliability import produced
from tests.interop.envs import NODE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from redis.asyncio import Redis

    from a2a_gateway_dev.devstack import Stack
    from tests.browser.conftest import BrowserSetup

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("console_driver.mjs")
SCREENSHOTS = ROOT / ".run" / "screenshots"
BROWSERS = ("chromium", "firefox")
MAX_STREAM_SECONDS = 2
API_KEY = "console-test-key-" + uuid.uuid4().hex

# The first test also installs the browsers (apt) and puppeteer-core (npm).
pytestmark = pytest.mark.timeout(SETUP_TIMEOUT + 300)


def start(stack: Stack, tmp_path: Path, name: str, env: dict[str, str]) -> Iterator[str]:
    proc = stack.gateway(free_port(), env={**GATEWAY_ENV, "A2A_CONSOLE": "true", **env})
    proc.name = name
    try:
        proc.start(tmp_path)
        proc.wait_ready(30)
        yield f"http://127.0.0.1:{proc.port}"
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def console_url(
    stack: Stack, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A gateway with the console on that ends each stream after MAX_STREAM_SECONDS."""
    env = {"A2A_MAX_STREAM_SECONDS": str(MAX_STREAM_SECONDS), "A2A_DEADLINE_MARGIN_SECONDS": "0"}
    yield from start(stack, tmp_path_factory.mktemp("console"), "gateway-console", env)


@pytest.fixture(scope="module")
def keyed_console_url(
    stack: Stack, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A gateway with the console on that accepts only an API key."""
    tmp_path = tmp_path_factory.mktemp("console-keyed")
    keys = tmp_path / "keys.json"
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    keys.write_text(json.dumps({"keys": [{"sha256": digest, "principal": "console-user"}]}))
    env = {"A2A_AUTH": "apikey", "A2A_API_KEYS_FILE": str(keys)}
    yield from start(stack, tmp_path, "gateway-console-keyed", env)


def drive(
    setup: BrowserSetup, browser: str, url: str, scenario: str, tmp_path: Path, **extra: Any
) -> dict[str, Any]:
    """Runs one scenario in ``browser``; what the page showed (fails with the driver's
    error and the page's console if the scenario did not finish)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    config = {
        "entry": setup.entry.as_uri(),
        "launch": setup.launch_options(browser, tmp_path / f"profile-{browser}"),
        "url": url + "/console/",
        "scenario": scenario,
        "screenshot": str(SCREENSHOTS / f"{scenario}-{browser}.png"),
        **extra,
    }
    done = subprocess.run(
        [str(NODE), str(DRIVER)],
        input=json.dumps(config),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    shown: dict[str, Any] = json.loads(done.stdout)
    assert shown["ok"], shown
    assert not [line for line in shown["console"] if line.startswith("pageerror")], shown
    return shown


async def check_against_stream(redis: Redis, shown: dict[str, Any]) -> list[str]:
    """The page showed each event of the task exactly once, in order, with its id: the
    same ids as the task's Redis stream, and the same kinds, except where a stream
    started with the task itself (a follow-up message's stream opens with the ``Task`` as
    of the newest event, under that event's id). Returns the ids."""
    entries = await produced(redis, shown["taskId"], principal=shown.get("principal", "anonymous"))
    ids = [entry_id for entry_id, _ in entries]
    assert [event["id"] for event in shown["events"]] == ids
    kinds = [(event["id"], event["kind"]) for event in shown["events"] if event["kind"] != "task"]
    assert kinds == [(i, e["kind"]) for i, e in entries if (i, "task") not in shown_kinds(shown)]
    return ids


def shown_kinds(shown: dict[str, Any]) -> set[tuple[str, str]]:
    return {(event["id"], event["kind"]) for event in shown["events"]}


@pytest.mark.parametrize("browser", BROWSERS)
async def test_a_multi_turn_task_in_the_browser(
    browser_setup: BrowserSetup, console_url: str, redis: Redis, browser: str, tmp_path: Path
) -> None:
    """ask: the page shows the question, turns it into an answer box, sends the answer
    into the same task and shows the greeting."""
    shown = drive(browser_setup, browser, console_url, "multiturn", tmp_path)
    asked = shown["asked"]
    assert asked["state"] == "input-required"
    assert "What is your name?" in asked["statusMessage"]
    assert shown["state"] == "completed" and shown["phase"] == "done"
    assert shown["artifacts"] == {next(iter(shown["artifacts"])): "Hello, Ada!"}
    assert shown["sent"] == ["you: hello", "you: Ada"]
    assert shown["agents"] == ["echo", "progress", "ask"]
    await check_against_stream(redis, shown)


@pytest.mark.parametrize("browser", BROWSERS)
async def test_the_page_resumes_a_stream_the_gateway_ends(
    browser_setup: BrowserSetup, console_url: str, redis: Redis, browser: str, tmp_path: Path
) -> None:
    """progress runs about three times MAX_STREAM_SECONDS: the gateway ends the page's
    stream with its resume frame, and the page resubscribes with Last-Event-ID, says so,
    and shows every event once."""
    text = "steps=12 interval=0.5"
    shown = drive(browser_setup, browser, console_url, "resume", tmp_path, text=text)
    assert shown["state"] == "completed", shown
    ids = await check_against_stream(redis, shown)
    assert len(ids) >= 14  # the task, working, 12 steps, the result and completed
    reconnected = [n for n in shown["notices"] if n["kind"] == "reconnected"]
    assert len(reconnected) >= 2, shown["notices"]  # about six seconds, two-second streams
    assert all("reconnected; nothing missed" in n["text"] for n in reconnected)
    assert [n for n in shown["notices"] if n["kind"] != "reconnected"] == []


@pytest.mark.parametrize("browser", BROWSERS)
async def test_file_and_json_parts_and_markup_shown_as_text(
    browser_setup: BrowserSetup, console_url: str, redis: Redis, browser: str, tmp_path: Path
) -> None:
    """echo gets a text, a file and a data part from the page, and what it sends back is
    shown as text: markup in an agent's answer is never run."""
    upload = tmp_path / "notes.txt"
    upload.write_bytes(b"file contents\n")
    markup = '<img src="x" onerror="window.__injected = 1"> hello'
    shown = drive(
        browser_setup, browser, console_url, "parts", tmp_path, text=markup, file=str(upload)
    )
    assert shown["state"] == "completed"
    (echoed,) = shown["artifacts"].values()
    assert echoed.startswith(markup)
    assert "[file notes.txt text/plain 14 bytes]" in echoed
    assert echoed.endswith('{"answer":42}')
    assert shown["injected"] is None
    await check_against_stream(redis, shown)
    (first,) = [e for e in await produced(redis, shown["taskId"]) if e[1]["kind"] == "task"]
    (message,) = first[1]["history"]
    file_part = next(p for p in message["parts"] if p["kind"] == "file")
    assert base64.b64decode(file_part["file"]["bytes"]) == b"file contents\n"


@pytest.mark.parametrize("browser", BROWSERS)
async def test_cancel_from_the_page(
    browser_setup: BrowserSetup, console_url: str, redis: Redis, browser: str, tmp_path: Path
) -> None:
    """Cancel, from a page without ``crypto.randomUUID`` (as over plain http by a name
    other than loopback): the page makes its own random ids."""
    shown = drive(browser_setup, browser, console_url, "cancel", tmp_path, insecureContext=True)
    assert shown["randomUUID"] == "undefined"
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", shown["taskId"]
    )
    assert shown["state"] == "canceled" and shown["phase"] == "done", shown
    await check_against_stream(redis, shown)


@pytest.mark.parametrize("browser", BROWSERS)
async def test_the_page_sends_the_credential_it_is_given(
    browser_setup: BrowserSetup, keyed_console_url: str, redis: Redis, browser: str, tmp_path: Path
) -> None:
    """Without a key the page says it is not authenticated; with the key typed into its
    credential field the task runs (as that key's principal)."""
    shown = drive(browser_setup, browser, keyed_console_url, "auth", tmp_path, credential=API_KEY)
    assert shown["refused"]["error"].startswith("Not authenticated")
    assert shown["state"] == "completed", shown
    (echoed,) = shown["artifacts"].values()
    assert echoed == "with a key"
    await check_against_stream(redis, {**shown, "principal": "*"})
