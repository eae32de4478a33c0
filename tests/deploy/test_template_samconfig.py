"""``samconfig.toml`` and the guide's commands deploy what they say (issue 12, defects 3, 4
and 6).

A command-line ``--parameter-overrides`` replaces the samconfig list rather than merging
with it (aws/aws-sam-cli#2380), so every deployable environment must list every parameter
without a default itself, and no command in ``docs/deploy.md`` may pass overrides to
``sam deploy``. Environments that deploy separately must not share an ``EnvironmentName``
(it names the stack's resources).
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMCONFIG = ROOT / "samconfig.toml"
GUIDE = ROOT / "docs" / "deploy.md"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
PLACEHOLDER = re.compile(r"<[^<>]+>")


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    with SAMCONFIG.open("rb") as handle:
        return tomllib.load(handle)


def overrides(entries: str | list[str]) -> dict[str, str]:
    """``parameter_overrides`` as SAM CLI reads it: ``Key=value`` or ``Key="value"`` items
    (a string of them separated by spaces, or a list)."""
    items = entries if isinstance(entries, list) else re.findall(r'\S+="[^"]*"|\S+', entries)
    parsed = {}
    for item in items:
        key, sep, value = item.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z0-9]+", key), item
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        assert key not in parsed, f"{key} twice"
        parsed[key] = value
    return parsed


def deploy_environments(samconfig: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Environments with a deploy section: their merged global + deploy parameters."""
    found = {}
    for env, commands in samconfig.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        params = {
            **commands.get("global", {}).get("parameters", {}),
            **commands["deploy"]["parameters"],
        }
        found[env] = params
    return found


def accepted(parameter: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation accepts ``value`` for ``parameter`` (its constraints)."""
    if "AllowedValues" in parameter and value not in [str(v) for v in parameter["AllowedValues"]]:
        return False
    if "AllowedPattern" in parameter and not re.fullmatch(parameter["AllowedPattern"], value):
        return False
    if parameter["Type"] == "Number":
        try:
            number = float(value)
        except ValueError:
            return False
        if number < parameter.get("MinValue", number) or number > parameter.get("MaxValue", number):
            return False
    return True


def test_environment_name_has_no_default(template: dict[str, Any]) -> None:
    assert "Default" not in template["Parameters"]["EnvironmentName"]


def test_every_environment_is_complete_and_distinct(
    template: dict[str, Any], samconfig: dict[str, Any]
) -> None:
    environments = deploy_environments(samconfig)
    assert {"dev", "prod"} <= set(environments)
    required = {n for n, p in template["Parameters"].items() if "Default" not in p}
    assert {"EnvironmentName", "TemporalAddress", "WorkerImageUri"} <= required
    names: dict[str, str] = {}
    stacks: dict[str, str] = {}
    for env, params in environments.items():
        values = overrides(params["parameter_overrides"])
        missing = required - set(values)
        assert not missing, f"[{env}] lacks {sorted(missing)}"
        unknown = set(values) - set(template["Parameters"])
        assert not unknown, f"[{env}] sets unknown parameters {sorted(unknown)}"
        for key, value in values.items():
            parameter = template["Parameters"][key]
            if PLACEHOLDER.search(value):
                # To be filled in: must stop the deploy if it is not.
                assert not accepted(parameter, value), f"[{env}] {key}={value} would deploy"
            else:
                assert accepted(parameter, value), f"[{env}] {key}={value} is refused"
        assert params["stack_name"] not in stacks, f"{env} and {stacks[params['stack_name']]}"
        stacks[params["stack_name"]] = env
        name = values["EnvironmentName"]
        assert name not in names, f"{env} and {names.get(name)} share EnvironmentName={name}"
        names[name] = env
        assert "CAPABILITY_AUTO_EXPAND" in params["capabilities"]  # the two transforms
    assert overrides(environments["prod"]["parameter_overrides"])["EnvironmentName"] == "prod"
    # A bare `sam deploy` must not deploy a third, unnamed copy.
    assert "deploy" not in samconfig.get("default", {})


def test_sam_cli_reads_the_lists_the_same_way(samconfig: dict[str, Any]) -> None:
    """SAM CLI's own parser (from .venv-sam, which `make test` installs) agrees with ours."""
    if not SAM_PYTHON.exists():
        pytest.skip("no .venv-sam (make sam-install)")
    script = (
        "import json, sys\n"
        "from samcli.lib.config.samconfig import SamConfig\n"
        "from samcli.cli.types import CfnParameterOverridesType\n"
        "config = SamConfig(sys.argv[1], 'samconfig.toml')\n"
        "out = {}\n"
        "for env in sys.argv[2:]:\n"
        "    raw = config.get_all(['deploy'], 'parameters', env)['parameter_overrides']\n"
        "    out[env] = dict(CfnParameterOverridesType().convert(raw, None, None))\n"
        "print(json.dumps(out))\n"
    )
    environments = deploy_environments(samconfig)
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", script, str(ROOT), *environments],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    for env, params in environments.items():
        assert parsed[env] == overrides(params["parameter_overrides"]), env


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.DOTALL)


def test_the_guide_deploys_without_command_line_overrides() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    commands = []
    for block in code_blocks(guide):
        joined = re.sub(r"\\\n\s*", " ", block)  # continuation lines
        commands += [line for line in joined.splitlines() if re.search(r"\bsam deploy\b", line)]
    assert commands, "the guide has no sam deploy command"
    for command in commands:
        assert "--parameter-overrides" not in command, command
        assert "--config-env" in command or "--guided" in command, command


def test_the_guide_states_the_concurrency_quota_for_prod(
    template: dict[str, Any], samconfig: dict[str, Any]
) -> None:
    prod = overrides(deploy_environments(samconfig)["prod"]["parameter_overrides"])
    reserved = int(prod["GatewayReservedConcurrency"])
    needed = reserved + 100  # Lambda keeps 100 of the account's concurrency unreserved
    guide = GUIDE.read_text(encoding="utf-8")
    prerequisites = guide[guide.index("## Prerequisites") : guide.index("## 1.")]
    assert "quota" in prerequisites and str(needed) in prerequisites
    assert str(reserved) in prerequisites
    description = template["Parameters"]["GatewayReservedConcurrency"]["Description"]
    assert "quota" in description and "+ 100" in description and str(needed) in description


def test_the_guide_grants_both_function_url_actions() -> None:
    """A function URL created since October 2025 needs lambda:InvokeFunctionUrl and
    lambda:InvokeFunction; with Managed Instances the URL is on the alias."""
    guide = GUIDE.read_text(encoding="utf-8")
    policies = []
    for block in code_blocks(guide):
        if "InvokeFunctionUrl" in block and block.lstrip().startswith("{"):
            policies.append(json.loads(block))
    assert policies, "the guide shows no IAM policy for SigV4 callers"
    for policy in policies:
        for statement in policy["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            assert {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"} <= set(actions)
            resources = statement["Resource"]
            assert any(r.endswith(":*") for r in resources), "the alias (Managed Instances)"
    # Wherever the guide names the URL action, it names the other one too.
    for line in guide.splitlines():
        if "lambda:InvokeFunctionUrl" in line and "sam deploy" not in line:
            assert "lambda:InvokeFunction`" in line or '"lambda:InvokeFunction"' in line, line
