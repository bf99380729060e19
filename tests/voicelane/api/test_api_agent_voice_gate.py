"""An agent's `background_voice_gate` is set on create, changed by PATCH, and shown back."""

from __future__ import annotations

from tests.voicelane.api.api_helpers import ApiUser, assert_error


def test_the_background_voice_gate_is_on_by_default_and_can_be_turned_off(user: ApiUser) -> None:
    created = user.request("POST", "/v1/agents", json={"name": "cafe"})
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["background_voice_gate"] is True
    r = user.request("PATCH", f"/v1/agents/{agent['id']}", json={"background_voice_gate": False})
    assert r.status_code == 200, r.text
    shown = user.request("GET", f"/v1/agents/{agent['id']}").json()
    assert shown["background_voice_gate"] is False
    r = user.request("PATCH", f"/v1/agents/{agent['id']}", json={"background_voice_gate": "no"})
    assert_error(r, 422, "validation_error")
    assert user.request("GET", f"/v1/agents/{agent['id']}").json()["background_voice_gate"] is False
