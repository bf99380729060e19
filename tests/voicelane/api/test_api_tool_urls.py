"""Agent HTTP tools pass the SSRF guard: private/loopback/metadata URLs are refused with
`tool_url_not_allowed` (nothing written) unless the app allows private addresses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.voicelane.api.api_helpers import ApiUser, assert_error


def agent_with_tool(url: str) -> dict[str, Any]:
    return {"name": "Support", "tools": [{"name": "lookup", "type": "http", "url": url}]}


def test_private_tool_urls_are_refused_at_agent_creation(user: ApiUser) -> None:
    for url in ("http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:8080/book",
                "https://10.0.0.5/book", "http://[::1]/book", "http://localhost:9/book"):
        error = assert_error(user.request("POST", "/v1/agents", json=agent_with_tool(url)), 422,
                             "tool_url_not_allowed")
        assert error["details"]["tool"] == "lookup" and error["details"]["url"] == url
    assert user.request("GET", "/v1/agents").json()["data"] == []


def test_a_tool_url_changed_to_a_private_one_is_refused_and_the_agent_kept(user: ApiUser) -> None:
    created = user.request("POST", "/v1/agents", json={"name": "Support"})
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    patch = {"tools": agent_with_tool("http://192.168.1.20/book")["tools"]}
    assert_error(user.request("PATCH", f"/v1/agents/{agent_id}", json=patch), 422,
                 "tool_url_not_allowed")
    assert user.request("GET", f"/v1/agents/{agent_id}").json()["tools"] == []


def test_an_inline_agent_with_a_private_tool_url_creates_no_call(user: ApiUser) -> None:
    r = user.create_call(agent=agent_with_tool("http://169.254.169.254/latest"))
    assert_error(r, 422, "tool_url_not_allowed")
    assert user.call_ids() == []


def test_an_app_that_allows_private_addresses_may_use_loopback_tools(
    new_user: Callable[..., ApiUser],
) -> None:
    dev = new_user(allow_private_webhooks=True)
    r = dev.request("POST", "/v1/agents", json=agent_with_tool("http://127.0.0.1:8080/book"))
    assert r.status_code == 201, r.text
    assert r.json()["tools"][0]["url"] == "http://127.0.0.1:8080/book"


def test_a_session_with_an_inline_agent_with_a_private_tool_url_creates_nothing(
        user: ApiUser) -> None:
    for connection_type in ("websocket", "webrtc"):
        r = user.request("POST", "/v1/sessions", json={
            "connection_type": connection_type,
            "agent": agent_with_tool("http://169.254.169.254/latest/meta-data/")})
        error = assert_error(r, 422, "tool_url_not_allowed")
        assert error["details"]["tool"] == "lookup", error
    assert user.call_ids() == []


def test_a_session_with_a_private_webhook_url_creates_nothing(user: ApiUser) -> None:
    r = user.request("POST", "/v1/sessions", json={
        "connection_type": "websocket", "webhook_url": "http://10.0.0.7/hooks"})
    assert_error(r, 422, "webhook_url_not_allowed")
    assert user.call_ids() == []


def test_a_dev_app_session_may_use_loopback_tools(new_user: Callable[..., ApiUser]) -> None:
    dev = new_user(allow_private_webhooks=True)
    r = dev.request("POST", "/v1/sessions", json={
        "connection_type": "websocket", "webhook_url": "http://127.0.0.1:9/hooks",
        "agent": agent_with_tool("http://127.0.0.1:8080/book")})
    assert r.status_code == 201, r.text
