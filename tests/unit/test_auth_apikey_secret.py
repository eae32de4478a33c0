"""SecretApiKeys against Secrets Manager: moto for the API (the real boto3 client, the real
GetSecretValue/PutSecretValue calls), and a closed local port for an unreachable endpoint.

Keys are added and revoked by writing the secret while the authenticator runs, with a short
reload interval; a secret that cannot be read or parsed never yields an accepted key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from a2a_gateway.gateway.auth.apikey import SecretApiKeys, hash_key
from a2a_gateway.gateway.auth.base import AuthError, AuthUnavailable
from a2a_gateway.gateway.auth.chain import build

if TYPE_CHECKING:
    from collections.abc import Iterator

ALICE = "alice-key-" + "a" * 30
BOB = "bob-key-" + "b" * 30
CAROL = "carol-key-" + "c" * 30
NAME = "a2a-gateway/test/api-keys"
LOGGER = "a2a_gateway.gateway.auth.apikey"


def document(*entries: tuple[str, str, str]) -> str:
    keys = [{"sha256": hash_key(k), "principal": p, "name": n} for k, p, n in entries]
    return json.dumps({"keys": keys})


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", raising=False)


@pytest.fixture
def secrets(aws_env: None) -> Iterator[Any]:
    """A moto Secrets Manager holding the key secret (alice and bob), and its client."""
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(
            Name=NAME, SecretString=document((ALICE, "alice", "ci"), (BOB, "bob", "laptop"))
        )
        yield client


def arn(client: Any) -> str:
    return str(client.describe_secret(SecretId=NAME)["ARN"])


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING]


async def who(keys: SecretApiKeys, key: str) -> str:
    identity = await keys.authenticate({"X-API-Key": key})
    assert identity is not None
    return identity.principal


async def refused(keys: SecretApiKeys, key: str) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await keys.authenticate({"Authorization": f"Bearer {key}"})
    return caught.value


async def test_keys_are_loaded_from_the_secret_by_arn_and_by_name(secrets: Any) -> None:
    for secret_id in (arn(secrets), NAME):
        keys = SecretApiKeys(secret_id)
        identity = await keys.authenticate({"Authorization": f"Bearer {ALICE}"})
        assert identity is not None
        assert (identity.principal, identity.subject, identity.scheme) == ("alice", "ci", "apikey")
        assert await who(keys, BOB) == "bob"
        error = await refused(keys, CAROL)
        assert error.reason == "invalid API key" and not isinstance(error, AuthUnavailable)
        assert await keys.authenticate({}) is None  # no key: another scheme's request


async def test_keys_are_added_and_revoked_while_running(secrets: Any) -> None:
    keys = SecretApiKeys(arn(secrets), reload_seconds=0.05)
    assert await who(keys, BOB) == "bob"
    await refused(keys, CAROL)
    # Add carol, revoke bob: one new secret version, as an operator would put it.
    secrets.put_secret_value(
        SecretId=NAME, SecretString=document((ALICE, "alice", "ci"), (CAROL, "carol", "new"))
    )
    await asyncio.sleep(0.1)
    assert await who(keys, CAROL) == "carol"
    assert (await refused(keys, BOB)).reason == "invalid API key"
    assert await who(keys, ALICE) == "alice"
    # Revoke everything.
    secrets.put_secret_value(SecretId=NAME, SecretString='{"keys": []}')
    await asyncio.sleep(0.1)
    for key in (ALICE, CAROL):
        assert (await refused(keys, key)).reason == "invalid API key"


async def test_the_secret_is_read_at_most_every_reload_seconds(secrets: Any) -> None:
    keys = SecretApiKeys(arn(secrets), reload_seconds=60)
    assert await who(keys, BOB) == "bob"
    secrets.put_secret_value(SecretId=NAME, SecretString=document((CAROL, "carol", "new")))
    await asyncio.sleep(0.05)
    assert await who(keys, BOB) == "bob"  # the cached keys until the interval has passed
    await refused(keys, CAROL)


async def test_a_missing_secret_is_unavailable_not_accepted(aws_env: None) -> None:
    with mock_aws():
        keys = SecretApiKeys("a2a-gateway/test/absent")
        for key in (ALICE, "anything"):
            with pytest.raises(AuthUnavailable) as caught:
                await keys.authenticate({"X-API-Key": key})
            assert caught.value.reason == "cannot check API keys right now"
            assert key not in str(caught.value)


@pytest.fixture
def closed_port() -> int:
    """A local port nothing listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_endpoint_is_503_and_retried_after_a_backoff(
    aws_env: None,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No moto here: the real botocore client against a port that refuses connections."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f"http://127.0.0.1:{closed_port}")
    keys = SecretApiKeys(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:a2a-keys-AbCdEf",
        retry_seconds=0.2,
        timeout_seconds=1,
    )
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        for _ in range(3):
            with pytest.raises(AuthUnavailable):
                await keys.authenticate({"X-API-Key": ALICE})
    warnings = warnings_of(caplog)
    assert len(warnings) == 1  # one warning for the run of failures, not one per request
    message = warnings[0].getMessage()
    assert "API key requests get 503" in message and "a2a-keys-AbCdEf" in message
    assert ALICE not in caplog.text and hash_key(ALICE) not in caplog.text


async def test_fetch_errors_after_a_load_keep_the_last_good_keys(
    secrets: Any, caplog: pytest.LogCaptureFixture
) -> None:
    keys = SecretApiKeys(NAME, reload_seconds=0.05, retry_seconds=0.05)
    assert await who(keys, ALICE) == "alice"
    secrets.delete_secret(SecretId=NAME, ForceDeleteWithoutRecovery=True)
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert await who(keys, ALICE) == "alice"
        await asyncio.sleep(0.1)
        assert await who(keys, BOB) == "bob"
        assert (await refused(keys, CAROL)).reason == "invalid API key"
    (warning,) = warnings_of(caplog)  # reported once while it stays broken
    assert "keeping the previous 2 keys" in warning.getMessage()
    assert "ResourceNotFoundException" in warning.getMessage()
    # Back again (by name: a new secret has a new ARN), with carol only: taken at the
    # next retry.
    secrets.create_secret(Name=NAME, SecretString=document((CAROL, "carol", "new")))
    await asyncio.sleep(0.1)
    assert await who(keys, CAROL) == "carol"
    await refused(keys, ALICE)


@pytest.mark.parametrize(
    "broken",
    [
        "{truncated",
        '{"keys": "not a list"}',
        # One good entry next to a bad one: the whole document is refused.
        json.dumps(
            {
                "keys": [
                    {"sha256": hash_key(CAROL), "principal": "carol"},
                    {"sha256": "not hex", "principal": "mallory"},
                ]
            }
        ),
        json.dumps({"keys": [{"sha256": hash_key(CAROL)}]}),
    ],
)
async def test_no_key_is_ever_accepted_from_a_broken_secret(
    secrets: Any, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    secrets.put_secret_value(SecretId=NAME, SecretString=broken)
    keys = SecretApiKeys(NAME, reload_seconds=0.05, retry_seconds=0.05)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for key in (CAROL, ALICE):  # nothing loaded yet: 503, never accepted
            with pytest.raises(AuthUnavailable):
                await keys.authenticate({"X-API-Key": key})
    assert hash_key(CAROL) not in caplog.text
    # A good version is taken; a broken one after it keeps the good keys in force.
    secrets.put_secret_value(SecretId=NAME, SecretString=document((ALICE, "alice", "ci")))
    await asyncio.sleep(0.1)
    assert await who(keys, ALICE) == "alice"
    secrets.put_secret_value(SecretId=NAME, SecretString=broken)
    await asyncio.sleep(0.1)
    assert await who(keys, ALICE) == "alice"
    assert (await refused(keys, CAROL)).reason == "invalid API key"


class CountingFetch:
    """A fetch that counts its calls and can be held open or made to fail."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0
        self.error: Exception | None = None
        self.release = threading.Event()
        self.release.set()

    def __call__(self, secret_id: str) -> str:
        self.calls += 1
        self.release.wait(5)
        if self.error is not None:
            raise self.error
        return self.text


async def test_concurrent_requests_share_one_fetch() -> None:
    fetch = CountingFetch(document((ALICE, "alice", "ci")))
    fetch.release.clear()
    keys = SecretApiKeys("keys", fetch=fetch)
    waiting = [asyncio.ensure_future(who(keys, ALICE)) for _ in range(20)]
    await asyncio.sleep(0.05)
    fetch.release.set()
    assert await asyncio.gather(*waiting) == ["alice"] * 20
    assert fetch.calls == 1


async def test_a_refresh_in_progress_does_not_hold_up_requests() -> None:
    fetch = CountingFetch(document((ALICE, "alice", "ci")))
    keys = SecretApiKeys("keys", fetch=fetch, reload_seconds=0.05)
    assert await who(keys, ALICE) == "alice"
    await asyncio.sleep(0.1)
    fetch.release.clear()  # the next fetch hangs until released
    refreshing = asyncio.ensure_future(who(keys, ALICE))
    for _ in range(200):
        if fetch.calls == 2:
            break
        await asyncio.sleep(0.01)
    assert fetch.calls == 2
    # Meanwhile other requests are answered from the keys in force, without waiting.
    assert await asyncio.wait_for(who(keys, ALICE), timeout=0.5) == "alice"
    fetch.release.set()
    assert await refreshing == "alice"
    assert fetch.calls == 2


async def test_failed_fetches_are_retried_after_retry_seconds_only() -> None:
    fetch = CountingFetch(document((ALICE, "alice", "ci")))
    fetch.error = ConnectionError("unreachable")
    keys = SecretApiKeys("keys", fetch=fetch, retry_seconds=0.2)
    for _ in range(5):
        with pytest.raises(AuthUnavailable):
            await keys.authenticate({"X-API-Key": ALICE})
    assert fetch.calls == 1  # a flood of requests does not hammer Secrets Manager
    fetch.error = None
    await asyncio.sleep(0.25)
    assert await who(keys, ALICE) == "alice"
    assert fetch.calls == 2


def test_build_takes_exactly_one_key_source(secrets: Any, tmp_path: Any) -> None:
    auth = build(["apikey"], api_keys_secret=arn(secrets), api_keys_secret_reload_seconds=30)
    (keys,) = auth.authenticators
    assert isinstance(keys, SecretApiKeys)
    assert (keys.secret_id, keys.reload_seconds) == (arn(secrets), 30)
    path = tmp_path / "keys.json"
    path.write_text(document((ALICE, "alice", "ci")))
    with pytest.raises(ValueError, match="A2A_API_KEYS_FILE and A2A_API_KEYS_SECRET are both set"):
        build(["apikey"], api_keys_file=path, api_keys_secret=NAME)
    with pytest.raises(ValueError, match="neither A2A_API_KEYS_FILE nor A2A_API_KEYS_SECRET"):
        build(["apikey"])
    with pytest.raises(ValueError, match="A2A_API_KEYS_SECRET_RELOAD_SECONDS"):
        build(["apikey"], api_keys_secret=NAME, api_keys_secret_reload_seconds=0)
    # Not fetched at start: a broken secret is a 503 later, never a failed start.
    assert build(["apikey"], api_keys_secret="a2a-gateway/test/absent").authenticators


def test_no_region_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    with pytest.raises(ValueError, match="A2A_API_KEYS_SECRET"):
        SecretApiKeys("a2a-gateway/test/api-keys")
    # An ARN names its region.
    assert SecretApiKeys("arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf")
