"""Auth, tenant isolation and the agents, numbers and sessions resources over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from voicelane.container import Container

from tests.voicelane.api.api_helpers import ApiUser, assert_error, e164


def test_healthz_needs_no_key(http: httpx.Client) -> None:
    r = http.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer sk_test_" + "x" * 40},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "sk_live_" + "y" * 40},
    ],
    ids=["missing", "unknown", "malformed", "basic", "unknown-x-api-key"],
)
def test_requests_without_a_valid_key_are_401(http: httpx.Client, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/v1/calls"), ("POST", "/v1/calls"), ("GET", "/v1/agents"),
                         ("GET", "/v1/numbers"), ("POST", "/v1/sessions")):
        r = http.request(method, path, headers=headers, json={})
        assert_error(r, 401, "invalid_api_key")


def test_x_api_key_header_works(http: httpx.Client, user: ApiUser) -> None:
    r = http.get("/v1/numbers", headers={"X-API-Key": user.tenant.api_key})
    assert r.status_code == 200 and [n["number"] for n in r.json()["data"]] == [user.number]


def test_revoked_key_is_401(http: httpx.Client, user: ApiUser, container: Container) -> None:
    assert user.request("GET", "/v1/calls").status_code == 200
    container.apps.revoke_key(user.tenant.key.key_id)
    assert_error(user.request("GET", "/v1/calls"), 401, "invalid_api_key")


def test_an_app_sees_only_its_own_resources(new_user: Callable[..., ApiUser]) -> None:
    a, b = new_user(), new_user()
    agent_id = a.request("POST", "/v1/agents", json={"name": "A"}).json()["id"]
    call_id = a.create_call(agent_id=agent_id).json()["id"]
    session = a.request("POST", "/v1/sessions", json={"connection_type": "websocket"}).json()
    for method, path, code in [
        ("GET", f"/v1/calls/{call_id}", "call_not_found"),
        ("GET", f"/v1/calls/{call_id}/events", "call_not_found"),
        ("POST", f"/v1/calls/{call_id}/hangup", "call_not_found"),
        ("GET", f"/v1/agents/{agent_id}", "agent_not_found"),
        ("PATCH", f"/v1/agents/{agent_id}", "agent_not_found"),
        ("DELETE", f"/v1/agents/{agent_id}", "agent_not_found"),
        ("GET", f"/v1/numbers/{a.number}", "number_not_found"),
        ("DELETE", f"/v1/numbers/{a.number}", "number_not_found"),
        ("GET", f"/v1/sessions/{session['id']}", "session_not_found"),
    ]:
        kw: dict[str, Any] = {"json": {"name": "stolen"}} if method == "PATCH" else {}
        assert_error(b.request(method, path, **kw), 404, code)
    # B cannot use A's number or agent either
    assert_error(b.create_call(**{"from": a.number}), 422, "from_number_not_owned")
    assert_error(b.create_call(agent_id=agent_id), 422, "agent_not_found")
    assert b.call_ids() == [] and b.request("GET", "/v1/agents").json()["data"] == []
    assert [n["number"] for n in b.request("GET", "/v1/numbers").json()["data"]] == [b.number]
    # and A's resources are untouched
    assert a.request("GET", f"/v1/agents/{agent_id}").json()["name"] == "A"
    assert a.request("GET", f"/v1/calls/{call_id}").json()["status"] == "queued"
    assert a.request("GET", f"/v1/numbers/{a.number}").status_code == 200


def test_agent_crud_and_ranges(user: ApiUser) -> None:
    r = user.request("POST", "/v1/agents", json={
        "name": "Support", "system_prompt": "Be brief.", "temperature": 0.3, "first_speaker": "user",
        "max_duration_s": 900, "inactivity_timeout_s": 20, "inactivity_action": "hangup",
        "recording": True, "engines": {"tts": "espeak"},
        "tools": [{"name": "end_call", "type": "end_call"}]})
    assert r.status_code == 201, r.text
    agent = r.json()
    assert agent["id"].startswith("agent_") and agent["temperature"] == 0.3
    assert agent["engines"] == {"stt": "local", "llm": "scripted", "tts": "espeak"}
    patched = user.request("PATCH", f"/v1/agents/{agent['id']}", json={"greeting": "Hello"})
    assert patched.status_code == 200 and patched.json()["greeting"] == "Hello"
    assert patched.json()["system_prompt"] == "Be brief."
    for bad in ({"temperature": 1.5}, {"max_duration_s": 7201}, {"inactivity_timeout_s": 5},
                {"first_speaker": "nobody"}, {"unknown": 1}):
        assert_error(user.request("PATCH", f"/v1/agents/{agent['id']}", json=bad), 422,
                     "validation_error")
        assert_error(user.request("POST", "/v1/agents", json=bad), 422, "validation_error")
    assert user.request("GET", f"/v1/agents/{agent['id']}").json()["temperature"] == 0.3
    assert [a["id"] for a in user.request("GET", "/v1/agents").json()["data"]] == [agent["id"]]
    assert user.request("DELETE", f"/v1/agents/{agent['id']}").status_code == 204
    assert_error(user.request("GET", f"/v1/agents/{agent['id']}"), 404, "agent_not_found")


def test_numbers(user: ApiUser, new_user: Callable[..., ApiUser]) -> None:
    other = new_user()
    assert_error(other.request("POST", "/v1/numbers", json={"number": user.number}), 409,
                 "number_taken")
    assert_error(user.request("POST", "/v1/numbers", json={"number": "0800 123"}), 422,
                 "invalid_phone_number")
    assert_error(user.request("POST", "/v1/numbers", json={"number": e164(), "agent_id": "agent_x"}),
                 422, "agent_not_found")
    assert user.request("DELETE", f"/v1/numbers/{user.number}").status_code == 204
    assert_error(user.request("GET", f"/v1/numbers/{user.number}"), 404, "number_not_found")
    assert user.request("GET", "/v1/numbers").json()["data"] == []


def test_sessions(user: ApiUser) -> None:
    r = user.request("POST", "/v1/sessions", json={"connection_type": "websocket", "sample_rate": 8000})
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["id"].startswith("sess_") and session["token"]
    assert session["sample_rate"] == 8000 and session["status"] == "queued"
    assert session["connect_url"].endswith(f"/websocket/{session['id']}")
    got = user.request("GET", f"/v1/sessions/{session['id']}").json()
    assert got["token"] is None and got["call_id"] == session["call_id"]
    call = user.request("GET", f"/v1/calls/{session['call_id']}").json()
    assert (call["from_channel"], call["session_id"]) == ("websocket", session["id"])
    assert_error(user.request("POST", "/v1/sessions", json={"connection_type": "websocket",
                                                             "sample_rate": 11025}),
                 422, "validation_error")
    assert_error(user.request("GET", "/v1/sessions/sess_nope"), 404, "session_not_found")


def test_an_agent_patch_takes_every_agent_field(user: ApiUser) -> None:
    """PATCH accepts each field POST does (AgentPatch once lacked `dtmf_events`)."""
    from voicelane.contracts.agents import AgentPatch
    from voicelane.domain.agent import AgentSpec

    assert set(AgentPatch.model_fields) == set(AgentSpec.model_fields)
    agent = user.request("POST", "/v1/agents", json={"name": "IVR"}).json()
    assert agent["dtmf_events"] == "masked"
    patched = user.request("PATCH", f"/v1/agents/{agent['id']}", json={"dtmf_events": "digits"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["dtmf_events"] == "digits"
    assert_error(user.request("PATCH", f"/v1/agents/{agent['id']}", json={"dtmf_events": "all"}),
                 422, "validation_error")
