"""Deployment defects of issue 12, each checked on ``template.yaml`` (and the files it
deploys) so that it cannot come back unnoticed: cfn-lint and ``sam validate`` pass on all
of them.

The template is loaded with cfn-lint's decoder; conditions and rules are evaluated with the
helpers of ``tests/unit/test_template.py`` and ``tests/deploy/test_template_auth.py``.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.config import Settings
from a2a_gateway.push.signing import body_digest
from tests.deploy.test_template_auth import conditions_for, failed_rules
from tests.unit.test_template import (
    GATEWAYS,
    evaluate_conditions,
    existing,
    parameter_values,
    references,
    resolve_ifs,
)

if TYPE_CHECKING:
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
PUSH_ASL = ROOT / "statemachine" / "push.asl.json"
GUIDE = ROOT / "docs" / "deploy.md"
RETAIN_OR_DELETE = {"Fn::If": ["ProtectData", "Retain", "Delete"]}


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def gateway_env(resources: dict[str, Any], name: str = "GatewayFunction") -> dict[str, Any]:
    variables: dict[str, Any] = resources[name]["Properties"]["Environment"]["Variables"]
    return variables


def named_entries(entries: list[Any]) -> list[dict[str, Any]]:
    """The ``Name``/``Value`` entries of an ECS list, both branches of a conditional one."""
    found = []
    for entry in entries:
        if "Fn::If" in entry:
            found += [e for e in entry["Fn::If"][1:] if isinstance(e, dict) and "Name" in e]
        else:
            found.append(entry)
    return found


def worker_container(resources: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = resources["WorkerTaskDefinition"]["Properties"][
        "ContainerDefinitions"
    ][0]
    return container


# ------------------------------------------------------------------ 2. VpcCidr


def cidr_fits(value: str) -> bool:
    """Whether CloudFormation can create the VPC and its four /20 subnets from ``value``
    (!Cidr [VpcCidr, 4, 12]): a network address (no host bits) of a prefix a VPC accepts
    (/16 to /28) that holds four /20s."""
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    if not 16 <= network.prefixlen <= 28:
        return False
    return network.prefixlen <= 20 and 2 ** (20 - network.prefixlen) >= 4


def cidr_candidates() -> list[str]:
    values = []
    for prefix in range(8, 29):
        for third in (0, 1, 16, 32, 64, 96, 128, 160, 192, 224, 255):
            values.append(f"10.42.{third}.0/{prefix}")
    values += ["10.42.0.1/16", "10.42.0.0/32", "256.1.0.0/16", "10.042.0.0/16", "10.42.0.0"]
    values += ["192.168.0.0/16", "172.16.64.0/18", "172.16.192.0/18", "10.0.128.0/17"]
    return values


def test_vpc_cidr_allows_exactly_what_fits_four_20_subnets(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["VpcCidr"]
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(parameter["Default"])
    for value in cidr_candidates():
        assert bool(pattern.fullmatch(value)) == cidr_fits(value), value
    # The boundary: /18 holds exactly four /20s, /19 only two.
    assert pattern.fullmatch("10.42.192.0/18") and cidr_fits("10.42.192.0/18")
    assert not pattern.fullmatch("10.42.0.0/19")
    assert not pattern.fullmatch("10.42.32.0/18")  # host bits set: not a network address
    # What the subnets are cut with: four /20s (32 - 12).
    resources = template["Resources"]
    for name, index in (("PrivateSubnetA", 0), ("PrivateSubnetB", 1), ("PublicSubnetA", 2)):
        assert resources[name]["Properties"]["CidrBlock"] == {
            "Fn::Select": [index, {"Fn::Cidr": [{"Ref": "VpcCidr"}, 4, 12]}]
        }


# ------------------------------------------------------------------ 5. default cache user


def test_cache_user_group_has_a_disabled_user_named_default(resources: dict[str, Any]) -> None:
    group = resources["CacheUserGroup"]["Properties"]
    assert group["Engine"] == "valkey"
    assert {"Ref": "CacheDefaultUser"} in group["UserIds"]
    assert {"Ref": "CacheUser"} in group["UserIds"]
    default = resources["CacheDefaultUser"]
    assert default["Type"] == "AWS::ElastiCache::User"
    props = default["Properties"]
    assert props["Engine"] == "valkey"
    assert props["UserName"] == "default"
    # Switched off, no key pattern, no command: whoever does not AUTH gets nothing.
    rules = props["AccessString"].split()
    assert rules[0] == "off" and "-@all" in rules
    assert not any(r.startswith(("~", "%", "&", "+", "allkeys", "allcommands")) for r in rules)
    # A valkey user group holds only users that authenticate (password or IAM).
    assert props["AuthenticationMode"]["Type"] == "password"
    (password,) = props["AuthenticationMode"]["Passwords"]
    assert password == {
        "Fn::Sub": "{{resolve:secretsmanager:${CacheDefaultUserSecret}:SecretString}}"
    }
    # Its own user id (user ids are unique in the region; "default" is AWS's own user).
    assert props["UserId"] == {"Fn::Sub": "a2a-gateway-${EnvironmentName}-default"}
    assert props["UserId"] != resources["CacheUser"]["Properties"]["UserId"]
    # Nobody reads its password.
    for name, resource in resources.items():
        if name not in ("CacheDefaultUser", "CacheDefaultUserSecret"):
            assert "CacheDefaultUserSecret" not in json.dumps(resource), name


# ------------------------------------------------------------------ 7. DesiredCount


def test_autoscaling_owns_the_worker_desired_count(resources: dict[str, Any]) -> None:
    assert "DesiredCount" not in resources["WorkerService"]["Properties"]
    targets = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    ]
    (target,) = targets
    assert target["ScalableDimension"] == "ecs:service:DesiredCount"
    assert "WorkerService.Name" in json.dumps(target["ResourceId"])
    assert target["MinCapacity"] == {"Ref": "WorkerMinCount"}


# ------------------------------------------------------------------ 8. liveness health check


def test_worker_health_check_is_liveness_only(resources: dict[str, Any]) -> None:
    container = worker_container(resources)
    assert container["HealthCheck"]["Command"] == ["CMD", "python", "/app/healthcheck.py"]
    # The heartbeat file is on the writable /tmp volume (the root file system is read-only).
    env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert env["A2A_WORKER_HEARTBEAT_FILE"].startswith("/tmp/")
    assert {m["ContainerPath"] for m in container["MountPoints"]} == {"/tmp"}
    # tests/deploy/test_template_worker.py runs the check itself.


# ------------------------------------------------------------------ 9. HTTP API on request


HTTP_API = (
    "GatewayHttpApi",
    "GatewayHttpApiIntegration",
    "GatewayHttpApiProxyRoute",
    "GatewayHttpApiRootRoute",
    "GatewayHttpApiStage",
    "GatewayHttpApiInvokePermission",
)


def test_http_api_is_deployed_only_when_asked_for(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    parameter = template["Parameters"]["DeployHttpApi"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["true", "false"])
    assert template["Conditions"]["CreateHttpApi"] == {
        "Fn::And": [
            {"Condition": "UseStandardLambda"},
            {"Fn::Equals": [{"Ref": "DeployHttpApi"}, "true"]},
        ]
    }
    api_resources = {n for n, r in resources.items() if r["Type"].startswith("AWS::ApiGatewayV2::")}
    assert api_resources | {"GatewayHttpApiInvokePermission"} == set(HTTP_API)
    for name in HTTP_API:
        assert resources[name]["Condition"] == "CreateHttpApi", name
    assert template["Outputs"]["GatewayHttpApiUrl"]["Condition"] == "CreateHttpApi"
    # No function declares API events (SAM would condition their permissions on the function).
    for name, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Events" not in resource["Properties"], name
    # Default: nothing of it exists, and nothing that exists refers to it.
    for compute in GATEWAYS:
        for deploy, expected in (("false", False), ("true", compute == "Lambda")):
            params = parameter_values(
                template, {"GatewayCompute": compute, "DeployHttpApi": deploy}
            )
            conditions = evaluate_conditions(template, params)
            names = existing(template, conditions)
            assert all((n in names) is expected for n in HTTP_API), (compute, deploy)
            for name in names & set(resources):
                resource = resolve_ifs(resources[name], conditions)
                refs = references({k: v for k, v in resource.items() if k != "Condition"})
                assert not refs & (set(HTTP_API) - names), name
    # It stays IAM-protected when deployed.
    for route in ("GatewayHttpApiProxyRoute", "GatewayHttpApiRootRoute"):
        assert resources[route]["Properties"]["AuthorizationType"] == "AWS_IAM"


def test_http_api_resources_come_before_the_first_function(template: dict[str, Any]) -> None:
    """SAM CLI serves the routes of the provider of the first API-related resource type it
    meets; its CloudFormation provider is the one that reads ApiGatewayV2 routes."""
    order = list(template["Resources"])
    first_function = min(
        order.index(n)
        for n, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    )
    assert order.index("GatewayHttpApi") < first_function
    assert order.index("GatewayHttpApiProxyRoute") < first_function


# ------------------------------------------------------------------ 10. Temporal TLS


TLS_SECRETS = {
    "TEMPORAL_TLS_SERVER_CA_CERT": "TemporalTlsServerCaSecretArn",
    "TEMPORAL_TLS_CLIENT_CERT": "TemporalTlsClientCertSecretArn",
    "TEMPORAL_TLS_CLIENT_KEY": "TemporalTlsClientKeySecretArn",
}


def test_temporal_tls_reaches_gateway_and_worker(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    assert (params["TemporalTls"]["Default"], params["TemporalTls"]["AllowedValues"]) == (
        "false",
        ["true", "false"],
    )
    for parameter in [*TLS_SECRETS.values(), "TemporalTlsServerName"]:
        assert params[parameter]["Default"] == "", parameter
    resources = template["Resources"]
    secrets = {
        "TemporalTls": "true",
        "TemporalTlsServerCaSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca",
        "TemporalTlsClientCertSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c",
        "TemporalTlsClientKeySecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k",
        "TemporalTlsServerName": "temporal.internal",
    }
    conditions = conditions_for(template, **secrets)
    for function in GATEWAYS.values():
        env = gateway_env(resources, function)
        assert env["TEMPORAL_TLS"] == {"Ref": "TemporalTls"}
        resolved = resolve_ifs(env, conditions)
        for variable, parameter in TLS_SECRETS.items():
            # launch.py turns <NAME>_SECRET_ARN into <NAME> at start-up.
            assert resolved[f"{variable}_SECRET_ARN"] == {"Ref": parameter}
        assert resolved["TEMPORAL_TLS_SERVER_NAME"] == {"Ref": "TemporalTlsServerName"}
        readable = json.dumps(
            resolve_ifs(resources[function]["Properties"]["Policies"], conditions)
        )
        assert all(f'"{p}"' in readable for p in TLS_SECRETS.values()), function
        # Without them: nothing set, nothing readable.
        plain = resolve_ifs(env, conditions_for(template))
        assert not any(plain.get(f"{v}_SECRET_ARN") for v in TLS_SECRETS)
    container = worker_container(resources)
    worker_env = {e["Name"]: e["Value"] for e in container["Environment"] if "Name" in e}
    assert worker_env["TEMPORAL_TLS"] == {"Ref": "TemporalTls"}
    injected = {
        s["Name"]: s["ValueFrom"]
        for s in resolve_ifs(container["Secrets"], conditions)
        if s is not None
    }
    for variable, parameter in TLS_SECRETS.items():
        assert injected[variable] == {"Ref": parameter}
    execution = json.dumps(
        resolve_ifs(resources["WorkerExecutionRole"]["Properties"]["Policies"], conditions)
    )
    assert all(f'"{p}"' in execution for p in TLS_SECRETS.values())
    assert "TEMPORAL_TLS" in Settings.ENV.values()  # what config.py reads today


@pytest.mark.parametrize(
    ("overrides", "refused_by"),
    [
        ({"TemporalTls": "true"}, set()),
        (
            {
                "TemporalTls": "true",
                "TemporalTlsClientCertSecretArn": "arn:aws:secretsmanager:r:123456789012:secret:c",
                "TemporalTlsClientKeySecretArn": "arn:aws:secretsmanager:r:123456789012:secret:k",
            },
            set(),
        ),
        (
            {"TemporalTls": "true", "TemporalTlsClientCertSecretArn": "arn:x"},
            {"TemporalClientCertNeedsKeyAndTls"},
        ),
        (
            {"TemporalTlsClientCertSecretArn": "arn:x", "TemporalTlsClientKeySecretArn": "arn:y"},
            {"TemporalClientCertNeedsKeyAndTls"},
        ),
        ({"TemporalTlsClientKeySecretArn": "arn:y"}, {"TemporalClientKeyNeedsCert"}),
        ({"TemporalTlsServerCaSecretArn": "arn:ca"}, {"TemporalServerCaNeedsTls"}),
        ({"TemporalTlsServerName": "t.internal", "TemporalApiKeySecretArn": "arn:k"}, set()),
    ],
)
def test_temporal_tls_rules(
    template: dict[str, Any], overrides: dict[str, str], refused_by: set[str]
) -> None:
    assert failed_rules(template, **overrides) == refused_by


# Settings the template sets that the code does not read yet (none now). Remove a name
# once config.py reads it.
PENDING_SETTINGS: set[str] = set()
# Read by the platform or by the start-up files, not by Settings.
PLATFORM = {
    "AWS_LAMBDA_EXEC_WRAPPER",
    "AWS_LWA_INVOKE_MODE",
    "AWS_LWA_READINESS_CHECK_PROTOCOL",
    "PORT",
    "A2A_LAYER_DIR",
    "REDIS_PASSWORD",
    "REDIS_PASSWORD_SECRET_KEY",
    # OpenTelemetry's own variables (the ADOT collector options), read by its SDK.
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_BSP_SCHEDULE_DELAY",
}


def test_every_variable_the_template_sets_is_read(resources: dict[str, Any]) -> None:
    known = set(Settings.ENV.values()) | PENDING_SETTINGS | PLATFORM
    names: set[str] = set()
    for function in GATEWAYS.values():
        names |= set(gateway_env(resources, function))
    container = worker_container(resources)
    names |= {e["Name"] for e in named_entries(container["Environment"])}
    names |= {e["Name"] for e in named_entries(container["Secrets"])}
    for name in names:
        base = name.removesuffix("_SECRET_ARN")  # launch.py resolves these into <base>
        assert name in known or base in known, name


# ------------------------------------------------------------------ 11 -> observability tests
# ------------------------------------------------------------------ 12. CORS


def test_cors_allows_no_origin_by_default(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["CorsAllowedOrigins"]
    assert parameter["Type"] == "String"
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("https://a.example.com,https://b.example")
    assert not pattern.fullmatch("https://a.example.com, https://b.example")
    assert template["Conditions"]["HasCorsOrigins"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CorsAllowedOrigins"}, ""]}]
    }
    for function in GATEWAYS.values():
        cors = template["Resources"][function]["Properties"]["FunctionUrlConfig"]["Cors"]
        default = resolve_ifs(cors, conditions_for(template))
        assert default.get("AllowOrigins") is None, function
        listed = resolve_ifs(
            cors, conditions_for(template, CorsAllowedOrigins="https://app.example.com")
        )
        assert listed["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "CorsAllowedOrigins"}]}
    assert "*" not in json.dumps(template["Parameters"]["CorsAllowedOrigins"]["Default"])


# ------------------------------------------------------------------ 13. no token in the DLQ


SECRETS = ("SECRET-TOKEN", "SECRET-CREDENTIAL", "SECRET-QUERY", "SECRET-PATH", "SECRET-USER")


def dead_letter_state() -> dict[str, Any]:
    definition = json.loads(PUSH_ASL.read_text(encoding="utf-8"))
    send = definition["States"][definition["StartAt"]]
    (catch,) = send["Catch"]
    state: dict[str, Any] = definition["States"][catch["Next"]]
    return state


def test_dead_letter_message_is_an_allow_list() -> None:
    definition = json.loads(PUSH_ASL.read_text(encoding="utf-8"))
    state = dead_letter_state()
    assert state["Resource"] == "arn:aws:states:::sqs:sendMessage"
    assert state["QueryLanguage"] == "JSONata"
    assert "Parameters" not in state  # no JSONPath "MessageBody.$": "$"
    body = state["Arguments"]["MessageBody"]
    assert body.startswith("{%") and body.endswith("%}")
    # The input is read only through named fields of $in: never passed on whole.
    assert body.count("$states.input") == 1 and "$in := $states.input;" in body
    fields = set(re.findall(r"\$in\.([A-Za-z_.]+)", body))
    assert fields == {"url", "taskId", "configId", "error.Error", "error.Cause"}
    for word in ("token", "authentication", "credentials", "payload", "headers", "$in)", "$in}"):
        assert word not in body, word
    # The URL only gives its host: everything after "://" up to "/", "?" or "#", after "@".
    assert "$split($authority, '@')[-1]" in body
    # Only the sender's own messages (which name no URL or token) are passed on as cause.
    assert "in ['PushRejected', 'PushDeliveryFailed'] ? $in.error.Cause : undefined" in body
    # No other state sends anything to SQS.
    senders = [s for s in definition["States"].values() if "sqs" in s.get("Resource", "")]
    assert senders == [state]


def test_dead_letter_message_holds_no_secret_when_evaluated() -> None:
    import jsonata

    body = dead_letter_state()["Arguments"]["MessageBody"].removeprefix("{%").removesuffix("%}")
    event = {
        "url": "https://SECRET-USER:pw@hooks.example.com:8443/SECRET-PATH?t=SECRET-QUERY#f",
        "token": "SECRET-TOKEN",
        "authentication": {"schemes": ["Bearer"], "credentials": "SECRET-CREDENTIAL"},
        "taskId": "task-1",
        "configId": "config-1",
        "payload": {"status": "SECRET-TOKEN"},
    }
    for error in (
        {"Error": "PushRejected", "Cause": '{"errorMessage": "webhook answered 404"}'},
        {"Error": "States.Runtime", "Cause": json.dumps(event)},  # a cause quoting the input
    ):
        expression = jsonata.Jsonata(body)
        frame = expression.create_frame()
        context = {"Execution": {"Id": "arn:exec"}, "State": {"EnteredTime": "now"}}
        frame.bind("states", {"input": {**event, "error": error}, "context": context})
        message = json.loads(expression.evaluate(None, frame))
        assert message["taskId"] == "task-1" and message["configId"] == "config-1"
        assert message["webhookHost"] == "hooks.example.com:8443"
        assert message["error"] == error["Error"]
        assert not any(secret in json.dumps(message) for secret in SECRETS), message


def load_sender() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "push_sender_app_dlq", ROOT / "functions" / "push_sender" / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_sender_errors_never_quote_the_url_or_the_token() -> None:
    """The sender's messages become the dead letter's cause: they name the host at most."""
    app = load_sender()
    sender = app.Sender(timeout=1, allow_private=False)
    body = '{"id": "task-1"}'
    claims = base64.urlsafe_b64encode(
        json.dumps({"bodySha256": body_digest(body.encode())}).encode()
    )
    # A JWT of the right shape whose bodySha256 matches: only the field under test is wrong.
    signature = f"e30.{claims.rstrip(b'=').decode()}.SECRET-SIGNATURE"
    events = [
        {"url": "ftp://hooks.example.com/SECRET-PATH?SECRET-QUERY"},
        {"url": "https://hooks.example.com:99999/SECRET-PATH?SECRET-QUERY"},
        {"url": "https://hooks.example.com/SECRET-PATH\r\nX: SECRET-QUERY"},
        {"url": "https://hooks.example.com/SECRET PATH?SECRET-QUERY"},
        {"url": "https://SECRET-USER:pw@hooks.example.com/"},
        {"url": "https://127.0.0.1/SECRET-PATH", "token": "SECRET-TOKEN"},
        {"url": "https://hooks.example.com/", "token": "SECRET-TOKEN\r\nX-Injected: 1"},
        {"url": "https://hooks.example.com/", "token": ["SECRET-TOKEN"]},
        {"url": "https://hooks.example.com/", "authorization": "Bearer SECRET-TOKEN\r\nX: 1"},
        {"url": "https://hooks.example.com/SECRET-PATH", "signature": "SECRET-SIGNATURE"},
        {"url": "https://hooks.example.com/", "body": '["SECRET-TOKEN"]'},
    ]
    for fields in events:
        with pytest.raises((app.PushRejected, app.PushDeliveryFailed)) as raised:
            sender.send({"body": body, "signature": signature, **fields})
        message = str(raised.value)
        assert not any(secret in message for secret in (*SECRETS, "SECRET-SIGNATURE")), message


# ------------------------------------------------------------------ 14. retention in prod


def test_prod_retains_secrets_logs_and_dead_letters(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert template["Transform"][0] == "AWS::LanguageExtensions"  # resolves Fn::If in policies
    assert template["Conditions"]["ProtectData"] == {
        "Fn::Or": [
            {"Fn::Equals": [{"Ref": "EnvironmentName"}, "prod"]},
            {"Fn::Equals": [{"Ref": "RetainData"}, "true"]},
        ]
    }
    protected = [
        n
        for n, r in resources.items()
        if r["Type"] in ("AWS::SecretsManager::Secret", "AWS::Logs::LogGroup")
        or n == "PushDeadLetterQueue"
    ]
    assert len(protected) >= 9
    for name in protected:
        if name == "ApiKeysSecret":  # always kept: losing it locks out every key holder
            assert resources[name]["DeletionPolicy"] == "Retain"
            continue
        assert resources[name]["DeletionPolicy"] == RETAIN_OR_DELETE, name
        assert resources[name]["UpdateReplacePolicy"] == RETAIN_OR_DELETE, name
    snapshot = resources["Cache"]["Properties"]["FinalSnapshotName"]
    assert snapshot["Fn::If"][0] == "ProtectData"
    assert snapshot["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert "${EnvironmentName}" in snapshot["Fn::If"][1]["Fn::Sub"][0]
    assert conditions_for(template, EnvironmentName="prod")["ProtectData"] is True
    assert conditions_for(template, EnvironmentName="dev")["ProtectData"] is False
    assert conditions_for(template, EnvironmentName="dev", RetainData="true")["ProtectData"]


# ------------------------------------------------------------------ 15. capacity provider logs


def test_capacity_provider_can_deliver_its_logs(resources: dict[str, Any]) -> None:
    provider = resources["GatewayCapacityProvider"]["Properties"]
    logging = provider["TelemetryConfig"]["LoggingConfig"]
    assert logging["LogGroup"] == {"Ref": "CapacityProviderLogGroup"}
    group = resources["CapacityProviderLogGroup"]
    assert group["Condition"] == "UseManagedInstances"
    # Lambda cannot create a custom group whose name starts with aws/.
    name = group["Properties"]["LogGroupName"]["Fn::Sub"]
    assert not name.lstrip("/").startswith("aws/")
    role = resources["GatewayCapacityProviderOperatorRole"]["Properties"]
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    assert {"Fn::GetAtt": ["CapacityProviderLogGroup", "Arn"]} in statement["Resource"]
    assert any(
        "log-group:${CapacityProviderLogGroup}" in json.dumps(r) for r in statement["Resource"]
    )


# ------------------------------------------------------------------ 18, 19. stream length, URL


def test_max_stream_seconds_is_a_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["MaxStreamSeconds"]
    assert parameter["Type"] == "Number"
    assert 60 <= parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"] <= 900
    for function in GATEWAYS.values():
        env = gateway_env(template["Resources"], function)
        assert env["A2A_MAX_STREAM_SECONDS"] == {"Ref": "MaxStreamSeconds"}
    guide = GUIDE.read_text(encoding="utf-8")
    assert f"| `MaxStreamSeconds` | {parameter['Default']} |" in guide  # documented default
    assert "abandoned stream" in guide and "GB-second" in guide  # and what it costs


def test_public_url_is_a_parameter(template: dict[str, Any]) -> None:
    parameter = template["Parameters"]["PublicUrl"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch("") and pattern.fullmatch("https://a2a.example.com/")
    assert not pattern.fullmatch("http://a2a.example.com/")
    for function in GATEWAYS.values():
        env = gateway_env(template["Resources"], function)
        assert env["A2A_PUBLIC_URL"] == {
            "Fn::If": ["HasPublicUrl", {"Ref": "PublicUrl"}, {"Ref": "AWS::NoValue"}]
        }
        # Unset, the variable is absent (the Host decides, when it is an allowed host).
        assert "A2A_PUBLIC_URL" not in {
            k for k, v in resolve_ifs(env, conditions_for(template)).items() if v is not None
        }
