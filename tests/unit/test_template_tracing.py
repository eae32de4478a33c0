"""Tracing in ``template.yaml`` (issue 12, "Tracing"): X-Ray on the functions and the state
machine behind ``XRayTracing``, the ADOT collector Lambda layer behind
``AdotCollectorLayerArn`` and the ADOT collector sidecar of the worker behind
``AdotSidecar``, evaluated for the parameter values that decide them.

The template is the session's ``template`` fixture (tests/conftest.py, cfn-lint's decoder);
conditions are evaluated and ``Fn::If`` resolved with the helpers of
``tests/unit/test_template.py``, rules with those of ``tests/deploy/test_template_auth.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from a2a_gateway import tracing
from tests.deploy.test_template_auth import failed_rules
from tests.unit.test_template import (
    GATEWAYS,
    evaluate_conditions,
    existing,
    parameter_values,
    resolve_ifs,
)

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deploy.md"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
FUNCTIONS = ("GatewayFunction", "GatewayManagedFunction", "PushSenderFunction")
ADOT_LAYER = {
    "arm64": "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-collector-arm64-ver-0-117-0:1",
    "x86_64": "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-collector-amd64-ver-0-117-0:1",
}
OTLP_HTTP = "http://localhost:4318"  # the collector's OTLP/HTTP receiver, layer and sidecar
ECS_DEFAULT_CONFIG = "--config=/etc/ecs/ecs-default-config.yaml"
XRAY_ACTIONS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
# Every OpenTelemetry variable the template sets, each one the OpenTelemetry SDK reads
# (opentelemetry.sdk.environment_variables): where spans go, the service they belong to,
# and how often the batch span processor exports.
OTEL_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_BSP_SCHEDULE_DELAY"}


def deployed(template: dict[str, Any], **overrides: str) -> tuple[dict[str, Any], set[str]]:
    """The resources with every Fn::If resolved for these parameter values (None where
    AWS::NoValue removes a value), and the logical ids that exist."""
    conditions = evaluate_conditions(template, parameter_values(template, overrides))
    resources = resolve_ifs(template["Resources"], conditions)
    return resources, existing(template, conditions)


def present(node: Any) -> Any:
    """``node`` without what AWS::NoValue removed: None list items and None map values."""
    if isinstance(node, dict):
        return {k: present(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [present(item) for item in node if item is not None]
    return node


def find_in_map(template: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and set(node) == {"Fn::FindInMap"}:
        mapping, top, second = node["Fn::FindInMap"]
        return template["Mappings"][mapping][top][second]
    return node


def gateway_env(resources: dict[str, Any], name: str) -> dict[str, Any]:
    variables: dict[str, Any] = present(resources[name]["Properties"]["Environment"]["Variables"])
    return variables


def containers(resources: dict[str, Any]) -> list[dict[str, Any]]:
    task = resources["WorkerTaskDefinition"]["Properties"]
    found: list[dict[str, Any]] = present(task["ContainerDefinitions"])
    return found


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


def otel_names(node: Any) -> set[str]:
    """Every OTEL_* variable name set anywhere in ``node``: keys of Lambda environment
    maps and ``Name``s of ECS environment entries, in every branch of every Fn::If."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key.startswith("OTEL_"):
                found.add(key)
            if key == "Name" and isinstance(value, str) and value.startswith("OTEL_"):
                found.add(value)
            found |= otel_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= otel_names(item)
    return found


# ------------------------------------------------------------------ X-Ray


def test_xray_tracing_is_a_parameter_on_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["XRayTracing"]
    assert parameter["AllowedValues"] == ["true", "false"]
    assert parameter["Default"] == "true"
    assert template["Conditions"]["TraceWithXRay"] == {
        "Fn::Equals": [{"Ref": "XRayTracing"}, "true"]
    }


