"""`sam local start-api` still serves the gateway although the HTTP API is not deployed by
default (issue 12, defect 9).

The HTTP API is made of ApiGatewayV2 resources with ``Condition: CreateHttpApi`` (off
unless ``DeployHttpApi=true``). SAM CLI does not evaluate conditions, and reads the
template's routes with the provider of the first API-related resource type it meets; this
test asks SAM CLI itself (from ``.venv-sam``, which ``make test`` installs) which routes it
would serve.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"

SCRIPT = """
import json, sys
from samcli.lib.providers.api_provider import ApiProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

stacks, _ = SamLocalStackProvider.get_stacks(
    sys.argv[1],
    parameter_overrides={
        "EnvironmentName": "dev",
        "TemporalAddress": "host.docker.internal:7233",
        "WorkerImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/w:1",
    },
)
routes = [
    {"function": r.function_name, "path": r.path, "methods": sorted(r.methods),
     "type": r.event_type, "payload": r.payload_format_version}
    for r in ApiProvider(stacks).routes
]
print(json.dumps(routes))
"""


def test_sam_local_start_api_routes_everything_to_the_gateway() -> None:
    if not SAM_PYTHON.exists():
        pytest.skip("no .venv-sam (make sam-install)")
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", SCRIPT, str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
        env={"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    routes = json.loads(result.stdout.strip().splitlines()[-1])
    assert {(r["function"], r["path"]) for r in routes} == {
        ("GatewayFunction", "/"),
        ("GatewayFunction", "/{proxy+}"),
    }
    for route in routes:
        assert route["type"] == "HttpApi" and route["payload"] == "2.0"
        assert {"GET", "POST", "DELETE"} <= set(route["methods"])
