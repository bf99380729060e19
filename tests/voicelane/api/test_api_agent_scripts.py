"""An agent's script is checked against its tools and itself when it is saved (422, nothing
written): a script that calls a tool the agent lacks failed only on a call (`unknown_tool`)."""

from __future__ import annotations

from typing import Any

from tests.voicelane.api.api_helpers import ApiUser, assert_error

END_CALL = {"name": "end_call", "type": "end_call"}


def script(tool: str = "end_call", **intent: Any) -> dict[str, Any]:
    return {"start": "main", "states": {"main": {"intents": [
        {"name": "bye", "keywords": ["bye"], "reply": "Bye!", "tool": {"name": tool}, **intent}]}}}


def test_a_script_calling_a_tool_the_agent_lacks_is_refused(user: ApiUser) -> None:
    r = user.request("POST", "/v1/agents", json={"name": "a", "script": script()})
    error = assert_error(r, 422, "script_unknown_tool")
    assert error["details"] == {"state": "main", "intent": "bye", "tool": "end_call", "tools": []}
    assert user.request("GET", "/v1/agents").json()["data"] == []


def test_built_ins_count_by_the_name_the_agent_gives_them(user: ApiUser) -> None:
    ok = user.request("POST", "/v1/agents", json={"script": script(), "tools": [END_CALL]})
    assert ok.status_code == 201, ok.text
    renamed = [{"name": "hang_up", "type": "end_call"}]
    ok = user.request("POST", "/v1/agents", json={"script": script("hang_up"), "tools": renamed})
    assert ok.status_code == 201, ok.text
    # the runtime offers a built-in only under the name it is listed with
    r = user.request("POST", "/v1/agents", json={"script": script(), "tools": renamed})
    assert assert_error(r, 422, "script_unknown_tool")["details"]["tools"] == ["hang_up"]


def test_a_script_the_runtime_could_not_follow_is_refused(user: ApiUser) -> None:
    bad = [
        {"start": "nowhere", "states": {"main": {}}},
        script(next="missing"),
        script(regex="(?P<day>monday"),
        {"states": {"main": {"intents": "book"}}},
        {"states": {"main": {"intents": [{"keywords": ["x"], "colour": "red"}]}}},
    ]
    for body in bad:
        r = user.request("POST", "/v1/agents", json={"tools": [END_CALL], "script": body})
        assert_error(r, 422, "script_invalid")
    assert user.request("GET", "/v1/agents").json()["data"] == []


def test_an_update_that_would_break_the_script_is_refused_and_the_agent_kept(
        user: ApiUser) -> None:
    created = user.request("POST", "/v1/agents", json={"script": script(), "tools": [END_CALL]})
    agent_id = created.json()["id"]
    r = user.request("PATCH", f"/v1/agents/{agent_id}", json={"tools": []})
    assert_error(r, 422, "script_unknown_tool")
    r = user.request("PATCH", f"/v1/agents/{agent_id}", json={"script": script("book_slot")})
    assert_error(r, 422, "script_unknown_tool")
    kept = user.request("GET", f"/v1/agents/{agent_id}").json()
    assert kept["tools"][0]["name"] == "end_call" and kept["script"] == script()
    ok = user.request("PATCH", f"/v1/agents/{agent_id}", json={"name": "renamed"})
    assert ok.status_code == 200, ok.text


def test_inline_agents_of_calls_and_sessions_are_checked_too(user: ApiUser) -> None:
    assert_error(user.create_call(agent={"script": script()}), 422, "script_unknown_tool")
    assert user.call_ids() == []
    r = user.request("POST", "/v1/sessions", json={"connection_type": "twilio",
                                                   "agent": {"script": script()}})
    assert_error(r, 422, "script_unknown_tool")
    assert user.call_ids() == []