@pytest.mark.parametrize("compute", GATEWAYS)
@pytest.mark.parametrize(
    ("xray", "mode", "enabled"), [("true", "Active", True), ("false", "PassThrough", False)]
)
def test_xray_on_the_functions_and_the_state_machine(
    template: dict[str, Any], compute: str, xray: str, mode: str, enabled: bool
) -> None:
    """Default on: ``Tracing: Active`` on the gateway and the push sender (SAM's function
    property; PassThrough is what a function without TracingConfig has) and
    ``Tracing: Enabled`` on the state machine (SAM passes it to TracingConfiguration)."""
    resources, names = deployed(template, GatewayCompute=compute, XRayTracing=xray)
    functions = [f for f in FUNCTIONS if f in names]
    assert functions == [GATEWAYS[compute], "PushSenderFunction"]
    for name in functions:
        assert resources[name]["Properties"]["Tracing"] == mode, name
    machine = resources["PushStateMachine"]["Properties"]
    assert machine["Tracing"] == {"Enabled": enabled}
    # SAM grants X-Ray to the state machine's role only for a literal `Enabled: true`; with
    # the condition the template names the managed policy itself, only when tracing is on.
    daemon = {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"}
    assert (daemon in present(machine["Policies"])) is enabled


# What SAM makes of it: its translator (from .venv-sam) on the template, with local paths
# replaced by S3 URIs and the LanguageExtensions part (DeletionPolicy) resolved as it would be.
TRANSLATE = """
import json, sys
from samtranslator.translator.transform import transform
template = json.load(sys.stdin)
template["Transform"] = "AWS::Serverless-2016-10-31"
for resource in template["Resources"].values():
    for key in ("DeletionPolicy", "UpdateReplacePolicy"):
        if isinstance(resource.get(key), dict):
            resource[key] = "Delete"
    for key in ("CodeUri", "ContentUri", "DefinitionUri"):
        if isinstance(resource.get("Properties", {}).get(key), str):
            resource["Properties"][key] = "s3://bucket/key"
class NoManagedPolicies:
    def load(self):
        return {}
parameters = {"EnvironmentName": "dev", "TemporalAddress": "t:7233",
              "WorkerImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/w:1"}
out = transform(template, parameters, NoManagedPolicies())["Resources"]
print(json.dumps({name: out[name] for name in sys.argv[1:]}))
"""


def test_sam_grants_xray_to_the_roles_it_makes(template: dict[str, Any]) -> None:
    """SAM adds AWSXrayWriteOnlyAccess to a function's role when Tracing is set (it cannot
    evaluate the condition, so in both modes, which the ADOT layer's collector relies on);
    the state machine's role gets the template's conditional AWSXRayDaemonWriteAccess."""
    if not SAM_PYTHON.exists():
        pytest.skip("no .venv-sam (make sam-install)")
    roles = [f"{name}Role" for name in FUNCTIONS] + ["PushStateMachineRole"]
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", TRANSLATE, *FUNCTIONS, "PushStateMachine", *roles],
        input=json.dumps(template),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    mode = {"Fn::If": ["TraceWithXRay", "Active", "PassThrough"]}
    for name in FUNCTIONS:
        assert out[name]["Properties"]["TracingConfig"] == {"Mode": mode}, name
        managed = out[f"{name}Role"]["Properties"]["ManagedPolicyArns"]
        assert "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess" in managed, name
    machine = out["PushStateMachine"]["Properties"]
    assert machine["TracingConfiguration"] == {
        "Enabled": {"Fn::If": ["TraceWithXRay", True, False]}
    }
    assert out["PushStateMachineRole"]["Properties"]["ManagedPolicyArns"] == [
        {
            "Fn::If": [
                "TraceWithXRay",
                {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"},
                {"Ref": "AWS::NoValue"},
            ]
        }
    ]


# ------------------------------------------------------------------ ADOT collector layer


def test_adot_layer_is_a_parameter_empty_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AdotCollectorLayerArn"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for arn in ["", *ADOT_LAYER.values()]:
        assert pattern.fullmatch(arn), arn
    for wrong in ("aws-otel-collector-arm64-ver-0-117-0", "arn:aws:lambda:eu-west-1:1:layer:x"):
        assert not pattern.fullmatch(wrong), wrong
    assert "901920570463:layer:aws-otel-collector-" in " ".join(parameter["Description"].split())


@pytest.mark.parametrize("architecture", ADOT_LAYER)
@pytest.mark.parametrize("compute", GATEWAYS)
def test_adot_layer_and_otel_variables_with_the_parameter(
    template: dict[str, Any], compute: str, architecture: str
) -> None:
    name = GATEWAYS[compute]
    layer = ADOT_LAYER[architecture]
    without, _ = deployed(template, GatewayCompute=compute, Architecture=architecture)
    with_layer, _ = deployed(
        template, GatewayCompute=compute, Architecture=architecture, AdotCollectorLayerArn=layer
    )
    before = present(without[name]["Properties"]["Layers"])
    after = present(with_layer[name]["Properties"]["Layers"])
    # The existing layers first and in their order (the Lambda Web Adapter first), then ADOT.
    assert after == [*before, {"Ref": "AdotCollectorLayerArn"}]
    adapter = after[0]["Fn::Sub"]
    assert adapter[1]["Account"] == {"Fn::FindInMap": ["LambdaWebAdapter", "Layer", "Account"]}
    assert ({"Ref": "SharedLayer"} in after) is (compute == "Lambda")
    assert len(after) <= 5  # Lambda's limit of layers per function
    env = gateway_env(with_layer, name)
    assert {k: find_in_map(template, v) for k, v in env.items() if k.startswith("OTEL_")} == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP,
        "OTEL_SERVICE_NAME": "a2a-gateway",
        "OTEL_BSP_SCHEDULE_DELAY": "500",
    }
    # The collector is an extension: the Web Adapter keeps the one exec wrapper there is.
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    assert "OTEL_PROPAGATORS" not in env
    # The application's own switch (a2a_gateway.tracing) turns OTLP export on for it.
    resolved = {k: str(find_in_map(template, v)) for k, v in env.items() if k.startswith("OTEL_")}
    assert tracing._exporters_from_env(resolved) == ["otlp"]
    # Without the parameter: no layer, no variable, tracing off.
    assert {"Ref": "AdotCollectorLayerArn"} not in before
    assert not {k for k in gateway_env(without, name) if k.startswith("OTEL_")}


# ------------------------------------------------------------------ ADOT sidecar


def test_adot_sidecar_is_a_parameter_off_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["AdotSidecar"]
    assert parameter["AllowedValues"] == ["true", "false"]
    assert parameter["Default"] == "false"
    image = template["Parameters"]["AdotCollectorImage"]["Default"]
    # The ADOT collector on ECR Public, pinned to a release tag (not latest).
    assert re.fullmatch(
        r"public\.ecr\.aws/aws-observability/aws-otel-collector:v\d+\.\d+\.\d+", image
    )
    pattern = re.compile(template["Parameters"]["AdotCollectorImage"]["AllowedPattern"])
    assert pattern.fullmatch(image)
    assert pattern.fullmatch(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-otel-collector:v0.49.0"
    )
    assert not pattern.fullmatch("docker.io/otel/opentelemetry-collector:latest")


def test_adot_sidecar_on(template: dict[str, Any]) -> None:
    resources, names = deployed(template, AdotSidecar="true")
    worker, collector = containers(resources)
    assert worker["Name"] == "worker" and worker["Essential"] is True
    assert collector["Name"] == "adot-collector"
    assert collector["Essential"] is False
    assert collector["Image"] == {"Ref": "AdotCollectorImage"}
    assert collector["Command"] == [ECS_DEFAULT_CONFIG]
    # A small share within the smallest task the parameters allow.
    smallest_cpu = min(int(v) for v in template["Parameters"]["WorkerCpu"]["AllowedValues"])
    smallest_memory = min(int(v) for v in template["Parameters"]["WorkerMemory"]["AllowedValues"])
    assert 0 < collector["Cpu"] <= smallest_cpu // 4
    assert 0 < collector["MemoryReservation"] <= collector["Memory"] <= smallest_memory // 2
    # Its logs go to the worker's log group under a stream prefix of its own.
    logs, worker_logs = collector["LogConfiguration"], worker["LogConfiguration"]
    assert logs["LogDriver"] == "awslogs"
    assert logs["Options"]["awslogs-group"] == worker_logs["Options"]["awslogs-group"]
    assert logs["Options"]["awslogs-stream-prefix"] == "adot-collector"
    assert worker_logs["Options"]["awslogs-stream-prefix"] == "worker"
    # The worker sends its spans to it, once it has started.
    env = container_env(worker)
    assert find_in_map(template, env["OTEL_EXPORTER_OTLP_ENDPOINT"]) == OTLP_HTTP
    assert env["OTEL_SERVICE_NAME"] == "a2a-gateway-worker"
    assert worker["DependsOn"] == [{"ContainerName": "adot-collector", "Condition": "START"}]
    # The task role may write to X-Ray: the four actions, which have no resource-level
    # permissions, in a policy that exists with the sidecar only.
    assert "WorkerTaskTracingPolicy" in names
    policy = resources["WorkerTaskTracingPolicy"]["Properties"]
    assert policy["RoleName"] == {"Ref": "WorkerTaskRole"}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == XRAY_ACTIONS
    assert statement["Resource"] == "*"


def test_adot_sidecar_off(template: dict[str, Any]) -> None:
    resources, names = deployed(template)
    (worker,) = containers(resources)
    assert worker["Name"] == "worker"
    assert not {k for k in container_env(worker) if k.startswith("OTEL_")}
    assert "DependsOn" not in present(worker)
    assert "WorkerTaskTracingPolicy" not in names


# ------------------------------------------------------------------ network


@pytest.mark.parametrize("egress", ["NatGateway", "VpcEndpoints"])
@pytest.mark.parametrize("layer", ["", ADOT_LAYER["arm64"]])
@pytest.mark.parametrize("sidecar", ["false", "true"])
def test_xray_endpoint_without_internet_when_a_collector_runs(
    template: dict[str, Any], egress: str, layer: str, sidecar: str
) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/aws-otel-collector:v0.49.0"
    resources, names = deployed(
        template,
        VpcEgress=egress,
        AdotCollectorLayerArn=layer,
        AdotSidecar=sidecar,
        AdotCollectorImage=image,
    )
    collector = bool(layer) or sidecar == "true"
    assert ("XRayEndpoint" in names) is (egress == "VpcEndpoints" and collector)
    endpoint = resources["XRayEndpoint"]["Properties"]
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.xray"}
    assert endpoint["VpcEndpointType"] == "Interface" and endpoint["PrivateDnsEnabled"] is True
    logs = resources["LogsEndpoint"]["Properties"]
    for key in ("VpcId", "SubnetIds", "SecurityGroupIds"):
        assert endpoint[key] == logs[key], key
    # An existing VPC brings its own egress: no endpoint.
    _, names = deployed(
        template,
        VpcId="vpc-0123456789abcdef0",
        PrivateSubnetIds="subnet-1,subnet-2",
        VpcEgress=egress,
        AdotCollectorLayerArn=layer,
        AdotSidecar=sidecar,
    )
    assert "XRayEndpoint" not in names


@pytest.mark.parametrize(
    ("overrides", "refused_by"),
    [
        ({"AdotSidecar": "true"}, set()),
        ({"AdotSidecar": "true", "VpcEgress": "VpcEndpoints"}, {"AdotSidecarImageWithoutInternet"}),
        (
            {
                "AdotSidecar": "true",
                "VpcEgress": "VpcEndpoints",
                "AdotCollectorImage": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/adot:v0.49.0",
            },
            set(),
        ),
        ({"VpcEgress": "VpcEndpoints"}, set()),
        (
            {
                "AdotSidecar": "true",
                "VpcEgress": "VpcEndpoints",
                "VpcId": "vpc-0abc",
                "PrivateSubnetIds": "subnet-1,subnet-2",
            },
            set(),
        ),
    ],
)
def test_the_sidecar_image_must_be_reachable(
    template: dict[str, Any], overrides: dict[str, str], refused_by: set[str]
) -> None:
    """ECR Public has no VPC endpoint: without internet the image must be a private copy."""
    assert failed_rules(template, **overrides) == refused_by


# ------------------------------------------------------------------ OpenTelemetry variables


def test_every_otel_variable_is_one_the_sdk_reads(template: dict[str, Any]) -> None:
    import opentelemetry.environment_variables as api_variables
    import opentelemetry.sdk.environment_variables as sdk_variables

    names = otel_names(template["Resources"])
    assert names == OTEL_VARIABLES
    for name in names:
        assert getattr(sdk_variables, name, None) == name, name
    # OTEL_PROPAGATORS is left to its default: every propagator it names must be installed,
    # or the SDK stops at import ("xray" needs opentelemetry-propagator-aws-xray).
    assert api_variables.OTEL_PROPAGATORS not in names
    installed = {e.name for e in entry_points(group="opentelemetry_propagator")}
    assert {"tracecontext", "baggage"} <= installed


def test_the_otel_variables_configure_the_sdk(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read back through the SDK: the service name of the resource, the batch delay."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    resources, _ = deployed(template, AdotCollectorLayerArn=ADOT_LAYER["arm64"])
    env = gateway_env(resources, "GatewayFunction")
    for name in OTEL_VARIABLES:
        monkeypatch.setenv(name, str(find_in_map(template, env[name])))
    assert Resource.create().attributes["service.name"] == "a2a-gateway"
    processor = BatchSpanProcessor(SpanExporter())
    try:
        delays = [
            v
            for k, v in vars(getattr(processor, "_batch_processor", processor)).items()
            if "schedule_delay" in k
        ]
        assert delays and all(d in (500, 0.5) for d in delays), delays
    finally:
        processor.shutdown()


# ------------------------------------------------------------------ the guide


def test_the_guide_documents_tracing(template: dict[str, Any]) -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    section = guide[guide.index("### Tracing") :]
    section = section[: section.index("\n### ", 1)]
    for name in ("XRayTracing", "AdotCollectorLayerArn", "AdotSidecar", "AdotCollectorImage"):
        default = template["Parameters"][name]["Default"]
        shown = f"`{default}`" if default else "empty"
        assert f"| `{name}` | {shown} |" in section, name
    assert "901920570463:layer:aws-otel-collector-" in section
    assert ECS_DEFAULT_CONFIG in section and "OTEL_PROPAGATORS" in section
