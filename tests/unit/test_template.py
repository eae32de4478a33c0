"""The SAM template is valid (cfn-lint) and keeps the settings streaming depends on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PUSH_ASL = ROOT / "statemachine" / "push.asl.json"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded, errors = decode_str(TEMPLATE.read_text(encoding="utf-8"))
    assert not errors, [str(e) for e in errors]
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def test_cfn_lint_is_clean() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    assert cfn_lint.exists(), f"cfn-lint is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"cfn-lint exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )


def test_template_is_sam(template: dict[str, Any]) -> None:
    assert template["Transform"] == "AWS::Serverless-2016-10-31"


def test_gateway_function_streams_through_the_web_adapter(resources: dict[str, Any]) -> None:
    gateway = resources["GatewayFunction"]
    assert gateway["Type"] == "AWS::Serverless::Function"
    props = gateway["Properties"]
    assert props["FunctionUrlConfig"]["InvokeMode"] == "RESPONSE_STREAM"
    assert props["Handler"] == "run.sh"
    assert props["Timeout"] == 900
    env = props["Environment"]["Variables"]
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    for name in ("REDIS_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "PORT"):
        assert name in env
    assert gateway["Metadata"]["BuildMethod"] == "makefile"
    assert {"Ref": "SharedLayer"} in props["Layers"]
    events = props["Events"].values()
    assert {(e["Properties"]["Path"], e["Properties"]["Method"]) for e in events} == {
        ("/{proxy+}", "ANY"),
        ("/", "ANY"),
    }
    assert all(e["Type"] == "HttpApi" for e in props["Events"].values())


def test_shared_layer_is_built_by_makefile(resources: dict[str, Any]) -> None:
    layer = resources["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/shared/"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    makefile = ROOT / "layers" / "shared" / "Makefile"
    assert "build-SharedLayer:" in makefile.read_text(encoding="utf-8")
    # The layer is built from the package; no source may be copied into layers/.
    assert not list((ROOT / "layers").rglob("*.py"))


def test_gateway_build_files_exist() -> None:
    run_sh = ROOT / "functions" / "gateway" / "run.sh"
    assert run_sh.stat().st_mode & 0o111, "run.sh must be executable"
    assert "a2a_gateway.gateway.app:create_app" in run_sh.read_text(encoding="utf-8")
    makefile = ROOT / "functions" / "gateway" / "Makefile"
    assert "build-GatewayFunction:" in makefile.read_text(encoding="utf-8")


def test_push_state_machine_is_express(resources: dict[str, Any]) -> None:
    machine = resources["PushStateMachine"]
    assert machine["Type"] == "AWS::Serverless::StateMachine"
    props = machine["Properties"]
    assert props["Type"] == "EXPRESS"
    assert props["DefinitionUri"] == "statemachine/push.asl.json"
    assert set(props["DefinitionSubstitutions"]) >= {"SenderFunctionArn", "DeadLetterQueueUrl"}
    assert resources["PushDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"GatewayFunctionUrl", "AgentCardUrl", "PushStateMachineArn"} <= set(outputs)
    assert outputs["AgentCardUrl"]["Value"] == {
        "Fn::Sub": "${GatewayFunctionUrl.FunctionUrl}.well-known/agent.json"
    }


def test_push_definition_retries_then_dead_letters(template: dict[str, Any]) -> None:
    definition = json.loads(PUSH_ASL.read_text(encoding="utf-8"))
    states = definition["States"]
    send = states[definition["StartAt"]]
    assert send["Type"] == "Task"
    assert send["Retry"], "the send step must retry"
    assert all(r["BackoffRate"] > 1 for r in send["Retry"])
    assert send["Catch"], "the send step must catch its final failure"
    dead_letter = states[send["Catch"][0]["Next"]]
    assert dead_letter["Resource"] == "arn:aws:states:::sqs:sendMessage"
    # Every ${...} placeholder must be substituted by the template.
    substitutions = template["Resources"]["PushStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    text = PUSH_ASL.read_text(encoding="utf-8")
    for name in substitutions:
        assert "${" + name + "}" in text
    assert text.count("${") == len(substitutions)
