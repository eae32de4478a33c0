"""The worker image (issue 12, defects 8 and 17): a liveness-only health check, and a base
image pinned by digest."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cfnlint.decode import decode_str

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "worker" / "Dockerfile"
HEALTHCHECK = ROOT / "worker" / "healthcheck.py"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}")


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("worker_healthcheck", HEALTHCHECK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


healthcheck = load_healthcheck()


def fake_proc(tmp_path: Path, state: str | None) -> Path:
    proc = tmp_path / "proc"
    if state is not None:
        (proc / "1").mkdir(parents=True)
        (proc / "1" / "stat").write_text(f"1 (python (x)) {state} 0 1 1 0 -1", encoding="ascii")
    return proc


def test_health_check_never_touches_valkey_or_temporal() -> None:
    tree = ast.parse(HEALTHCHECK.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= {"__future__", "os", "sys", "time", "pathlib"}, imported


def test_liveness(tmp_path: Path) -> None:
    heartbeat = tmp_path / "alive"
    env = {"A2A_WORKER_HEARTBEAT_FILE": str(heartbeat)}
    running = fake_proc(tmp_path, "S")
    # No heartbeat yet (start-up, or a worker that does not write one): alive.
    assert healthcheck.check(env, running) == ""
    heartbeat.touch()
    assert healthcheck.check(env, running) == ""
    # A loop that stopped touching it for longer than the limit: not alive.
    old = time.time() - 600
    os.utime(heartbeat, (old, old))
    assert "has not touched" in healthcheck.check(env, running)
    assert healthcheck.check({**env, "A2A_WORKER_HEARTBEAT_MAX_AGE_SECONDS": "900"}, running) == ""
    # No heartbeat configured: the process alone decides.
    assert healthcheck.check({}, running) == ""


@pytest.mark.parametrize(
    ("state", "alive"), [("R", True), ("S", True), ("Z", False), (None, False)]
)
def test_the_process_must_run(tmp_path: Path, state: str | None, alive: bool) -> None:
    proc = fake_proc(tmp_path, state)
    assert (healthcheck.check({}, proc) == "") is alive


def test_image_and_task_run_the_same_check() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert 'CMD ["python", "/app/healthcheck.py"]' in dockerfile
    assert "worker/healthcheck.py" in dockerfile
    template, errors = decode_str((ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert not errors and isinstance(template, dict)
    container = template["Resources"]["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][
        0
    ]
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "/app/healthcheck.py"]
    # The heartbeat file of the image is the task's.
    env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert f"A2A_WORKER_HEARTBEAT_FILE={env['A2A_WORKER_HEARTBEAT_FILE']}" in dockerfile


def test_base_image_is_pinned_by_digest() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", dockerfile, flags=re.MULTILINE))
    froms = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert len(froms) >= 2
    for image in froms:
        reference = args.get(image.strip("${}"), image) if image.startswith("$") else image
        assert DIGEST.search(reference), f"FROM {image} is not pinned by digest"
        assert reference.startswith("python:3.12-slim@"), reference
