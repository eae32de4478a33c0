"""The console's routes over HTTP (the page itself is tested in real browsers in
``tests/browser``): off unless ``A2A_CONSOLE`` turns them on, then served with a strict
Content-Security-Policy, and ``agents.json`` lists exactly the routed agents."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.e2e.sse import message, rpc

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

PATHS = ("/console/", "/console/console.js", "/console/console.css", "/console/agents.json")


async def test_the_console_is_off_unless_asked_for(
    http: httpx.AsyncClient, gateway_url: str
) -> None:
    for path in ("/console", *PATHS):
        assert (await http.get(gateway_url + path)).status_code == 404, path


async def test_the_console_serves_its_page_and_agents(
    http: httpx.AsyncClient, start_gateway: Callable[..., str]
) -> None:
    url = start_gateway(A2A_CONSOLE="true", A2A_MAX_BODY_BYTES="65536")
    redirect = await http.get(url + "/console")
    assert redirect.status_code == 308 and redirect.headers["location"] == "console/"
    types = {}
    for path in PATHS:
        response = await http.get(url + path)
        assert response.status_code == 200, path
        types[path] = response.headers["content-type"].split(";")[0]
        if path != "/console/agents.json":
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
    assert types == {
        "/console/": "text/html",
        "/console/console.js": "text/javascript",
        "/console/console.css": "text/css",
        "/console/agents.json": "application/json",
    }
    page = (await http.get(url + "/console/")).text
    assert '<script type="module" src="console.js">' in page and "<script>" not in page
    index = (await http.get(url + "/console/agents.json")).json()
    assert [a["name"] for a in index["agents"]] == ["echo", "progress", "ask"]
    assert [a["name"] for a in index["agents"] if a["default"]] == ["echo"]
    assert index["auth"] == ["none"] and index["maxBodyBytes"] == 65536
    for agent in index["agents"]:  # each path is an endpoint, each card the agent's card
        card = (await http.get(f"{url}/{agent['card']}")).json()
        assert card["name"] == agent["name"]
        sent = await http.post(f"{url}/{agent['path']}", json=rpc("tasks/get", {"id": "none"}))
        assert sent.json()["error"]["code"] == -32001
    # Serving the page changes nothing else: the endpoints answer as before.
    done = await http.post(url + "/", json=rpc("message/send", message("hello")))
    assert done.json()["result"]["status"]["state"] == "completed"
    assert json.loads((await http.get(url + "/healthz")).text)["status"] == "ok"
