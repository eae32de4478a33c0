"""The push signing keys in Secrets Manager (moto) with a real Valkey: workers starting on
an empty secret agree on one key set and write it once; a rotation adds a key in front;
the public half reaches the gateways through Redis, and a gateway serves it."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from a2a_gateway.gateway.jwks import PublishedKeys
from a2a_gateway.push import keystore, secret_keys

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from redis.asyncio import Redis


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    name = f"sk-{uuid.uuid4().hex[:10]}"
    yield name
    found = [key async for key in redis.scan_iter(match=f"{name}:*")]
    if found:
        await redis.delete(*found)


@pytest.fixture
def secrets() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        created = client.create_secret(Name="push-keys", SecretString='{"keys": []}')
        yield client, str(created["ARN"])


async def test_workers_on_an_empty_secret_agree_on_one_key_set(
    redis: Redis, prefix: str, secrets: tuple[Any, str]
) -> None:
    client, arn = secrets
    loaded = await asyncio.gather(*(secret_keys.load(redis, prefix, arn, client) for _ in range(6)))
    assert len({s.signer.kid for s in loaded}) == 1
    stored = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
    assert [len(stored["keys"])] == [1]
    versions = client.list_secret_version_ids(SecretId=arn)["Versions"]
    assert len(versions) == 2  # the placeholder and one write, however many workers


async def test_rotation_adds_a_key_and_the_gateways_serve_old_and_new(
    redis: Redis, prefix: str, secrets: tuple[Any, str]
) -> None:
    client, arn = secrets
    first = await secret_keys.load(redis, prefix, arn, client)
    await keystore.publish(redis, prefix, first)
    gateway = PublishedKeys(redis, prefix, cache_seconds=0)
    assert [k["kid"] for k in (await gateway.document())["keys"]] == [first.signer.kid]
    rotated = secret_keys.rotate(arn, client)
    again = await secret_keys.load(redis, prefix, arn, client)
    assert [k.kid for k in again.keys] == [rotated.signer.kid, first.signer.kid]
    await keystore.publish(redis, prefix, again)
    served = (await gateway.document())["keys"]
    assert [k["kid"] for k in served] == [rotated.signer.kid, first.signer.kid]
    assert all("d" not in k for k in served)  # the gateway gets the public half only


def test_the_rotate_command(
    secrets: tuple[Any, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, arn = secrets
    assert secret_keys.main(["rotate"]) == 2
    monkeypatch.setattr(secret_keys, "client", lambda: client)
    assert secret_keys.main(["rotate", arn]) == 0
    assert secret_keys.main(["rotate", arn]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines[1]["published"]) == 2 and lines[1]["published"][1] == lines[0]["signer"]
