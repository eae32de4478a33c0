"""The authentication wiring of ``template.yaml``: the API key secret, the Cognito option and
the Rules that refuse impossible combinations at deploy time.

The template is loaded with cfn-lint's decoder (it reads ``!Ref``/``!Sub`` tags). Conditions
and Rules are evaluated here for given parameter values with the functions CloudFormation
allows in them, so "this combination fails at deploy" is checked, not assumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from a2a_gateway.gateway.auth.apikey import _parse

ROOT = Path(__file__).resolve().parents[2]
GATEWAYS = ("GatewayFunction", "GatewayManagedFunction")
COGNITO = ("CognitoUserPool", "CognitoUserPoolDomain", "CognitoResourceServer")
COGNITO_RESOURCES = (*COGNITO, "CognitoMachineClient")
REQUIRED = {
    "TemporalAddress": "ns.acct.tmprl.cloud:7233",
    "WorkerImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/w:1",
}
# What CloudFormation accepts inside Rules (RuleCondition and Assert): Ref and the rule
# functions, nothing else (no Fn::Join, no Fn::Sub, no Fn::If).
RULE_FUNCTIONS = {
    "Ref",
    "Fn::And",
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
    "Fn::Equals",
    "Fn::Not",
    "Fn::Or",
    "Fn::RefAll",
    "Fn::ValueOf",
    "Fn::ValueOfAll",
}


def parameters(template: dict[str, Any], **overrides: str) -> dict[str, Any]:
    """Parameter values as CloudFormation sees them (a CommaDelimitedList is a list)."""
    values: dict[str, Any] = {}
    for name, parameter in template["Parameters"].items():
        raw = str({**REQUIRED, **overrides}.get(name, parameter.get("Default", "")))
        values[name] = raw.split(",") if parameter["Type"] == "CommaDelimitedList" else raw
    return values


def evaluate(node: Any, params: dict[str, Any], conditions: dict[str, Any] | None = None) -> Any:
    """The value of a condition or rule expression (the functions they may use)."""
    if not isinstance(node, dict):
        return [evaluate(n, params, conditions) for n in node] if isinstance(node, list) else node
    ((function, args),) = node.items()
    if function == "Ref":
        return params[args]
    if function == "Condition":
        assert conditions is not None, "Condition is not allowed here"
        return evaluate(conditions[args], params, conditions)
    values = [evaluate(a, params, conditions) for a in args]
    if function == "Fn::Equals":
        return values[0] == values[1]
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    if function == "Fn::Contains":
        return values[1] in values[0]
    if function == "Fn::EachMemberEquals":
        return all(v == values[1] for v in values[0])
    if function == "Fn::EachMemberIn":
        return all(v in values[1] for v in values[0])
    raise AssertionError(f"no evaluation for {function}")


def conditions_for(template: dict[str, Any], **overrides: str) -> dict[str, bool]:
    params = parameters(template, **overrides)
    conditions = template["Conditions"]
    return {name: bool(evaluate(c, params, conditions)) for name, c in conditions.items()}


def failed_rules(template: dict[str, Any], **overrides: str) -> set[str]:
    """The rules whose assertions fail for these parameter values: a deploy would stop."""
    params = parameters(template, **overrides)
    failed = set()
    for name, rule in template["Rules"].items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], params):
            continue
        if not all(evaluate(a["Assert"], params) for a in rule["Assertions"]):
            failed.add(name)
    return failed


def resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """``node`` with each Fn::If replaced by its chosen branch (None for AWS::NoValue)."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        if node == {"Ref": "AWS::NoValue"}:
            return None
        return {k: resolve(v, conditions) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(item, conditions) for item in node if resolve(item, conditions) is not None]
    return node


def mentions(node: Any, name: str) -> bool:
    return f'"{name}"' in json.dumps(node) or f"${{{name}}}" in json.dumps(node)


