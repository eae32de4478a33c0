"""Settings, read once from the environment into one typed object.

Precedence is explicit argument > environment variable > default. A value that cannot be
parsed fails at start-up with the variable's name, not later with a ``None``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from temporalio.client import Client


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def in_lambda() -> bool:
    """Whether this process runs in AWS Lambda (the runtime sets ``AWS_LAMBDA_FUNCTION_NAME``)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts local connections."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Every knob of the gateway and the worker. Environment names are in ``ENV``."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_max_connections: int = 1000
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_api_key: str = ""
    temporal_tls: bool = False
    temporal_tls_server_name: str = ""
    temporal_tls_server_ca_cert: str = ""
    temporal_tls_client_cert: str = ""
    temporal_tls_client_key: str = ""
    routes_file: str = ""
    public_url: str = ""
    buckets: int = 64
    key_prefix: str = "a2a"
    max_body_bytes: int = 1_048_576
    heartbeat_seconds: float = 15.0
    task_ttl_seconds: int = 7 * 24 * 3600
    stream_maxlen: int = 10_000
    blocking_timeout_seconds: float = 60.0
    push_notifications: bool = False
    push_allow_private: bool = False
    push_timeout_seconds: float = 10.0
    push_retry_seconds: float = 2.0
    push_attempts: int = 6
    push_reclaim_seconds: float = 60.0
    push_state_machine_arn: str = ""
    push_signing_keys_secret: str = ""
    max_stream_seconds: float = 0.0
    deadline_margin_seconds: float = 10.0
    max_streams: int = 10_000
    subscriber_queue: int = 1000
    terminal_ttl_seconds: int = 24 * 3600
    documentation_url: str = ""
    provider_organization: str = "a2a-gateway"
    allowed_hosts: str = ""
    cors_origins: str = ""
    drain_seconds: float = 5.0
    miss_cache_seconds: int = 30
    rebuild_queries_per_second: float = 20.0
    auth: str = ""
    bind_host: str = "127.0.0.1"
    api_keys_file: str = ""
    api_keys_secret: str = ""
    api_keys_secret_reload_seconds: float = 60.0
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_audience_claim: str = "aud"
    jwks_url: str = ""
    jwt_algorithms: str = "RS256,ES256"
    jwt_leeway_seconds: float = 60.0
    jwt_principal_claim: str = "sub"
    metrics_endpoint: bool = True
    metrics_emf: bool = False
    metrics_flush_seconds: float = 60.0
    metrics_namespace: str = "A2AGateway"
    metrics_cloudwatch: bool = False
    worker_heartbeat_file: str = ""
    worker_metrics_port: int = 0
    console: bool = False
    log_level: str = "INFO"

    ENV = {
        "redis_url": "REDIS_URL",
        "redis_max_connections": "A2A_REDIS_MAX_CONNECTIONS",
        "temporal_address": "TEMPORAL_ADDRESS",
        "temporal_namespace": "TEMPORAL_NAMESPACE",
        "temporal_api_key": "TEMPORAL_API_KEY",
        "temporal_tls": "TEMPORAL_TLS",
        "temporal_tls_server_name": "TEMPORAL_TLS_SERVER_NAME",
        "temporal_tls_server_ca_cert": "TEMPORAL_TLS_SERVER_CA_CERT",
        "temporal_tls_client_cert": "TEMPORAL_TLS_CLIENT_CERT",
        "temporal_tls_client_key": "TEMPORAL_TLS_CLIENT_KEY",
        "routes_file": "A2A_ROUTES_FILE",
        "public_url": "A2A_PUBLIC_URL",
        "buckets": "A2A_BUCKETS",
        "key_prefix": "A2A_KEY_PREFIX",
        "max_body_bytes": "A2A_MAX_BODY_BYTES",
        "heartbeat_seconds": "A2A_HEARTBEAT_SECONDS",
        "task_ttl_seconds": "A2A_TASK_TTL_SECONDS",
        "stream_maxlen": "A2A_STREAM_MAXLEN",
        "blocking_timeout_seconds": "A2A_BLOCKING_TIMEOUT_SECONDS",
        "push_notifications": "A2A_PUSH_NOTIFICATIONS",
        "push_allow_private": "A2A_PUSH_ALLOW_PRIVATE",
        "push_timeout_seconds": "A2A_PUSH_TIMEOUT_SECONDS",
        "push_retry_seconds": "A2A_PUSH_RETRY_SECONDS",
        "push_attempts": "A2A_PUSH_ATTEMPTS",
        "push_reclaim_seconds": "A2A_PUSH_RECLAIM_SECONDS",
        "push_state_machine_arn": "A2A_PUSH_STATE_MACHINE_ARN",
        "push_signing_keys_secret": "A2A_PUSH_SIGNING_KEYS_SECRET",
        "max_stream_seconds": "A2A_MAX_STREAM_SECONDS",
        "deadline_margin_seconds": "A2A_DEADLINE_MARGIN_SECONDS",
        "max_streams": "A2A_MAX_STREAMS",
        "subscriber_queue": "A2A_SUBSCRIBER_QUEUE",
        "terminal_ttl_seconds": "A2A_TERMINAL_TTL_SECONDS",
        "documentation_url": "A2A_DOCUMENTATION_URL",
        "provider_organization": "A2A_PROVIDER_ORGANIZATION",
        "allowed_hosts": "A2A_ALLOWED_HOSTS",
        "cors_origins": "A2A_CORS_ORIGINS",
        "drain_seconds": "A2A_DRAIN_SECONDS",
        "miss_cache_seconds": "A2A_MISS_CACHE_SECONDS",
        "rebuild_queries_per_second": "A2A_REBUILD_QUERIES_PER_SECOND",
        "auth": "A2A_AUTH",
        "bind_host": "A2A_BIND_HOST",
        "api_keys_file": "A2A_API_KEYS_FILE",
        "api_keys_secret": "A2A_API_KEYS_SECRET",
        "api_keys_secret_reload_seconds": "A2A_API_KEYS_SECRET_RELOAD_SECONDS",
        "jwt_issuer": "A2A_JWT_ISSUER",
        "jwt_audience": "A2A_JWT_AUDIENCE",
        "jwt_audience_claim": "A2A_JWT_AUDIENCE_CLAIM",
        "jwks_url": "A2A_JWKS_URL",
        "jwt_algorithms": "A2A_JWT_ALGORITHMS",
        "jwt_leeway_seconds": "A2A_JWT_LEEWAY_SECONDS",
        "jwt_principal_claim": "A2A_JWT_PRINCIPAL_CLAIM",
        "metrics_endpoint": "A2A_METRICS_ENDPOINT",
        "metrics_emf": "A2A_METRICS_EMF",
        "metrics_flush_seconds": "A2A_METRICS_FLUSH_SECONDS",
        "metrics_namespace": "A2A_METRICS_NAMESPACE",
        "metrics_cloudwatch": "A2A_METRICS_CLOUDWATCH",
        "worker_heartbeat_file": "A2A_WORKER_HEARTBEAT_FILE",
        "worker_metrics_port": "A2A_WORKER_METRICS_PORT",
        "console": "A2A_CONSOLE",
        "log_level": "LOG_LEVEL",
    }

    @property
    def auth_modes(self) -> list[str]:
        """The accepted authentication modes (``A2A_AUTH``, comma-separated); ``none``
        when unset."""
        modes = [m.strip().lower() for m in self.auth.split(",") if m.strip()]
        return modes or ["none"]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``overrides``, then ``env`` (default ``os.environ``), then defaults."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in overrides:
                values[f.name] = overrides[f.name]
                continue
            name = cls.ENV[f.name]
            raw = source.get(name)
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(name, raw, f.type)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 1 <= self.buckets <= 16384:
            raise ConfigError("A2A_BUCKETS must be between 1 and 16384")
        if self.max_body_bytes < 1024:
            raise ConfigError("A2A_MAX_BODY_BYTES must be at least 1024")
        if self.heartbeat_seconds <= 0:
            raise ConfigError("A2A_HEARTBEAT_SECONDS must be positive")
        if self.task_ttl_seconds <= 0:
            raise ConfigError("A2A_TASK_TTL_SECONDS must be positive")
        if self.terminal_ttl_seconds <= 0:
            raise ConfigError("A2A_TERMINAL_TTL_SECONDS must be positive")
        if self.redis_max_connections < 1:
            raise ConfigError("A2A_REDIS_MAX_CONNECTIONS must be at least 1")
        if self.subscriber_queue < 1:
            raise ConfigError("A2A_SUBSCRIBER_QUEUE must be at least 1")
        if self.max_streams < 1:
            raise ConfigError("A2A_MAX_STREAMS must be at least 1")
        if self.max_stream_seconds < 0 or self.deadline_margin_seconds < 0:
            raise ConfigError("A2A_MAX_STREAM_SECONDS and A2A_DEADLINE_MARGIN_SECONDS must be >= 0")
        if self.drain_seconds < 0:
            raise ConfigError("A2A_DRAIN_SECONDS must be >= 0")
        unknown = set(self.auth_modes) - {"none", "apikey", "jwt", "iam"}
        if unknown:
            raise ConfigError(
                f"A2A_AUTH: unknown mode(s) {', '.join(sorted(unknown))}; "
                "use none, apikey, jwt or iam, comma-separated"
            )
        if not self.auth and not is_loopback(self.bind_host):
            raise ConfigError(
                f"The gateway binds to {self.bind_host}, not a loopback address, and A2A_AUTH "
                "is not set: set it to apikey, jwt or iam (or to none, explicitly, to serve "
                "without authentication)"
            )
        if self.api_keys_secret_reload_seconds <= 0:
            raise ConfigError("A2A_API_KEYS_SECRET_RELOAD_SECONDS must be positive")
        if self.miss_cache_seconds < 0:
            raise ConfigError("A2A_MISS_CACHE_SECONDS must be >= 0")
        if self.rebuild_queries_per_second <= 0:
            raise ConfigError("A2A_REBUILD_QUERIES_PER_SECOND must be positive")
        allowed = [h.strip() for h in self.allowed_hosts.split(",")]
        if "*" in allowed and not self.public_url:
            raise ConfigError(
                "A2A_ALLOWED_HOSTS=* answers to any Host: set A2A_PUBLIC_URL too, so that the "
                "cards do not take their URL from a Host header anyone can choose"
            )
        if self.push_timeout_seconds <= 0 or self.push_retry_seconds < 0:
            raise ConfigError(
                "A2A_PUSH_TIMEOUT_SECONDS must be positive and A2A_PUSH_RETRY_SECONDS >= 0"
            )
        if self.push_attempts < 1:
            raise ConfigError("A2A_PUSH_ATTEMPTS must be at least 1")
        if self.push_reclaim_seconds <= 0:
            raise ConfigError("A2A_PUSH_RECLAIM_SECONDS must be positive")
        if self.metrics_flush_seconds <= 0:
            raise ConfigError("A2A_METRICS_FLUSH_SECONDS must be positive")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")


