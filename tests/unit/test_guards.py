"""The request guards: which media types count as JSON, which Host headers are answered,
and how ``A2A_ALLOWED_HOSTS`` is read."""

from __future__ import annotations

import pytest

from a2a_gateway.config import ConfigError, Settings
from a2a_gateway.gateway.guards import HostPolicy, cors_origins, host_of, is_json, middleware


@pytest.mark.parametrize(
    "value",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON;charset=UTF-8",
        "application/a2a+json",
        " application/json ",
    ],
)
def test_json_media_types(value: str) -> None:
    assert is_json(value)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        "application/json-seq",
        "text/json",
    ],
)
def test_other_media_types_are_not_json(value: str | None) -> None:
    assert not is_json(value)


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost", "localhost"),
        ("localhost:8080", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("[::1]:8080", "[::1]"),
        ("[::1]", "[::1]"),
        ("API.Example.com", "api.example.com"),
        ("", None),
        (None, None),
        ("host:port", None),
        ("[::1", None),
        ("[::1]x", None),
        (":80", None),
    ],
)
def test_host_of(header: str | None, host: str | None) -> None:
    assert host_of(header) == host


def test_loopback_names_are_always_allowed_and_nothing_else_by_default() -> None:
    policy = HostPolicy.parse("")
    for header in ("localhost:8080", "127.0.0.1", "[::1]:9000"):
        assert policy.allows(header)
    for header in ("evil.example", "127.0.0.1.evil.example", "localhost.evil", None, "a:b"):
        assert not policy.allows(header)


def test_exact_names_and_subdomain_wildcards() -> None:
    policy = HostPolicy.parse("a2a.example.com, *.lambda-url.us-east-1.on.aws")
    assert policy.allows("a2a.example.com")
    assert policy.allows("A2A.example.com:443")
    assert policy.allows("abc123.lambda-url.us-east-1.on.aws")
    assert not policy.allows("lambda-url.us-east-1.on.aws"), "a wildcard needs a subdomain"
    assert not policy.allows("example.com")
    assert not policy.allows("abc.lambda-url.us-east-1.on.aws.evil.example")


def test_star_allows_any_host() -> None:
    policy = HostPolicy.parse("*")
    assert policy.allows("anything.example") and policy.allows(None)


@pytest.mark.parametrize("setting", ["exa mple.com", "*.*.example.com", "a*b.example.com"])
def test_a_malformed_entry_is_a_config_error_naming_it(setting: str) -> None:
    with pytest.raises(ConfigError, match="A2A_ALLOWED_HOSTS"):
        HostPolicy.parse(setting)


def test_cors_is_only_added_when_origins_are_configured() -> None:
    assert cors_origins("") == []
    assert cors_origins("https://a.example/, https://b.example") == [
        "https://a.example",
        "https://b.example",
    ]
    assert len(middleware(Settings.from_env({}))) == 1
    assert len(middleware(Settings.from_env({"A2A_CORS_ORIGINS": "https://a.example"}))) == 2
