"""Who may use which agent, the extended card, and the audit log (issue 11), against the
real stack.

The routing file limits ``progress`` to the principal alice and ``ask`` to callers holding
the JWT scope ``ask-users``; ``echo`` is open to every authenticated caller and lists an
extended skill. A caller an agent's rule does not name gets HTTP 403 on every protocol
endpoint of that agent (before any task is looked at) and no extended card; the others
get the card with the extra skill in every binding. Every protocol request writes one
JSON audit line without any credential."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from a2a_gateway.routing import BUILTIN_ROUTES
from tests.conftest import TEST_LIMITS
from tests.e2e.sse import events, message, rpc
from tests.unit.auth_issuer import AUDIENCE, issuer_with_one_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    import httpx

V1 = {"A2A-Version": "1.0"}
SECRET_SKILL = {
    "id": "echo-backstage",
    "name": "Backstage echo",
    "description": "Only in the extended card.",
    "tags": ["internal"],
}


@dataclass(frozen=True)
class Site:
    """A gateway with access rules; ``headers[who]`` makes a request ``who``'s."""

    url: str
    headers: dict[str, dict[str, str]]
    log: Path
    secrets: list[str]


def routes() -> dict[str, Any]:
    agents = []
    for builtin in BUILTIN_ROUTES["agents"]:
        agent = dict(builtin)
        if agent["name"] == "progress":
            agent["access"] = {"principals": ["alice"]}
        elif agent["name"] == "ask":
            agent["access"] = {"scopes": ["ask-users"]}
        else:
            agent["extendedSkills"] = [SECRET_SKILL]
        agents.append(agent)
    return {**BUILTIN_ROUTES, "agents": agents, "limits": TEST_LIMITS}


@pytest.fixture
def site(start_gateway: Callable[..., str], tmp_path: Path) -> Iterator[Site]:
    """alice and bob by API key; carol by a JWT with the scope ``ask-users``; dave by a
    JWT without it; anonymous callers are admitted too (``none``)."""
    keys = {"alice": "alice-" + uuid.uuid4().hex, "bob": "bob-" + uuid.uuid4().hex}
    entries = [
        {"sha256": hashlib.sha256(k.encode()).hexdigest(), "principal": who, "name": who}
        for who, k in keys.items()
    ]
    (tmp_path / "keys.json").write_text(json.dumps({"keys": entries}))
    (tmp_path / "routes.json").write_text(json.dumps(routes()))
    with issuer_with_one_key() as issuer:
        url = start_gateway(
            A2A_AUTH="apikey,jwt,none",
            A2A_API_KEYS_FILE=str(tmp_path / "keys.json"),
            A2A_JWT_ISSUER=issuer.url,
            A2A_JWT_AUDIENCE=AUDIENCE,
            A2A_ROUTES_FILE=str(tmp_path / "routes.json"),
        )
        carol = issuer.token("k1", sub="carol", scope="openid ask-users")
        dave = issuer.token("k1", sub="dave", scope="openid")
        headers = {
            "alice": {"X-API-Key": keys["alice"]},
            "bob": {"Authorization": f"Bearer {keys['bob']}"},
            "carol": {"Authorization": f"Bearer {carol}"},
            "dave": {"Authorization": f"Bearer {dave}"},
            "anonymous": {},
        }
        yield Site(url, headers, tmp_path / "gateway.log", [*keys.values(), carol, dave])


def forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert "www-authenticate" not in response.headers


async def test_an_agent_refuses_callers_its_rule_does_not_name_in_every_binding(
    http: httpx.AsyncClient, site: Site
) -> None:
    progress, ask = site.url + "/agents/progress", site.url + "/agents/ask/"
    for who in ("bob", "carol", "anonymous"):
        h = site.headers[who]
        legacy = await http.post(progress, json=rpc("tasks/get", {"id": "x"}), headers=h)
        forbidden(legacy)
        assert legacy.json()["error"]["code"] == -32000
        assert legacy.json()["error"]["data"] == {"agent": "progress"}
        v1 = await http.post(progress, json=rpc("GetTask", {"id": "x"}), headers={**h, **V1})
        forbidden(v1)
        assert v1.json()["error"]["data"][0]["reason"] == "PERMISSION_DENIED"
        rest = await http.get(progress + "/tasks/x", headers=h)
        forbidden(rest)
        assert rest.json()["error"]["status"] == "PERMISSION_DENIED"
        stream = await http.post(
            progress, json=rpc("message/stream", message("steps=1")), headers=h
        )
        forbidden(stream)
        card = await http.get(progress + "/extendedAgentCard", headers=h)
        forbidden(card)
        legacy_card = await http.get(progress + "/agent/authenticatedExtendedCard", headers=h)
        forbidden(legacy_card)
    # the same 403 whether or not the task exists: alice's task is not revealed to bob
    mine = await http.post(
        progress, json=rpc("message/send", message("steps=1")), headers=site.headers["alice"]
    )
    task_id = mine.json()["result"]["id"]
    assert mine.json()["result"]["status"]["state"] == "completed"
    theirs = await http.post(
        progress, json=rpc("tasks/get", {"id": task_id}), headers=site.headers["bob"]
    )
    forbidden(theirs)
    assert (
        theirs.json()["error"]
        == (
            await http.post(
                progress, json=rpc("tasks/get", {"id": "x"}), headers=site.headers["bob"]
            )
        ).json()["error"]
    )
    # by scope: carol may use ask, dave (no scope) and alice (a key, no scopes) may not
    reply = await http.post(
        ask, json=rpc("message/send", message("hi")), headers=site.headers["carol"]
    )
    assert reply.json()["result"]["status"]["state"] == "input-required"
    for who in ("dave", "alice"):
        forbidden(
            await http.post(ask, json=rpc("message/send", message("hi")), headers=site.headers[who])
        )
    # public cards stay public
    assert (await http.get(progress + "/.well-known/agent-card.json")).status_code == 200
    # an unknown agent is still 404 (after authentication), not 403
    ghost = await http.post(
        site.url + "/agents/ghost", json=rpc("tasks/get", {"id": "x"}), headers=site.headers["bob"]
    )
    assert ghost.status_code == 404


