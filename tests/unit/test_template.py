"""The SAM template is valid (cfn-lint) and keeps the settings streaming depends on."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from a2a_gateway.gateway.guards import HostPolicy

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PUSH_ASL = ROOT / "statemachine" / "push.asl.json"


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
    # LanguageExtensions first: it resolves the Fn::If of DeletionPolicy before SAM runs.
    assert template["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def test_gateway_function_streams_through_the_web_adapter(resources: dict[str, Any]) -> None:
    gateway = resources["GatewayFunction"]
    assert gateway["Type"] == "AWS::Serverless::Function"
    props = gateway["Properties"]
    assert props["FunctionUrlConfig"]["InvokeMode"] == "RESPONSE_STREAM"
    assert props["Handler"] == "run.sh"
    assert props["Timeout"] == {"Fn::FindInMap": ["Gateway", "Settings", "TimeoutSeconds"]}
    env = props["Environment"]["Variables"]
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    for name in ("REDIS_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "PORT", "A2A_BUCKETS"):
        assert name in env
    assert gateway["Metadata"]["BuildMethod"] == "makefile"
    assert {"Ref": "SharedLayer"} in props["Layers"]
    # The buffered HTTP API for `sam local start-api` is made of conditional ApiGatewayV2
    # resources (tests/unit/test_template_deploy_checks.py), not of function events.
    assert "Events" not in props


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
    text = run_sh.read_text(encoding="utf-8")
    assert "a2a_gateway.gateway.app:create_app" in text
    assert "${A2A_LAYER_DIR:-/opt}" in text
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
    assert {"GatewayFunctionUrl", "AgentCardUrl", "PushStateMachineArn", "CacheEndpoint"} <= set(
        outputs
    )
    # The URL of whichever gateway function the GatewayCompute parameter created.
    assert outputs["AgentCardUrl"]["Value"] == {
        "Fn::If": [
            "UseManagedInstances",
            {"Fn::Sub": "${GatewayManagedFunctionUrl.FunctionUrl}.well-known/agent.json"},
            {"Fn::Sub": "${GatewayFunctionUrl.FunctionUrl}.well-known/agent.json"},
        ]
    }


def test_push_definition_retries_then_dead_letters(template: dict[str, Any]) -> None:
    definition = json.loads(PUSH_ASL.read_text(encoding="utf-8"))
    states = definition["States"]
    send = states[definition["StartAt"]]
    assert send["Type"] == "Task"
    assert send["Retry"], "the send step must retry"
    assert all(r["BackoffRate"] > 1 for r in send["Retry"] if r["MaxAttempts"] > 0)
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


# --------------------------------------------------------------------------- production shape

# Statements that must use "*" (or a wildcard) in Resource, with the reason. Keyed by
# (resource logical id, statement Sid); any other wildcard fails the IAM test below.
WILDCARD_RESOURCES = {
    # X-Ray's write and sampling actions support no resource-level permissions (the ADOT
    # sidecar's grant, only when AdotSidecar=true).
    ("WorkerTaskTracingPolicy", "WriteTraces"),
    # Step Functions log delivery actions support no resource-level permissions.
    ("PushStateMachine", "LogDelivery"),
    # ecr:GetAuthorizationToken supports no resource-level permissions.
    ("WorkerExecutionRole", "EcrAuth"),
    # The repositories of the image's own registry: CloudFormation cannot cut the
    # repository path out of WorkerImageUri, so account and region are as narrow as it gets.
    ("WorkerExecutionRole", "EcrPull"),
    # cloudwatch:PutMetricData supports no resource-level permissions; a condition on
    # cloudwatch:namespace narrows it to the stack's own namespace.
    ("WorkerTaskRole", "PublishMetrics"),
}


def statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement written in the template (inline policies of roles and functions)."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(owner: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "Statement" and isinstance(value, list):
                    found.extend((owner, s) for s in value if isinstance(s, dict))
                else:
                    walk(owner, value)
        elif isinstance(node, list):
            for item in node:
                walk(owner, item)

    for name, resource in resources.items():
        walk(name, resource.get("Properties", {}))
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_wildcards_where_a_narrower_grant_exists(resources: dict[str, Any]) -> None:
    found = statements(resources)
    assert len(found) >= 8, "the walk must see the template's policies"
    used_exceptions = set()
    for owner, statement in found:
        assert statement.get("Effect") == "Allow", (owner, statement)
        for action in as_list(statement.get("Action", [])):
            assert "*" not in json.dumps(action), f"{owner}: wildcard action {action}"
        if "Principal" in statement:  # trust policies name services, not resources
            assert statement["Action"] == "sts:AssumeRole"
            continue
        for resource in as_list(statement["Resource"]):
            if "*" in json.dumps(resource):
                key = (owner, statement.get("Sid"))
                assert key in WILDCARD_RESOURCES, f"{owner}: wildcard resource {resource}"
                used_exceptions.add(key)
    assert used_exceptions == WILDCARD_RESOURCES, "remove exceptions that are no longer needed"


def test_worker_may_start_exactly_the_push_state_machine(resources: dict[str, Any]) -> None:
    """…and read and write exactly the push signing keys (which the gateways never read)."""
    task_role = resources["WorkerTaskRole"]["Properties"]
    granted = [s for _, s in statements({"WorkerTaskRole": {"Properties": task_role}})]
    grants = [s for s in granted if "Principal" not in s]
    assert grants == [
        {
            "Sid": "PushSigningKeys",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
            "Resource": {"Ref": "PushSigningKeys"},
        },
        {
            "Sid": "StartPushDelivery",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": {"Ref": "PushStateMachine"},
        },
        {
            "Sid": "PublishMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "cloudwatch:namespace": {"Fn::Sub": "A2AGateway/${EnvironmentName}"}
                }
            },
        },
    ]
    assert task_role.get("ManagedPolicyArns") is None


def test_streaming_function_url_with_cors(resources: dict[str, Any]) -> None:
    url = resources["GatewayFunction"]["Properties"]["FunctionUrlConfig"]
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    assert url["AuthType"] == {"Ref": "FunctionUrlAuthType"}
    # No origin unless listed (tests/unit/test_template_deploy_checks.py).
    assert url["Cors"]["AllowOrigins"] == {
        "Fn::If": [
            "HasCorsOrigins",
            {"Fn::Split": [",", {"Ref": "CorsAllowedOrigins"}]},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert "last-event-id" in url["Cors"]["AllowHeaders"]


def test_web_adapter_layer_is_region_agnostic(template: dict[str, Any]) -> None:
    layers = template["Resources"]["GatewayFunction"]["Properties"]["Layers"]
    sub = layers[0]["Fn::Sub"]
    assert sub[0].startswith("arn:${AWS::Partition}:lambda:${AWS::Region}:${Account}:layer:")
    assert sub[1]["Account"] == {"Fn::FindInMap": ["LambdaWebAdapter", "Layer", "Account"]}
    assert "LambdaWebAdapter" in template["Mappings"]


def test_gateway_in_the_vpc_and_sender_outside(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    vpc = resources["GatewayFunction"]["Properties"]["VpcConfig"]
    assert vpc["SecurityGroupIds"] == [{"Ref": "GatewaySecurityGroup"}]
    assert vpc["SubnetIds"]["Fn::If"][0] == "CreateVpc"
    assert "VpcConfig" not in resources["PushSenderFunction"]["Properties"]
    assert "VpcConfig" not in template["Globals"]["Function"]


def test_every_log_group_has_a_retention(resources: dict[str, Any]) -> None:
    groups = {n: r for n, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert len(groups) >= 4
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
    # Every function logs to one of them (not to an implicit group without retention).
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            target = resource["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            assert target in groups, name
    container = resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"] in groups


def test_state_machine_retries_then_dead_letters_to_sqs(resources: dict[str, Any]) -> None:
    props = resources["PushStateMachine"]["Properties"]
    assert props["Logging"]["Level"] in ("ERROR", "ALL")
    assert props["DefinitionSubstitutions"]["DeadLetterQueueUrl"] == {"Ref": "PushDeadLetterQueue"}
    definition = json.loads(PUSH_ASL.read_text(encoding="utf-8"))
    send = definition["States"][definition["StartAt"]]
    retries = send["Retry"]
    assert retries[0] == {"ErrorEquals": ["PushRejected"], "MaxAttempts": 0}
    assert retries[-1]["ErrorEquals"] == ["States.ALL"]
    assert all(r["BackoffRate"] >= 2 for r in retries[1:])
    catch = send["Catch"]
    assert catch[0]["ErrorEquals"] == ["States.ALL"]
    dead_letter = definition["States"][catch[0]["Next"]]
    assert dead_letter["Arguments"]["QueueUrl"] == "${DeadLetterQueueUrl}"


def test_cache_is_reachable_only_from_gateway_and_worker(resources: dict[str, Any]) -> None:
    cache = resources["Cache"]["Properties"]
    assert cache["Engine"] == "valkey"
    assert cache["SecurityGroupIds"] == [{"Ref": "CacheSecurityGroup"}]
    assert cache["UserGroupId"] == {"Ref": "CacheUserGroup"}
    assert "SecurityGroupIngress" not in resources["CacheSecurityGroup"]["Properties"]
    sources = set()
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress" and props["GroupId"] == {
            "Ref": "CacheSecurityGroup"
        }:
            assert set(props) & {"CidrIp", "CidrIpv6", "SourcePrefixListId"} == set(), name
            sources.add(props["SourceSecurityGroupId"]["Ref"])
    assert sources == {"GatewaySecurityGroup", "WorkerSecurityGroup"}
    # Nothing may connect to the gateway or the worker.
    for name in ("GatewaySecurityGroup", "WorkerSecurityGroup"):
        assert "SecurityGroupIngress" not in resources[name]["Properties"]
        assert not [
            r
            for r in resources.values()
            if r["Type"] == "AWS::EC2::SecurityGroupIngress"
            and r["Properties"]["GroupId"] == {"Ref": name}
        ]


def test_both_sides_connect_with_tls_and_secrets(resources: dict[str, Any]) -> None:
    env = resources["GatewayFunction"]["Properties"]["Environment"]["Variables"]
    assert env["REDIS_URL"]["Fn::Sub"][0].startswith("rediss://")
    assert env["REDIS_PASSWORD_SECRET_ARN"] == {"Ref": "CacheUserSecret"}
    container = resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    worker_env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert worker_env["REDIS_URL"] == env["REDIS_URL"]
    assert worker_env["A2A_BUCKETS"] == env["A2A_BUCKETS"]
    assert container["Secrets"][0]["Name"] == "REDIS_PASSWORD"
    # Only secret ARNs reach the function configuration, never a value or a resolve.
    assert "REDIS_PASSWORD" not in env and "TEMPORAL_API_KEY" not in env
    assert "{{resolve:" not in json.dumps(env)


def test_worker_service_is_private_and_scales(resources: dict[str, Any]) -> None:
    service = resources["WorkerService"]["Properties"]
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["SecurityGroups"] == [{"Ref": "WorkerSecurityGroup"}]
    assert service["DeploymentConfiguration"]["DeploymentCircuitBreaker"]["Rollback"] is True
    task = resources["WorkerTaskDefinition"]["Properties"]
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    container = task["ContainerDefinitions"][0]
    assert container["HealthCheck"]["Command"][0] == "CMD"
    assert container["User"] != "0" and container["ReadonlyRootFilesystem"] is True
    target = resources["WorkerScalableTarget"]["Properties"]
    assert target["MinCapacity"] == {"Ref": "WorkerMinCount"}
    for policy in ("WorkerBacklogScalingPolicy", "WorkerCpuScalingPolicy"):
        assert resources[policy]["Properties"]["PolicyType"] == "TargetTrackingScaling"


def alarm_metrics(alarm: dict[str, Any]) -> set[tuple[str, str]]:
    """(namespace, metric name) pairs an alarm watches, directly or in its metric math."""
    props = alarm["Properties"]
    if "MetricName" in props:
        return {(json.dumps(props["Namespace"]), props["MetricName"])}
    return {
        (
            json.dumps(q["MetricStat"]["Metric"]["Namespace"]),
            q["MetricStat"]["Metric"]["MetricName"],
        )
        for q in props["Metrics"]
        if "MetricStat" in q
    }


def test_alarms_cover_the_failure_modes(resources: dict[str, Any]) -> None:
    metrics: set[tuple[str, str]] = set()
    for r in resources.values():
        if r["Type"] == "AWS::CloudWatch::Alarm":
            metrics |= alarm_metrics(r)
    assert metrics >= {
        ('"AWS/Lambda"', "Errors"),
        ('"AWS/Lambda"', "Throttles"),
        ('"AWS/Lambda"', "Duration"),
        ('"ECS/ContainerInsights"', "RunningTaskCount"),
        ('"AWS/SQS"', "ApproximateNumberOfMessagesVisible"),
    }
    # The duration thresholds are derived from their parameters:
    # tests/unit/test_template_observability.py evaluates them.
    assert resources["Dashboard"]["Type"] == "AWS::CloudWatch::Dashboard"


# --------------------------------------------------------------------------- Managed Instances

GATEWAYS = {"Lambda": "GatewayFunction", "ManagedInstances": "GatewayManagedFunction"}
REQUIRED_PARAMETERS = {
    "EnvironmentName": "dev",
    "TemporalAddress": "my-ns.a1b2c.tmprl.cloud:7233",
    "WorkerImageUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a2a-gateway-worker:abc1234",
}
# Every combination of the parameters that decide which gateway resources exist.
SCENARIOS = [
    {"GatewayCompute": compute, "FunctionUrlAuthType": auth, "VpcId": vpc}
    for compute in GATEWAYS
    for auth in ("AWS_IAM", "NONE")
    for vpc in ("", "vpc-0123456789abcdef0")
]


def parameter_values(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    values = {name: p.get("Default") for name, p in template["Parameters"].items()}
    values.update(REQUIRED_PARAMETERS)
    values.update(overrides)
    return values


def evaluate_conditions(template: dict[str, Any], params: dict[str, Any]) -> dict[str, bool]:
    """The template's Conditions for these parameter values (the functions it uses)."""
    definitions = template["Conditions"]
    results: dict[str, bool] = {}

    def value(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"}:
            return str(params[node["Ref"]])
        return str(node)

    def truth(node: Any) -> bool:
        ((function, args),) = node.items()
        if function == "Condition":
            return condition(args)
        if function == "Fn::Equals":
            return bool(value(args[0]) == value(args[1]))
        if function == "Fn::Not":
            return not truth(args[0])
        if function == "Fn::And":
            return all(truth(a) for a in args)
        if function == "Fn::Or":
            return any(truth(a) for a in args)
        raise AssertionError(f"unsupported condition function {function}")

    def condition(name: str) -> bool:
        if name not in results:
            results[name] = truth(definitions[name])
        return results[name]

    for name in definitions:
        condition(name)
    return results


def resolve_ifs(node: Any, conditions: dict[str, bool]) -> Any:
    """``node`` with every Fn::If replaced by its chosen branch (None for AWS::NoValue)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve_ifs(yes if conditions[name] else no, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return None
        return {k: resolve_ifs(v, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_ifs(item, conditions) for item in node]
    return node


def references(node: Any) -> set[str]:
    """Logical ids named by Ref, Fn::GetAtt and Fn::Sub in ``node`` (``X.Alias`` -> ``X``)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(value.split(".")[0])
            elif key == "Fn::GetAtt":
                found.add((value[0] if isinstance(value, list) else value).split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    if name not in variables:
                        found.add(name.split(".")[0])
                found |= references(variables)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return {name for name in found if not name.startswith("AWS::")}  # pseudo parameters


def existing(template: dict[str, Any], conditions: dict[str, bool]) -> set[str]:
    """Logical ids that exist, with the ones SAM generates from a function (``<id>Url``)."""
    names = {
        n for n, r in template["Resources"].items() if conditions.get(r.get("Condition"), True)
    }
    for name in list(names):
        if "FunctionUrlConfig" in template["Resources"][name].get("Properties", {}):
            names.add(f"{name}Url")
    return names


def test_gateway_compute_is_a_parameter(template: dict[str, Any]) -> None:
    compute = template["Parameters"]["GatewayCompute"]
    assert compute["AllowedValues"] == ["Lambda", "ManagedInstances"]
    assert compute["Default"] == "Lambda"
    conditions = template["Conditions"]
    assert conditions["UseManagedInstances"] == {
        "Fn::Equals": [{"Ref": "GatewayCompute"}, "ManagedInstances"]
    }
    assert conditions["UseStandardLambda"] == {"Fn::Not": [{"Condition": "UseManagedInstances"}]}
    # Managed Instances need at least 2 GB per execution environment.
    assert template["Parameters"]["GatewayManagedMemorySize"]["MinValue"] >= 2048
    for name in (
        "GatewayMaxConcurrencyPerEnvironment",
        "GatewayMinEnvironments",
        "GatewayMaxEnvironments",
        "CapacityProviderMaxVCpu",
    ):
        assert "Default" in template["Parameters"][name], name


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=lambda s: "-".join(v or "new-vpc" for v in s.values())
)
def test_exactly_one_gateway_per_mode(template: dict[str, Any], scenario: dict[str, str]) -> None:
    conditions = evaluate_conditions(template, parameter_values(template, scenario))
    names = existing(template, conditions)
    gateways = {
        n
        for n, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
        and r["Properties"]["CodeUri"] == "functions/gateway/"
    }
    assert gateways == set(GATEWAYS.values())
    assert gateways & names == {GATEWAYS[scenario["GatewayCompute"]]}
    managed = scenario["GatewayCompute"] == "ManagedInstances"
    for name in ("GatewayCapacityProvider", "GatewayCapacityProviderOperatorRole"):
        assert (name in names) is managed, name
    # Deployed only when asked for (DeployHttpApi, default false).
    assert "GatewayHttpApi" not in names


@pytest.mark.parametrize(
    "scenario", SCENARIOS, ids=lambda s: "-".join(v or "new-vpc" for v in s.values())
)
def test_references_resolve_in_every_mode(
    template: dict[str, Any], scenario: dict[str, str]
) -> None:
    """Outputs, alarms, the dashboard and the URL permissions name only resources that exist."""
    params = parameter_values(template, scenario)
    conditions = evaluate_conditions(template, params)
    names = existing(template, conditions)
    allowed = names | set(params)
    for name in names & set(template["Resources"]):
        resource = resolve_ifs(template["Resources"][name], conditions)
        missing = references({k: v for k, v in resource.items() if k != "Condition"}) - allowed
        assert not missing, f"{name} refers to {missing}"
    outputs = {
        n: o for n, o in template["Outputs"].items() if conditions.get(o.get("Condition"), True)
    }
    assert {"GatewayFunctionUrl", "AgentCardUrl", "PushStateMachineArn", "CacheEndpoint"} <= set(
        outputs
    )
    gateway = GATEWAYS[scenario["GatewayCompute"]]
    for name, output in outputs.items():
        value = resolve_ifs(output["Value"], conditions)
        assert value is not None, name
        missing = references(value) - allowed
        assert not missing, f"output {name} refers to {missing}"
    url = resolve_ifs(template["Outputs"]["GatewayFunctionUrl"]["Value"], conditions)
    assert url == {"Fn::GetAtt": f"{gateway}Url.FunctionUrl"} or url == {
        "Fn::GetAtt": [f"{gateway}Url", "FunctionUrl"]
    }
    # The alarms watch the gateway that exists (directly or in their metric math).
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm" or name not in names:
            continue
        props = resource["Properties"]
        watched = (
            [props]
            if "MetricName" in props
            else [q["MetricStat"]["Metric"] for q in props["Metrics"] if "MetricStat" in q]
        )
        for metric in watched:
            if metric["Namespace"] == "AWS/Lambda":
                dimensions = resolve_ifs(metric["Dimensions"], conditions)
                assert dimensions == [{"Name": "FunctionName", "Value": {"Ref": gateway}}], name


@pytest.mark.parametrize("name", GATEWAYS.values())
def test_both_gateway_variants_stream(resources: dict[str, Any], name: str) -> None:
    standard = resources["GatewayFunction"]["Properties"]
    props = resources[name]["Properties"]
    assert props["Handler"] == "run.sh"
    assert props["CodeUri"] == "functions/gateway/"
    assert props["Timeout"] == {"Fn::FindInMap": ["Gateway", "Settings", "TimeoutSeconds"]}
    assert resources[name]["Metadata"]["BuildMethod"] == "makefile"
    url = props["FunctionUrlConfig"]
    assert url == standard["FunctionUrlConfig"]
    assert url["InvokeMode"] == "RESPONSE_STREAM"
    env = props["Environment"]["Variables"]
    assert env["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert env["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/bootstrap"
    # The same configuration on both; only where the dependencies live differs.
    assert {k: v for k, v in env.items() if k != "A2A_LAYER_DIR"} == standard["Environment"][
        "Variables"
    ]
    assert props["Layers"][0] == standard["Layers"][0]  # the Lambda Web Adapter
    assert props["LoggingConfig"] == standard["LoggingConfig"]
    assert props["Policies"] == standard["Policies"]


def test_managed_gateway_runs_on_the_capacity_provider(resources: dict[str, Any]) -> None:
    managed = resources["GatewayManagedFunction"]
    assert managed["Condition"] == "UseManagedInstances"
    assert resources["GatewayFunction"]["Condition"] == "UseStandardLambda"
    props = managed["Properties"]
    config = props["CapacityProviderConfig"]
    assert config["Arn"] == {"Fn::GetAtt": ["GatewayCapacityProvider", "Arn"]}
    assert config["PerExecutionEnvironmentMaxConcurrency"] == {
        "Ref": "GatewayMaxConcurrencyPerEnvironment"
    }
    assert props["FunctionScalingConfig"] == {
        "MinExecutionEnvironments": {"Ref": "GatewayMinEnvironments"},
        "MaxExecutionEnvironments": {"Ref": "GatewayMaxEnvironments"},
    }
    assert props["MemorySize"] == {"Ref": "GatewayManagedMemorySize"}
    # SAM refuses VpcConfig next to CapacityProviderConfig; the provider carries the network.
    assert "VpcConfig" not in props
    assert (
        "ReservedConcurrentExecutions" not in props and "ProvisionedConcurrencyConfig" not in props
    )
    assert props["AutoPublishAlias"] == "live"
    # Managed Instances run Python 3.13+; the function bundles dependencies for its runtime
    # (SharedLayer is built for the standard function's python3.12).
    assert props["Runtime"] == "python3.13"
    assert {"Ref": "SharedLayer"} not in props["Layers"]
    assert props["Environment"]["Variables"]["A2A_LAYER_DIR"] == "/var/task"
    makefile = (ROOT / "functions" / "gateway" / "Makefile").read_text(encoding="utf-8")
    assert "build-GatewayManagedFunction: build-GatewayFunction" in makefile
    assert "MANAGED_PYTHON := 3.13" in makefile
    assert "LAMBDA_PYTHON=$(MANAGED_PYTHON)" in makefile
    # Public URL permissions name the alias that owns the managed function's URL.
    for name in ("GatewayFunctionUrlPublicPermission", "GatewayFunctionUrlPublicInvokePermission"):
        assert resources[name]["Properties"]["FunctionName"] == {
            "Fn::If": [
                "UseManagedInstances",
                {"Ref": "GatewayManagedFunction.Alias"},
                {"Ref": "GatewayFunction"},
            ]
        }


def test_capacity_provider_in_private_subnets_with_gateway_security_group(
    resources: dict[str, Any],
) -> None:
    provider = resources["GatewayCapacityProvider"]
    assert provider["Type"] == "AWS::Lambda::CapacityProvider"
    assert provider["Condition"] == "UseManagedInstances"
    props = provider["Properties"]
    standard_vpc = resources["GatewayFunction"]["Properties"]["VpcConfig"]
    assert props["VpcConfig"]["SubnetIds"] == standard_vpc["SubnetIds"]
    assert props["VpcConfig"]["SubnetIds"]["Fn::If"][1] == [
        {"Ref": "PrivateSubnetA"},
        {"Ref": "PrivateSubnetB"},
    ]
    assert props["VpcConfig"]["SubnetIds"]["Fn::If"][2] == {"Ref": "PrivateSubnetIds"}
    assert props["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "GatewaySecurityGroup"}]
    assert props["InstanceRequirements"]["Architectures"] == [{"Ref": "Architecture"}]
    assert props["CapacityProviderScalingConfig"]["MaxVCpuCount"] == {
        "Ref": "CapacityProviderMaxVCpu"
    }
    assert props["PermissionsConfig"]["CapacityProviderOperatorRoleArn"] == {
        "Fn::GetAtt": ["GatewayCapacityProviderOperatorRole", "Arn"]
    }
    # The operator role: trusted by Lambda only, the AWS managed operator policy, nothing inline.
    role = resources["GatewayCapacityProviderOperatorRole"]
    assert role["Condition"] == "UseManagedInstances"
    role_props = role["Properties"]
    assert role_props["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSLambdaManagedEC2ResourceOperator"}
    ]
    (trust,) = role_props["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    # Its only inline statement delivers the capacity provider's own logs
    # (tests/unit/test_template_deploy_checks.py checks it).
    (inline,) = role_props["Policies"]
    (logs,) = inline["PolicyDocument"]["Statement"]
    assert logs["Sid"] == "DeliverSystemLogs"
    # The instances carry the gateway security group, which the cache already admits.
    assert resources["CacheIngressFromGateway"]["Properties"]["SourceSecurityGroupId"] == {
        "Ref": "GatewaySecurityGroup"
    }


def test_new_iam_statements_have_no_wildcards(resources: dict[str, Any]) -> None:
    names = ("GatewayManagedFunction", "GatewayCapacityProviderOperatorRole")
    found = statements({n: resources[n] for n in names})
    assert found, "the walk must see the new statements"
    for owner, statement in found:
        assert "*" not in json.dumps(statement.get("Action")), owner
        if "Principal" not in statement:
            assert (owner, statement.get("Sid")) not in WILDCARD_RESOURCES
            assert "*" not in json.dumps(statement["Resource"]), owner


@pytest.mark.parametrize("name", GATEWAYS.values())
def test_gateway_answers_to_its_own_domains(template: dict[str, Any], name: str) -> None:
    """The Host check (A2A_ALLOWED_HOSTS) must never lock a deployment out: the function
    URL and HTTP API domains are always allowed, and a custom domain can be added."""
    env = template["Resources"][name]["Properties"]["Environment"]["Variables"]
    pattern = env["A2A_ALLOWED_HOSTS"]["Fn::Sub"]
    assert pattern.split(",") == [
        "*.lambda-url.${AWS::Region}.on.aws",
        "*.execute-api.${AWS::Region}.${AWS::URLSuffix}",
        "${GatewayAllowedHosts}",
    ]
    parameter = template["Parameters"]["GatewayAllowedHosts"]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "a2a.example.com,*.example.org")

    def deployed(custom: str) -> HostPolicy:
        value = pattern.replace("${AWS::Region}", "eu-west-1")
        value = value.replace("${AWS::URLSuffix}", "amazonaws.com")
        return HostPolicy.parse(value.replace("${GatewayAllowedHosts}", custom))

    plain = deployed("")
    assert plain.allows("abcdefghijklmnop.lambda-url.eu-west-1.on.aws")
    assert plain.allows("a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com")
    assert plain.allows("localhost:8080")
    assert not plain.allows("a2a.example.com")
    assert not plain.allows("abc.lambda-url.us-east-1.on.aws")
    assert deployed("a2a.example.com").allows("a2a.example.com:443")


def test_the_console_is_off_unless_its_parameter_turns_it_on(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    """``Console`` (default false) is ``A2A_CONSOLE`` on both gateway functions."""
    parameter = template["Parameters"]["Console"]
    assert parameter["Default"] == "false" and parameter["AllowedValues"] == ["true", "false"]
    for name in GATEWAYS.values():
        env = resources[name]["Properties"]["Environment"]["Variables"]
        assert env["A2A_CONSOLE"] == {"Ref": "Console"}, name


def test_push_notifications_are_on_and_delivered_through_the_state_machine(
    resources: dict[str, Any],
) -> None:
    """The gateways accept configs and publish the keys; the worker dispatches to the
    state machine (its role may start executions of it, through the VPC endpoint)."""
    for name in GATEWAYS.values():
        env = resources[name]["Properties"]["Environment"]["Variables"]
        assert env["A2A_PUSH_NOTIFICATIONS"] == "true", name
    container = resources["WorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    worker_env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert worker_env["A2A_PUSH_NOTIFICATIONS"] == "true"
    assert worker_env["A2A_PUSH_STATE_MACHINE_ARN"] == {"Ref": "PushStateMachine"}
    statements = [
        statement
        for policy in resources["WorkerTaskRole"]["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    assert any(
        s["Action"] in ("states:StartExecution", ["states:StartExecution"])
        and s["Resource"] == {"Ref": "PushStateMachine"}
        for s in statements
    )


def test_the_template_never_allows_private_webhooks(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    """``A2A_PUSH_ALLOW_PRIVATE`` is a local-development setting the template never sets:
    not on any function (the gateways' set-time check, the sender Lambda's send-time
    check), not in Globals, not in the worker's container (its sender), nowhere at all."""
    environments: dict[str, dict[str, Any]] = {
        "Globals": template.get("Globals", {}).get("Function", {}).get("Environment", {})
    }
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            environments[name] = properties.get("Environment", {})
        for container in properties.get("ContainerDefinitions", []):
            environments[f"{name}/{container.get('Name')}"] = container.get("Environment", [])
    assert "PushSenderFunction" in environments and "GatewayFunction" in environments
    assert any(key.startswith("WorkerTaskDefinition/") for key in environments)
    for where, environment in environments.items():
        assert "A2A_PUSH_ALLOW" not in json.dumps(environment), where
    assert "A2A_PUSH_ALLOW" not in TEMPLATE.read_text(encoding="utf-8")


def test_the_gateways_never_read_the_push_signing_keys(resources: dict[str, Any]) -> None:
    """The keys' secret is named to the worker only; no other role or environment names it."""
    for name, resource in resources.items():
        if name in ("WorkerTaskRole", "WorkerTaskDefinition", "PushSigningKeys"):
            continue
        assert '"PushSigningKeys"' not in json.dumps(resource), name
