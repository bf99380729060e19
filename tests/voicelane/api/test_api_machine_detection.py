"""machine_detection on calls and agents over HTTP: defaults, the agent's default, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from tests.voicelane.api.api_helpers import ApiUser, assert_error

LEAVE = {"mode": "detect_beep", "action": "leave_message",
         "message": {"text": "Hi, this is Acme Dental about your appointment tomorrow."}}


def test_a_call_keeps_its_machine_detection_with_defaults(user: ApiUser) -> None:
    r = user.create_call(machine_detection={"mode": "detect"})
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["machine_detection"] == {
        "mode": "detect", "timeout_ms": 5000, "speech_threshold_ms": 2400,
        "greeting_timeout_ms": 20000, "action": "hangup", "message": None,
        "screening": None}
    assert call["answered_by"] is None
    assert user.request("GET", f"/v1/calls/{call['id']}").json()["machine_detection"] == \
        call["machine_detection"]


def test_a_call_inherits_its_agents_machine_detection_and_may_override_it(user: ApiUser) -> None:
    agent = user.request("POST", "/v1/agents", json={"name": "remind", "machine_detection": LEAVE})
    assert agent.status_code == 201, agent.text
    inherited = user.create_call(agent_id=agent.json()["id"]).json()
    assert inherited["machine_detection"]["action"] == "leave_message"
    assert inherited["machine_detection"]["message"]["text"].startswith("Hi, this is Acme")
    off = user.create_call(agent_id=agent.json()["id"], machine_detection={"mode": "off"}).json()
    assert off["machine_detection"] is None  # off: nothing runs on the call


def test_an_agent_patch_is_checked_like_a_new_agent(user: ApiUser) -> None:
    agent = user.request("POST", "/v1/agents", json={"name": "remind"}).json()
    r = user.request("PATCH", f"/v1/agents/{agent['id']}",
                     json={"machine_detection": {"action": "leave_message"}})
    assert_error(r, 422, "machine_detection_message_required")
    assert user.request("GET", f"/v1/agents/{agent['id']}").json()["machine_detection"] is None


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("leave_message without a message", {"action": "leave_message"},
     "machine_detection_message_required"),
    ("unknown mode", {"mode": "premium"}, "validation_error"),
    ("unknown action", {"action": "transfer"}, "validation_error"),
    ("timeout too short", {"timeout_ms": 500}, "validation_error"),
    ("greeting timeout too long", {"greeting_timeout_ms": 600_000}, "validation_error"),
    ("empty message", {"action": "leave_message", "message": {"text": ""}}, "validation_error"),
    ("unknown field", {"mode": "detect", "beep": True}, "validation_error"),
    ("a message with text and generate", {"action": "leave_message", "message": {
        "text": "Hi.", "generate": True}}, "machine_detection_message_invalid"),
    ("a message with neither", {"action": "leave_message", "message": {}},
     "machine_detection_message_invalid"),
    ("a generated message without an agent", {"action": "leave_message", "message": {
        "generate": True}}, "machine_detection_agent_required"),
    ("a screening answer without an agent", {"screening": "answer"},
     "machine_detection_agent_required"),
    ("unknown screening action", {"screening": "ignore"}, "validation_error"),
]


@pytest.mark.parametrize(("case", "spec", "code"), BAD, ids=[c[0] for c in BAD])
def test_bad_machine_detection_is_refused_and_writes_nothing(
    user: ApiUser, case: str, spec: dict[str, Any], code: str
) -> None:
    assert_error(user.create_call(machine_detection=spec), 422, code)
    assert user.call_ids() == []


def test_an_inline_agents_machine_detection_is_checked_too(user: ApiUser) -> None:
    assert_error(user.create_call(agent={"name": "x", "machine_detection": {
        "action": "leave_message"}}), 422, "machine_detection_message_required")
    assert user.call_ids() == []


def test_machine_detection_needs_a_phone_on_the_far_end(user: ApiUser) -> None:
    error = assert_error(user.create_call(to_channel="websocket", to="bot-1",
                                          machine_detection={"mode": "detect"}),
                         422, "machine_detection_not_supported")
    assert error["details"] == {"field": "machine_detection"}
    assert user.call_ids() == []


def test_an_agent_may_generate_its_message_and_answer_screeners(user: ApiUser) -> None:
    spec = {"action": "leave_message", "message": {"generate": True}, "screening": "answer"}
    agent = user.request("POST", "/v1/agents", json={"name": "Ava", "machine_detection": spec})
    assert agent.status_code == 201, agent.text
    call = user.create_call(agent_id=agent.json()["id"], context={"purpose": "your visit"})
    assert call.status_code == 201, call.text
    detection = call.json()["machine_detection"]
    assert detection["message"] == {"text": None, "generate": True, "voice": None}
    assert detection["screening"] == "answer"
    inline = user.create_call(agent={"name": "Ava"}, machine_detection={
        "action": "leave_message", "message": {"generate": True}, "screening": "machine"})
    assert inline.status_code == 201, inline.text
    r = user.request("PATCH", f"/v1/agents/{agent.json()['id']}", json={
        "machine_detection": {"action": "leave_message", "message": {"text": "Hi.",
                                                                      "generate": True}}})
    assert_error(r, 422, "machine_detection_message_invalid")