def _parse(name: str, raw: str, kind: Any) -> Any:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    if kind_name == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name}={raw!r} is not a boolean (true/false)")
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind_name}") from None
    return raw


async def connect_temporal(settings: Settings) -> Client:
    """A Temporal client for the settings: plain locally; with an API key (Temporal Cloud)
    TLS is always on; ``temporal_tls_config`` for a self-hosted TLS or mTLS frontend."""
    from temporalio.client import Client  # noqa: PLC0415 - keeps config importable alone

    api_key = settings.temporal_api_key or None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=api_key,
        tls=temporal_tls_config(settings) or api_key is not None,
    )


def temporal_tls_config(settings: Settings) -> Any:
    """``False`` (plain), ``True`` (TLS with the system's roots) or a ``TLSConfig`` with the
    configured server CA, server name and client certificate (mTLS). Any of those turns
    TLS on; a client certificate needs its key and the key its certificate."""
    from temporalio.service import TLSConfig  # noqa: PLC0415 - keeps config importable alone

    cert, key = settings.temporal_tls_client_cert, settings.temporal_tls_client_key
    ca, name = settings.temporal_tls_server_ca_cert, settings.temporal_tls_server_name
    if bool(cert) != bool(key):
        raise ConfigError(
            "TEMPORAL_TLS_CLIENT_CERT and TEMPORAL_TLS_CLIENT_KEY must be set together (mTLS)"
        )
    if not (cert or ca or name):
        return settings.temporal_tls
    return TLSConfig(
        server_root_ca_cert=ca.encode() if ca else None,
        domain=name or None,
        client_cert=cert.encode() if cert else None,
        client_private_key=key.encode() if key else None,
    )