async def test_the_extended_card_in_every_binding(http: httpx.AsyncClient, site: Site) -> None:
    echo = site.url + "/agents/echo"
    public = (await http.get(echo + "/.well-known/agent-card.json")).json()
    assert public["supportsAuthenticatedExtendedCard"] is True
    assert public["capabilities"]["extendedAgentCard"] is True
    assert "echo-backstage" not in [s["id"] for s in public["skills"]]
    for who in ("alice", "bob", "carol"):
        h = site.headers[who]
        cards = [
            (await http.get(echo + "/agent/authenticatedExtendedCard", headers=h)).json(),
            (await http.get(echo + "/extendedAgentCard", headers=h)).json(),
            (
                await http.post(echo, json=rpc("agent/getAuthenticatedExtendedCard", {}), headers=h)
            ).json()["result"],
            (
                await http.post(echo, json=rpc("GetExtendedAgentCard", {}), headers={**h, **V1})
            ).json()["result"],
        ]
        for card in cards:
            assert card["name"] == "echo"
            skills = [s["id"] for s in card["skills"]]
            assert skills == ["echo", "echo-backstage"], (who, skills)
    # params may be left out of the 0.3 method
    bare = {"jsonrpc": "2.0", "id": 1, "method": "agent/getAuthenticatedExtendedCard"}
    answer = await http.post(echo, json=bare, headers=site.headers["alice"])
    assert answer.json()["result"]["name"] == "echo"
    # an anonymous caller (admitted by `none`) has not proved who they are: 401
    anonymous = await http.get(echo + "/agent/authenticatedExtendedCard")
    assert anonymous.status_code == 401
    assert "www-authenticate" in anonymous.headers
    rpc_anonymous = await http.post(echo, json=rpc("GetExtendedAgentCard", {}), headers=V1)
    assert rpc_anonymous.status_code == 401
    assert rpc_anonymous.json()["error"]["data"][0]["reason"] == "UNAUTHENTICATED"
    assert "www-authenticate" in rpc_anonymous.headers


async def test_every_request_writes_one_audit_line_without_secrets(
    http: httpx.AsyncClient, site: Site
) -> None:
    progress = site.url + "/agents/progress/"
    stream = await events(
        http,
        progress,
        rpc("message/stream", message("steps=2 interval=0.1")),
        site.headers["alice"],
    )
    task_id = stream[0].result["id"]
    got = await http.post(
        progress, json=rpc("tasks/get", {"id": task_id}), headers=site.headers["alice"]
    )
    request_id = got.headers["x-request-id"]
    await http.post(progress, json=rpc("tasks/get", {"id": task_id}), headers=site.headers["bob"])
    await http.get(progress + f"tasks/{task_id}", headers=site.headers["alice"])
    await http.post(progress, json=rpc("tasks/get", {"id": "x"}), headers={"X-API-Key": "wrong"})
    await http.get(site.url + "/healthz")
    await http.get(progress + ".well-known/agent-card.json")

    text = site.log.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]
    by_id = {line["requestId"]: line for line in lines}
    assert len(by_id) == len(lines)  # one line per request
    assert len(lines) == 5  # cards and health are not audited
    fields = {
        "time",
        "requestId",
        "principal",
        "scheme",
        "agent",
        "method",
        "taskId",
        "version",
        "status",
        "code",
        "durationMs",
    }
    assert all(set(line) == fields for line in lines)
    streamed, read, refused, rest, unauthenticated = lines
    assert streamed["method"] == "message/stream" and streamed["principal"] == "alice"
    assert streamed["status"] == 200 and streamed["code"] == 0
    assert streamed["durationMs"] >= 100  # written when the stream ended
    assert by_id[request_id] == read
    assert read["taskId"] == task_id and read["agent"] == "progress" and read["scheme"] == "apikey"
    assert refused["principal"] == "bob" and refused["status"] == 403 and refused["code"] == -32000
    assert rest["method"] == "GetTask" and rest["taskId"] == task_id and rest["version"] == "1.0"
    assert unauthenticated["status"] == 401 and unauthenticated["principal"] == ""
    for secret in [*site.secrets, "wrong", "steps=2"]:
        assert secret not in text
