"""Settings precedence and validation."""

from __future__ import annotations

import pytest

from a2a_gateway.config import ConfigError, Settings


def test_defaults_with_empty_env() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()


def test_env_overrides_defaults() -> None:
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://example:1/2",
            "A2A_BUCKETS": "128",
            "A2A_HEARTBEAT_SECONDS": "2.5",
            "A2A_KEY_PREFIX": "x",
        }
    )
    assert settings.redis_url == "redis://example:1/2"
    assert settings.buckets == 128
    assert isinstance(settings.buckets, int)
    assert settings.heartbeat_seconds == 2.5
    assert settings.key_prefix == "x"
    # untouched values keep their defaults
    assert settings.temporal_address == Settings().temporal_address


def test_empty_env_value_means_default() -> None:
    assert Settings.from_env({"A2A_BUCKETS": ""}).buckets == Settings().buckets


def test_explicit_override_beats_env() -> None:
    settings = Settings.from_env(
        {"A2A_BUCKETS": "128", "REDIS_URL": "redis://env"}, buckets=16, redis_url="redis://arg"
    )
    assert settings.buckets == 16
    assert settings.redis_url == "redis://arg"


def test_env_none_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("A2A_BUCKETS", "33")
    assert Settings.from_env().buckets == 33


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("A2A_BUCKETS", "many"),
        ("A2A_BUCKETS", "1.5"),
        ("A2A_MAX_BODY_BYTES", "1MB"),
        ("A2A_HEARTBEAT_SECONDS", "fast"),
    ],
)
def test_unparsable_value_names_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


@pytest.mark.parametrize("raw", ["0", "-1", "16385"])
def test_buckets_out_of_range(raw: str) -> None:
    with pytest.raises(ConfigError, match="A2A_BUCKETS"):
        Settings.from_env({"A2A_BUCKETS": raw})


def test_buckets_bounds_are_inclusive() -> None:
    assert Settings.from_env({"A2A_BUCKETS": "1"}).buckets == 1
    assert Settings.from_env({"A2A_BUCKETS": "16384"}).buckets == 16384


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("A2A_MAX_BODY_BYTES", "1023"),
        ("A2A_HEARTBEAT_SECONDS", "0"),
        ("A2A_TASK_TTL_SECONDS", "-5"),
    ],
)
def test_other_range_checks(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: raw})


def test_override_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="A2A_BUCKETS"):
        Settings.from_env({}, buckets=0)


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="A2A_BUCKETS"):
        Settings.from_env({"A2A_BUCKETS": "0"})


def test_temporal_cloud_settings_are_read() -> None:
    from a2a_gateway.config import Settings

    settings = Settings.from_env({"TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"})
    assert settings.temporal_api_key == "k"
    assert settings.temporal_tls is False
    assert Settings.from_env({"TEMPORAL_TLS": "yes"}).temporal_tls is True


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "gateway.example.com"])
def test_no_authentication_on_a_public_address_refuses_to_start(host: str) -> None:
    with pytest.raises(ConfigError, match="A2A_AUTH"):
        Settings.from_env({"A2A_BIND_HOST": host})
    explicit = Settings.from_env({"A2A_BIND_HOST": host, "A2A_AUTH": "none"})
    assert explicit.auth_modes == ["none"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "[::1]", "localhost", "127.8.9.10"])
def test_loopback_needs_no_authentication_setting(host: str) -> None:
    assert Settings.from_env({"A2A_BIND_HOST": host}).auth_modes == ["none"]


def test_auth_modes_are_read_and_checked() -> None:
    assert Settings.from_env({"A2A_AUTH": " JWT, apikey "}).auth_modes == ["jwt", "apikey"]
    with pytest.raises(ConfigError, match="kerberos"):
        Settings.from_env({"A2A_AUTH": "jwt,kerberos"})


def test_api_key_secret_and_jwt_audience_claim_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.api_keys_secret, defaults.api_keys_secret_reload_seconds) == ("", 60.0)
    assert defaults.jwt_audience_claim == "aud"
    settings = Settings.from_env(
        {
            "A2A_API_KEYS_SECRET": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf",
            "A2A_API_KEYS_SECRET_RELOAD_SECONDS": "30",
            "A2A_JWT_AUDIENCE_CLAIM": "client_id",
        }
    )
    assert settings.api_keys_secret.endswith(":secret:k-AbCdEf")
    assert settings.api_keys_secret_reload_seconds == 30.0
    assert settings.jwt_audience_claim == "client_id"
    for raw in ("0", "-1"):
        with pytest.raises(ConfigError, match="A2A_API_KEYS_SECRET_RELOAD_SECONDS"):
            Settings.from_env({"A2A_API_KEYS_SECRET_RELOAD_SECONDS": raw})
    with pytest.raises(ConfigError, match="A2A_API_KEYS_SECRET_RELOAD_SECONDS"):
        Settings.from_env({"A2A_API_KEYS_SECRET_RELOAD_SECONDS": "soon"})


def test_temporal_tls_from_the_settings() -> None:
    """Plain by default; TEMPORAL_TLS alone is TLS with the system roots; a CA, a server
    name or a client certificate build a TLSConfig (mTLS needs the certificate and its key
    together)."""
    from temporalio.service import TLSConfig

    from a2a_gateway.config import temporal_tls_config

    assert temporal_tls_config(Settings.from_env(env={})) is False
    assert temporal_tls_config(Settings.from_env(env={"TEMPORAL_TLS": "true"})) is True
    mtls = temporal_tls_config(
        Settings.from_env(
            env={
                "TEMPORAL_TLS_CLIENT_CERT": "-----BEGIN CERTIFICATE-----\nc\n",
                "TEMPORAL_TLS_CLIENT_KEY": "-----BEGIN PRIVATE KEY-----\nk\n",
                "TEMPORAL_TLS_SERVER_CA_CERT": "-----BEGIN CERTIFICATE-----\nca\n",
                "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
            }
        )
    )
    assert isinstance(mtls, TLSConfig)
    assert mtls.domain == "temporal.internal"
    assert mtls.client_cert is not None and mtls.client_cert.startswith(b"-----BEGIN CERT")
    assert mtls.client_private_key is not None and mtls.server_root_ca_cert is not None
    only_cert = Settings.from_env(env={"TEMPORAL_TLS_CLIENT_CERT": "c"})
    with pytest.raises(ConfigError, match="together"):
        temporal_tls_config(only_cert)
