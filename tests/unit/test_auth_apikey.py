"""ApiKeys against a real key file on disk, rewritten while the authenticator runs."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from starlette.datastructures import Headers

from a2a_gateway.gateway.auth.apikey import (
    ApiKeys,
    hash_key,
    main,
    new_entry,
    new_key,
    with_entry,
    without,
)
from a2a_gateway.gateway.auth.base import AuthError, looks_like_jwt

if TYPE_CHECKING:
    from pathlib import Path

ALICE = "alice-key-" + "a" * 30
BOB = "bob-key-" + "b" * 30
CAROL = "carol-key-" + "c" * 30
JWT_SHAPED = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


def write(path: Path, *entries: tuple[str, str, str]) -> None:
    keys = [{"sha256": hash_key(k), "principal": p, "name": n} for k, p, n in entries]
    path.write_text(json.dumps({"keys": keys}))


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    write(path, (ALICE, "alice", "ci"), (BOB, "bob", "laptop"))
    return path


async def who(keys: ApiKeys, headers: Any) -> str | None:
    identity = await keys.authenticate(headers)
    return None if identity is None else identity.principal


async def test_key_via_bearer(key_file: Path) -> None:
    identity = await ApiKeys(key_file).authenticate({"Authorization": f"Bearer {ALICE}"})
    assert identity is not None
    assert (identity.principal, identity.subject, identity.scheme) == ("alice", "ci", "apikey")
    assert identity.scopes == frozenset()


async def test_key_via_x_api_key_in_any_case(key_file: Path) -> None:
    keys = ApiKeys(key_file)
    assert await who(keys, {"X-API-Key": BOB}) == "bob"
    assert await who(keys, Headers(headers={"x-api-key": BOB})) == "bob"
    assert await who(keys, Headers(headers={"authorization": f"bearer {ALICE}"})) == "alice"


async def test_wrong_key_is_refused(key_file: Path) -> None:
    keys = ApiKeys(key_file)
    for headers in ({"X-API-Key": ALICE + "x"}, {"Authorization": "Bearer nope"}):
        with pytest.raises(AuthError) as caught:
            await keys.authenticate(headers)
        assert caught.value.reason == "invalid API key"
        assert "nope" not in str(caught.value) and ALICE not in str(caught.value)


async def test_two_different_keys_are_refused(key_file: Path) -> None:
    with pytest.raises(AuthError, match="two different API keys"):
        await ApiKeys(key_file).authenticate({"Authorization": f"Bearer {ALICE}", "X-API-Key": BOB})
    same = {"Authorization": f"Bearer {ALICE}", "X-API-Key": ALICE}
    assert await who(ApiKeys(key_file), same) == "alice"


async def test_empty_key_is_refused(key_file: Path) -> None:
    with pytest.raises(AuthError, match="empty API key"):
        await ApiKeys(key_file).authenticate({"X-API-Key": " "})


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": f"Bearer {JWT_SHAPED}"}, {"Authorization": f"Basic {ALICE}"}],
)
async def test_requests_without_an_api_key_are_not_this_schemes(
    key_file: Path, headers: dict[str, str]
) -> None:
    assert await ApiKeys(key_file).authenticate(headers) is None


async def test_jwt_bearer_with_an_x_api_key_uses_the_key(key_file: Path) -> None:
    headers = {"Authorization": f"Bearer {JWT_SHAPED}", "X-API-Key": BOB}
    assert await who(ApiKeys(key_file), headers) == "bob"


async def test_keys_are_added_and_revoked_while_running(key_file: Path) -> None:
    keys = ApiKeys(key_file, reload_seconds=0.05)
    assert await who(keys, {"X-API-Key": BOB}) == "bob"
    write(key_file, (ALICE, "alice", "ci"), (CAROL, "carol", "new"))
    await asyncio.sleep(0.1)
    assert await who(keys, {"X-API-Key": CAROL}) == "carol"
    with pytest.raises(AuthError):
        await keys.authenticate({"X-API-Key": BOB})
    assert await who(keys, {"X-API-Key": ALICE}) == "alice"


async def test_changes_are_checked_at_most_every_reload_seconds(key_file: Path) -> None:
    keys = ApiKeys(key_file, reload_seconds=60)
    write(key_file, (CAROL, "carol", "new"))
    await asyncio.sleep(0.05)
    assert await who(keys, {"X-API-Key": BOB}) == "bob"
    with pytest.raises(AuthError):
        await keys.authenticate({"X-API-Key": CAROL})


async def test_malformed_file_on_reload_keeps_the_old_keys(
    key_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = ApiKeys(key_file, reload_seconds=0.05)
    key_file.write_text('{"keys": [{"sha256": "not hex", "principal": "mallory"}]}')
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.ERROR, logger="a2a_gateway.gateway.auth.apikey"):
        assert await who(keys, {"X-API-Key": ALICE}) == "alice"
        assert await who(keys, {"X-API-Key": BOB}) == "bob"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1  # reported once, not at every check
    assert "keeping the previous 2 keys" in messages[0] and "64 hex digits" in messages[0]
    key_file.write_text("{truncated")
    await asyncio.sleep(0.1)
    assert await who(keys, {"X-API-Key": ALICE}) == "alice"
    write(key_file, (CAROL, "carol", "fixed"))  # a good file is taken again
    await asyncio.sleep(0.1)
    assert await who(keys, {"X-API-Key": CAROL}) == "carol"
    with pytest.raises(AuthError):
        await keys.authenticate({"X-API-Key": ALICE})


async def test_deleted_file_keeps_the_old_keys(key_file: Path) -> None:
    keys = ApiKeys(key_file, reload_seconds=0.05)
    key_file.unlink()
    await asyncio.sleep(0.1)
    assert await who(keys, {"X-API-Key": ALICE}) == "alice"


def test_missing_file_at_start_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"API key file .*absent\.json: no such file"):
        ApiKeys(tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{oops", "not JSON"),
        ('["a"]', "expected an object"),
        ('{"keys": [{"sha256": "ab", "principal": "x"}]}', "64 hex digits"),
        ('{"keys": [{"sha256": "' + "a" * 64 + '"}]}', "principal is missing"),
        (
            json.dumps({"keys": [{"sha256": hash_key(ALICE), "principal": p} for p in "xy"]}),
            "repeats the digest",
        ),
    ],
)
def test_malformed_file_at_start_is_a_config_error(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=problem) as caught:
        ApiKeys(path)
    assert hash_key(ALICE) not in str(caught.value)


async def test_principals_go_through_principal_id(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    write(path, (ALICE, "alice@example.com", ""))
    identity = await ApiKeys(path).authenticate({"X-API-Key": ALICE})
    expected = "h-" + hashlib.sha256(b"alice@example.com").hexdigest()[:40]
    assert identity is not None and identity.principal == expected
    assert identity.subject == "alice@example.com"  # no name: the configured principal


def test_hash_key_and_new_key() -> None:
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    first, second = new_key(), new_key()
    assert first != second and len(first) == 43
    assert not looks_like_jwt(first)
    assert hash_key(first) == hashlib.sha256(first.encode()).hexdigest()


def test_challenge(key_file: Path) -> None:
    keys = ApiKeys(key_file)
    assert keys.challenge() == 'Bearer realm="a2a-gateway"'
    assert 'error="invalid_token"' in keys.challenge(AuthError("invalid API key"))


async def test_new_entry_makes_a_key_the_file_accepts(tmp_path: Path) -> None:
    key, entry = new_entry("dave", "robot")
    assert entry == {"sha256": hash_key(key), "principal": "dave", "name": "robot"}
    assert not looks_like_jwt(key) and len(key) == 43
    path = tmp_path / "keys.json"
    path.write_text(with_entry('{"keys": []}', entry))
    assert await who(ApiKeys(path), {"X-API-Key": key}) == "dave"
    assert "name" not in new_entry("erin")[1]
    with pytest.raises(ValueError, match="principal"):
        new_entry("")


def test_with_entry_and_without_check_the_document() -> None:
    _, first = new_entry("alice", "ci")
    _, second = new_entry("alice", "laptop")
    document = with_entry(with_entry('{"keys": []}', first), second)
    assert [k["name"] for k in json.loads(document)["keys"]] == ["ci", "laptop"]
    with pytest.raises(ValueError, match="repeats the digest"):
        with_entry(document, first)
    with pytest.raises(ValueError, match="not JSON"):
        with_entry("{oops", first)
    remaining, removed = without(document, "ci")
    assert removed == 1
    assert json.loads(remaining)["keys"] == [second]
    _, nameless = new_entry("bob")
    remaining, removed = without(with_entry(remaining, nameless), "bob")  # by principal
    assert (removed, json.loads(remaining)["keys"]) == (1, [second])


def test_the_operator_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "alice", "ci"]) == 0
    out = capsys.readouterr().out.splitlines()
    key = out[0].rsplit(" ", 1)[1]
    entry = json.loads(out[1].split(": ", 1)[1])
    assert entry == {"sha256": hash_key(key), "principal": "alice", "name": "ci"}

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"keys": [entry]})))
    assert main(["add", "bob", "laptop"]) == 0
    captured = capsys.readouterr()
    keys = json.loads(captured.out)["keys"]
    bob_key = captured.err.strip().rsplit(" ", 1)[1]
    assert [k["principal"] for k in keys] == ["alice", "bob"]
    assert keys[1]["sha256"] == hash_key(bob_key) and bob_key not in captured.out

    monkeypatch.setattr("sys.stdin", io.StringIO(captured.out))
    assert main(["revoke", "ci"]) == 0
    assert [k["principal"] for k in json.loads(capsys.readouterr().out)["keys"]] == ["bob"]

    monkeypatch.setattr("sys.stdin", io.StringIO("{broken"))
    assert main(["add", "carol"]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err
