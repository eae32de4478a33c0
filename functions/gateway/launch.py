"""Start a Python module after putting the deployment's secrets into the environment.

``python launch.py MODULE [ARGS...]`` runs ``MODULE`` as ``python -m MODULE ARGS...`` would,
in this process, once the environment is complete:

* every ``<NAME>_SECRET_ARN`` variable is read from AWS Secrets Manager into ``<NAME>``
  (``<NAME>_SECRET_KEY`` picks one key of a JSON secret). The gateway function uses this:
  its configuration holds only ARNs, never the values. On ECS the task definition injects
  the values itself, so nothing is fetched there.
* a ``REDIS_PASSWORD`` is added to a ``REDIS_URL`` that names a user but no password
  (``rediss://user@host:6379/0``), so the package only needs ``REDIS_URL``.

A secret that cannot be read stops start-up with the variable's name, before the app
listens: the adapter then reports an init error instead of serving requests that fail.
Used by the gateway's ``run.sh`` and by the worker image (``worker/Dockerfile``).
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Callable, MutableMapping
from urllib.parse import quote, urlsplit, urlunsplit

SUFFIX = "_SECRET_ARN"

Fetch = Callable[[str], str]


class LaunchError(RuntimeError):
    """The environment could not be completed; the message names the variable."""


def secrets_manager_fetch(arn: str) -> str:
    """The SecretString of ``arn`` (boto3 is part of the Lambda Python runtime)."""
    import boto3  # noqa: PLC0415 - only needed when a secret is configured

    client = boto3.client("secretsmanager")
    value = client.get_secret_value(SecretId=arn)["SecretString"]
    return str(value)


def resolve_secrets(env: MutableMapping[str, str], fetch: Fetch) -> list[str]:
    """Set ``<NAME>`` from ``<NAME>_SECRET_ARN`` for every such variable; return the names."""
    resolved = []
    for variable in sorted(env):
        if not variable.endswith(SUFFIX) or not env[variable]:
            continue
        name = variable[: -len(SUFFIX)]
        try:
            value = fetch(env[variable])
        except Exception as exc:
            raise LaunchError(f"cannot read {variable}: {exc}") from exc
        key = env.get(f"{name}_SECRET_KEY", "")
        if key:
            try:
                value = str(json.loads(value)[key])
            except (ValueError, KeyError, TypeError):
                raise LaunchError(f"{variable}: the secret has no JSON key {key!r}") from None
        env[name] = value
        resolved.append(name)
    return resolved


def with_password(url: str, password: str) -> str:
    """``url`` with ``password`` added when it names a user without one; else unchanged."""
    parts = urlsplit(url)
    if not password or parts.username is None or parts.password is not None:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def prepare(env: MutableMapping[str, str], fetch: Fetch = secrets_manager_fetch) -> None:
    """Complete ``env`` in place: secrets first, then the Redis URL."""
    resolve_secrets(env, fetch)
    if env.get("REDIS_URL") and env.get("REDIS_PASSWORD"):
        env["REDIS_URL"] = with_password(env["REDIS_URL"], env["REDIS_PASSWORD"])


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: launch.py MODULE [ARGS...]")
    try:
        prepare(os.environ)
    except LaunchError as exc:
        raise SystemExit(f"launch: {exc}") from None
    module, args = argv[0], argv[1:]
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
