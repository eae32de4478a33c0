"""The built gateway package runs as Lambda would run it, and streams a task end to end.

The gateway function directory and the shared layer are built with the very Makefile
targets ``sam build`` runs (``build-GatewayFunction``, ``build-SharedLayer``, each into its
own ``ARTIFACTS_DIR``). The real layer is built for the Lambda runtime (python3.12,
manylinux, arm64 by default), which this machine cannot import; so this test builds a
second copy of the layer with the same target for THIS machine's Python and CPU
(``LAMBDA_PYTHON``/``LAMBDA_ARCH``), into a temporary directory. Only the wheel tags
differ: the package list and the install command are the ones the deployment uses.

``run.sh`` is then executed the way the Lambda Web Adapter executes the handler: as a
program, with ``PORT``, ``LAMBDA_TASK_ROOT`` and ``LAMBDA_RUNTIME_DIR`` set, and
``A2A_LAYER_DIR`` standing in for ``/opt``. The ``python`` on its PATH belongs to a fresh
virtualenv with nothing installed, and no variable of this process is inherited, so every
import must come from the artifact: a module missing from the layer fails here. Redis and
Temporal are the session's real servers; the session worker runs the task.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from a2a.client import A2ACardResolver, A2AClient
from a2a.types import (
    Message,
    MessageSendParams,
    Part,
    Role,
    SendStreamingMessageRequest,
    SendStreamingMessageSuccessResponse,
    Task,
    TaskArtifactUpdateEvent,
    TaskState,
    TaskStatusUpdateEvent,
    TextPart,
)

from a2a_gateway_dev.devstack import free_port, port_in_use
from tests.packaging import development_leftovers, installed_distributions

if TYPE_CHECKING:
    from collections.abc import Iterator

    from a2a_gateway_dev.devstack import Stack

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 600


def this_machine() -> tuple[str, str]:
    """(LAMBDA_PYTHON, LAMBDA_ARCH) that this interpreter can import."""
    arch = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    return f"{sys.version_info.major}.{sys.version_info.minor}", arch


def make(target: str, makefile: Path, artifacts: Path, **variables: str) -> None:
    artifacts.mkdir(parents=True, exist_ok=True)
    args = [f"{k}={v}" for k, v in {"ARTIFACTS_DIR": str(artifacts), **variables}.items()]
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(makefile), target, *args],
        cwd=makefile.parent,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"make {target} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The built function dir, a layer for this machine, a clean interpreter and a runtime dir."""
    base = tmp_path_factory.mktemp("artifact")
    function = base / "GatewayFunction"
    make("build-GatewayFunction", ROOT / "functions" / "gateway" / "Makefile", function)
    layer = base / "SharedLayer"
    python_version, arch = this_machine()
    make(
        "build-SharedLayer",
        ROOT / "layers" / "shared" / "Makefile",
        layer,
        LAMBDA_PYTHON=python_version,
        LAMBDA_ARCH=arch,
        PYTHON=sys.executable,
    )
    clean = base / "clean-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(clean)], check=True)
    runtime = base / "var-runtime"
    runtime.mkdir()
    return {"function": function, "layer": layer, "venv": clean, "runtime": runtime}


def lambda_env(artifact: dict[str, Path], **extra: str) -> dict[str, str]:
    """What the runtime gives the handler process, plus the app's settings."""
    return {
        "PATH": f"{artifact['venv'] / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(artifact["runtime"]),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(artifact["function"]),
        "LAMBDA_RUNTIME_DIR": str(artifact["runtime"]),
        "A2A_LAYER_DIR": str(artifact["layer"]),
        **extra,
    }


def test_function_package_holds_only_its_start_up_files(artifact: dict[str, Path]) -> None:
    files = sorted(p.name for p in artifact["function"].iterdir())
    assert files == ["launch.py", "run.sh"]
    assert os.access(artifact["function"] / "run.sh", os.X_OK)


def test_the_layer_holds_no_development_tools(artifact: dict[str, Path]) -> None:
    layer = artifact["layer"] / "python"
    assert (layer / "a2a_gateway" / "__init__.py").exists()
    assert development_leftovers(layer) == []
    # Production, from the package's `server` and `fast` extras: run.sh starts uvicorn.
    assert installed_distributions(layer).keys() >= {"uvicorn", "uvloop", "httptools", "hiredis"}


def test_imports_resolve_to_the_layer_only(artifact: dict[str, Path]) -> None:
    probe = "import a2a_gateway, uvicorn, temporalio, redis, starlette; print(a2a_gateway.__file__)"
    env = lambda_env(artifact, PYTHONPATH=str(artifact["layer"] / "python"))
    result = subprocess.run(
        ["python", "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith(str(artifact["layer"] / "python"))
    # ...and not without it: the interpreter itself has none of them.
    bare = subprocess.run(
        ["python", "-c", "import a2a_gateway"],
        env=lambda_env(artifact),
        capture_output=True,
        check=False,
    )
    assert bare.returncode != 0


@pytest.fixture(scope="module")
def built_gateway_url(
    artifact: dict[str, Path], stack: Stack, worker: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    env = lambda_env(
        artifact,
        PORT=str(port),
        REDIS_URL=stack.redis_url,
        TEMPORAL_ADDRESS=stack.temporal_address,
        A2A_HEARTBEAT_SECONDS="0.5",
    )
    log_path = tmp_path_factory.mktemp("built-gateway") / "gateway.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(artifact["function"] / "run.sh")],
            env=env,
            cwd=artifact["function"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not port_in_use(port):
                assert proc.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, "the built gateway did not open its port"
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.mark.timeout(BUILD_TIMEOUT)
async def test_built_gateway_streams_a_task_with_the_sdk(built_gateway_url: str) -> None:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        card = await A2ACardResolver(http, base_url=built_gateway_url).get_agent_card()
        assert card.capabilities.streaming
        client = A2AClient(httpx_client=http, agent_card=card)
        message = Message(
            role=Role.user,
            message_id=str(uuid.uuid4()),
            parts=[Part(root=TextPart(text="built artifact streams"))],
        )
        request = SendStreamingMessageRequest(
            id=str(uuid.uuid4()), params=MessageSendParams(message=message)
        )
        events: list[Any] = []
        async for response in client.send_message_streaming(request):
            assert isinstance(response.root, SendStreamingMessageSuccessResponse), response
            events.append(response.root.result)
    assert isinstance(events[0], Task)
    chunks = [e for e in events if isinstance(e, TaskArtifactUpdateEvent)]
    text = "".join(p.root.text for e in chunks for p in e.artifact.parts if hasattr(p.root, "text"))
    assert text.split() == ["built", "artifact", "streams"]
    assert isinstance(events[-1], TaskStatusUpdateEvent)
    assert events[-1].final is True
    assert events[-1].status.state == TaskState.completed