def functions_in(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                found.add(key)
            found |= functions_in(value)
    elif isinstance(node, list):
        for item in node:
            found |= functions_in(item)
    return found


def env(template: dict[str, Any], function: str, **overrides: str) -> dict[str, Any]:
    variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
    resolved: dict[str, Any] = resolve(variables, conditions_for(template, **overrides))
    return {k: v for k, v in resolved.items() if v is not None}


def iam_statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
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


# ------------------------------------------------------------------ Rules


def test_every_rule_uses_only_the_functions_rules_allow(template: dict[str, Any]) -> None:
    assert len(template["Rules"]) >= 6
    for name, rule in template["Rules"].items():
        parts = [rule.get("RuleCondition", {})] + [a["Assert"] for a in rule["Assertions"]]
        used = functions_in(parts)
        assert used <= RULE_FUNCTIONS, f"{name} uses {used - RULE_FUNCTIONS}"
        for assertion in rule["Assertions"]:
            assert assertion["AssertDescription"], name


@pytest.mark.parametrize(
    ("overrides", "refused_by"),
    [
        # Accepted combinations.
        ({}, set()),  # the default: iam behind an IAM-authenticated URL
        ({"GatewayAuth": "none"}, set()),
        ({"GatewayAuth": "apikey"}, set()),  # X-API-Key next to SigV4
        ({"GatewayAuth": "apikey", "FunctionUrlAuthType": "NONE"}, set()),
        (
            {
                "GatewayAuth": "jwt",
                "FunctionUrlAuthType": "NONE",
                "JwtIssuer": "https://login.example.com/",
                "JwtAudience": "a2a",
            },
            set(),
        ),
        (
            {"GatewayAuth": "jwt", "FunctionUrlAuthType": "NONE", "CreateCognitoUserPool": "true"},
            set(),
        ),
        (
            {
                "GatewayAuth": "jwt,apikey",
                "FunctionUrlAuthType": "NONE",
                "CreateCognitoUserPool": "true",
                "JwtAudience": "anotherclientid",
            },
            set(),
        ),
        ({"VpcId": "vpc-0abc", "PrivateSubnetIds": "subnet-1,subnet-2"}, set()),
        # Impossible ones.
        ({"FunctionUrlAuthType": "NONE"}, {"IamAuthNeedsAnIamUrl"}),
        ({"GatewayAuth": "none", "FunctionUrlAuthType": "NONE"}, {"NoAuthNeedsAnIamUrl"}),
        ({"GatewayAuth": "jwt", "FunctionUrlAuthType": "NONE"}, {"JwtAuthNeedsIssuerAndAudience"}),
        (
            {
                "GatewayAuth": "jwt",
                "JwtIssuer": "https://login.example.com/",
                "JwtAudience": "a2a",
            },
            {"JwtAuthNeedsAPublicUrl"},
        ),
        (
            {"GatewayAuth": "apikey", "CreateCognitoUserPool": "true"},
            {"CognitoUserPoolNeedsJwt"},
        ),
        (
            {
                "GatewayAuth": "jwt",
                "FunctionUrlAuthType": "NONE",
                "CreateCognitoUserPool": "true",
                "JwtIssuer": "https://login.example.com/",
            },
            {"CognitoUserPoolNeedsJwt"},
        ),
        ({"VpcId": "vpc-0abc"}, {"ExistingVpcNeedsSubnets"}),
        ({"VpcId": "vpc-0abc", "PrivateSubnetIds": "subnet-1,"}, {"ExistingVpcNeedsSubnets"}),
    ],
)
def test_rules_refuse_exactly_the_impossible_combinations(
    template: dict[str, Any], overrides: dict[str, str], refused_by: set[str]
) -> None:
    for name, value in overrides.items():
        allowed = template["Parameters"][name].get("AllowedValues")
        assert allowed is None or value in allowed, (name, value)
    assert failed_rules(template, **overrides) == refused_by


def test_gateway_auth_offers_every_mode(template: dict[str, Any]) -> None:
    auth = template["Parameters"]["GatewayAuth"]
    assert {"iam", "jwt", "apikey", "none"} <= set(auth["AllowedValues"])
    assert auth["Default"] == "iam"
    cognito = template["Parameters"]["CreateCognitoUserPool"]
    assert (cognito["AllowedValues"], cognito["Default"]) == (["true", "false"], "false")
    for function in GATEWAYS:
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["A2A_AUTH"] == {"Ref": "GatewayAuth"}


# ------------------------------------------------------------------ Cognito


def test_cognito_option_wires_issuer_and_client_id(template: dict[str, Any]) -> None:
    options = {"GatewayAuth": "jwt", "FunctionUrlAuthType": "NONE", "CreateCognitoUserPool": "true"}
    for function in GATEWAYS:
        variables = env(template, function, **options)
        assert variables["A2A_JWT_ISSUER"] == {
            "Fn::Sub": "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${CognitoUserPool}"
        }
        # The app client's id (Ref), plus any more client ids given in JwtAudience.
        assert variables["A2A_JWT_AUDIENCE"] == {
            "Fn::Sub": "${CognitoMachineClient},${JwtAudience}"
        }
        assert variables["A2A_JWT_AUDIENCE_CLAIM"] == "client_id"
        assert variables["A2A_JWT_PRINCIPAL_CLAIM"] == "client_id"  # a tenant per app client
    # Without the option: the parameters, checked against aud.
    plain = {"GatewayAuth": "jwt", "FunctionUrlAuthType": "NONE"}
    for function in GATEWAYS:
        variables = env(template, function, **plain)
        assert variables["A2A_JWT_ISSUER"] == {"Ref": "JwtIssuer"}
        assert variables["A2A_JWT_AUDIENCE"] == {"Ref": "JwtAudience"}
        assert variables["A2A_JWT_AUDIENCE_CLAIM"] == "aud"
        assert variables["A2A_JWT_PRINCIPAL_CLAIM"] == "sub"


@pytest.mark.parametrize(
    ("overrides", "created"),
    [
        ({"GatewayAuth": "jwt", "CreateCognitoUserPool": "true"}, True),
        ({"GatewayAuth": "jwt,apikey", "CreateCognitoUserPool": "true"}, True),
        ({"GatewayAuth": "jwt"}, False),
        ({"GatewayAuth": "iam", "CreateCognitoUserPool": "true"}, False),  # the rules refuse it
    ],
)
def test_cognito_resources_exist_only_with_the_option(
    template: dict[str, Any], overrides: dict[str, str], created: bool
) -> None:
    conditions = conditions_for(template, **overrides)
    resources = template["Resources"]
    for name in COGNITO_RESOURCES:
        assert conditions[resources[name]["Condition"]] is created, name
    outputs = {"CognitoTokenEndpoint", "CognitoClientId", "CognitoUserPoolId"}
    for name in outputs:
        assert conditions[template["Outputs"][name]["Condition"]] is created, name


def test_cognito_machine_client_uses_client_credentials(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    client = resources["CognitoMachineClient"]
    props = client["Properties"]
    assert client["Type"] == "AWS::Cognito::UserPoolClient"
    assert props["UserPoolId"] == {"Ref": "CognitoUserPool"}
    assert props["GenerateSecret"] is True
    assert props["AllowedOAuthFlows"] == ["client_credentials"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert props["AllowedOAuthScopes"] == ["a2a/invoke"]
    assert client["DependsOn"] == "CognitoResourceServer"  # the scope must exist first
    server = resources["CognitoResourceServer"]["Properties"]
    assert server["Identifier"] == "a2a"
    assert [s["ScopeName"] for s in server["Scopes"]] == ["invoke"]
    domain = resources["CognitoUserPoolDomain"]["Properties"]
    assert domain["UserPoolId"] == {"Ref": "CognitoUserPool"}
    prefix = domain["Domain"]["Fn::Sub"][0]
    assert prefix.startswith("a2a-gateway-${EnvironmentName}-")
    # Machine callers only: no self sign-up.
    pool = resources["CognitoUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_cognito_outputs_name_the_token_endpoint_not_the_secret(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["CognitoTokenEndpoint"]["Value"] == {
        "Fn::Sub": "https://${CognitoUserPoolDomain}.auth.${AWS::Region}.amazoncognito.com"
        "/oauth2/token"
    }
    assert outputs["CognitoClientId"]["Value"] == {"Ref": "CognitoMachineClient"}
    text = json.dumps(template["Outputs"])
    assert "ClientSecret" not in text
    assert "describe-user-pool-client" in outputs["CognitoClientId"]["Description"]


# ------------------------------------------------------------------ API key secret


def test_api_key_secret_is_created_with_apikey_and_retained(template: dict[str, Any]) -> None:
    secret = template["Resources"]["ApiKeysSecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"
    initial = secret["Properties"]["SecretString"]
    assert json.loads(initial) == {"keys": []} and _parse(initial) == []
    for mode, created in [
        ("apikey", True),
        ("jwt,apikey", True),
        ("jwt", False),
        ("iam", False),
        ("none", False),
    ]:
        assert conditions_for(template, GatewayAuth=mode)[secret["Condition"]] is created, mode
        for function in GATEWAYS:
            variables = env(template, function, GatewayAuth=mode)
            if created:
                assert variables["A2A_API_KEYS_SECRET"] == {"Ref": "ApiKeysSecret"}
            else:
                assert "A2A_API_KEYS_SECRET" not in variables
    output = template["Outputs"]["ApiKeysSecretArn"]
    assert output["Value"] == {"Ref": "ApiKeysSecret"}
    assert output["Condition"] == secret["Condition"]


def test_api_key_secret_is_read_by_the_gateway_functions_only(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    readers: dict[str, list[dict[str, Any]]] = {}
    for owner, statement in iam_statements(resources):
        if mentions(statement, "ApiKeysSecret"):
            readers.setdefault(owner, []).append(statement)
    assert set(readers) == set(GATEWAYS)
    conditions = conditions_for(template, GatewayAuth="apikey")
    for owner, granted in readers.items():
        (statement,) = granted
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "secretsmanager:GetSecretValue", owner
        resolved = resolve(statement["Resource"], conditions)
        assert {"Ref": "ApiKeysSecret"} in resolved
        assert all("*" not in json.dumps(r) for r in resolved)
    # Nothing else names it: not the worker (role or injected container secrets), not the
    # sender, not an output other than its own ARN.
    for name, resource in resources.items():
        if name not in (*GATEWAYS, "ApiKeysSecret"):
            assert not mentions(resource, "ApiKeysSecret"), name
    # launch.py resolves only *_SECRET_ARN variables into values at start-up; the key list
    # must stay an ARN that the gateway itself re-reads.
    for function in GATEWAYS:
        names = resources[function]["Properties"]["Environment"]["Variables"]
        assert not any(
            n.endswith("_SECRET_ARN") and mentions(v, "ApiKeysSecret") for n, v in names.items()
        )
