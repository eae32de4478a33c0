"""``functions/gateway/launch.py``: secrets by ARN into the environment, password into the URL.

Secrets Manager is moto; the secret is created under the name ``template.yaml`` gives the
cache user's secret, with the same JSON shape (``username``/``password``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from cfnlint.decode import decode_str
from moto import mock_aws

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_launch() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gateway_launch", ROOT / "functions" / "gateway" / "launch.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


launch = load_launch()


@pytest.fixture
def cache_secret_arn(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    template, errors = decode_str((ROOT / "template.yaml").read_text(encoding="utf-8"))
    assert not errors and isinstance(template, dict)
    name = template["Resources"]["CacheUserSecret"]["Properties"]["Name"]["Fn::Sub"]
    with mock_aws():
        client = boto3.client("secretsmanager")
        secret = json.dumps({"username": "a2a-gateway", "password": "s3cr3t/with+chars"})
        yield client.create_secret(
            Name=name.replace("${EnvironmentName}", "test"), SecretString=secret
        )["ARN"]


def test_reads_secrets_and_completes_the_redis_url(cache_secret_arn: str) -> None:
    env = {
        "REDIS_URL": "rediss://a2a-gateway@cache.example:6379/0",
        "REDIS_PASSWORD_SECRET_ARN": cache_secret_arn,
        "REDIS_PASSWORD_SECRET_KEY": "password",
    }
    launch.prepare(env)
    assert env["REDIS_PASSWORD"] == "s3cr3t/with+chars"
    assert env["REDIS_URL"] == "rediss://a2a-gateway:s3cr3t%2Fwith%2Bchars@cache.example:6379/0"


def test_a_missing_secret_stops_start_up_with_its_name(cache_secret_arn: str) -> None:
    env = {"TEMPORAL_API_KEY_SECRET_ARN": cache_secret_arn + "-gone"}
    with pytest.raises(launch.LaunchError, match="TEMPORAL_API_KEY_SECRET_ARN"):
        launch.prepare(env)


def test_a_missing_json_key_is_named(cache_secret_arn: str) -> None:
    env = {"X_SECRET_ARN": cache_secret_arn, "X_SECRET_KEY": "nope"}
    with pytest.raises(launch.LaunchError, match="nope"):
        launch.prepare(env)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rediss://u@h:6379/0", "rediss://u:p%40ss@h:6379/0"),
        ("rediss://u:already@h:6379/0", "rediss://u:already@h:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_password_goes_only_where_a_user_has_none(url: str, expected: str) -> None:
    assert launch.with_password(url, "p@ss") == expected


def test_without_secrets_nothing_is_fetched() -> None:
    def fetch(arn: str) -> str:
        raise AssertionError("no fetch expected")

    env = {"REDIS_URL": "redis://127.0.0.1:6379/0", "EMPTY_SECRET_ARN": ""}
    launch.prepare(env, fetch)
    assert env == {"REDIS_URL": "redis://127.0.0.1:6379/0", "EMPTY_SECRET_ARN": ""}
