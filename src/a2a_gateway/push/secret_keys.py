"""The push signing keys in AWS Secrets Manager (``A2A_PUSH_SIGNING_KEYS_SECRET``), which
only the worker, the signer, reads.

The secret holds the stored form of a ``KeySet`` (``{"keys": [private JWK, …]}``, newest
first). The template creates it holding ``{"keys": []}``: the first worker to start finds
it empty and fills it. Workers starting together agree on one generated set through Redis
(``keystore.load_or_create``, ``SET NX``), and each writes that same set with a
``ClientRequestToken`` derived from it, which Secrets Manager takes as one write. The
public keys go to the gateways through Redis (``keystore.publish``): a gateway never
reads the secret. ``rotate`` puts a new key in front and writes a new version; the
workers read the secret again every minute, and the JWKS then lists old and new.

``python -m a2a_gateway.push.secret_keys rotate SECRET_ID`` rotates from a shell with AWS
credentials. boto3 (the ``aws`` extra, in the worker image) is imported on first use.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from typing import TYPE_CHECKING, Any

from a2a_gateway.push import keystore
from a2a_gateway.push.signing import KeySet, SigningKeyError

if TYPE_CHECKING:
    from redis.asyncio import Redis


def client() -> Any:
    boto3: Any = importlib.import_module("boto3")
    return boto3.client("secretsmanager")


def _read(secrets: Any, secret_id: str) -> str:
    return str(secrets.get_secret_value(SecretId=secret_id)["SecretString"])


def _write(secrets: Any, secret_id: str, keys: KeySet) -> None:
    token = f"a2a-push-{keys.signer.kid}"[:64]  # the same set, the same token: one version
    secrets.put_secret_value(
        SecretId=secret_id, SecretString=keys.to_json(), ClientRequestToken=token
    )


def _is_empty(text: str) -> bool:
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return isinstance(document, dict) and document.get("keys") == []


async def load(redis: Redis, prefix: str, secret_id: str, secrets: Any = None) -> KeySet:
    """The key set in the secret, generated (once for everyone) if it is still empty."""
    secrets = secrets or await asyncio.to_thread(client)
    text = await asyncio.to_thread(_read, secrets, secret_id)
    if _is_empty(text):
        agreed = await keystore.load_or_create(redis, prefix)
        await asyncio.to_thread(_write, secrets, secret_id, agreed)
        text = await asyncio.to_thread(_read, secrets, secret_id)
    return KeySet.from_json(text)


def rotate(secret_id: str, secrets: Any = None) -> KeySet:
    """A new signing key in front of the secret's keys (a new version of the secret)."""
    secrets = secrets or client()
    text = _read(secrets, secret_id)
    current = None if _is_empty(text) else KeySet.from_json(text)
    rotated = current.rotated() if current is not None else KeySet.generate()
    _write(secrets, secret_id, rotated)
    return rotated


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "rotate":
        print("usage: python -m a2a_gateway.push.secret_keys rotate SECRET_ID", file=sys.stderr)
        return 2
    try:
        rotated = rotate(args[1])
    except SigningKeyError as err:
        print(f"error: the secret does not hold a key set: {err}", file=sys.stderr)
        return 1
    print(json.dumps({"signer": rotated.signer.kid, "published": [k.kid for k in rotated.keys]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
