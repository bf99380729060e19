"""Each live command's body is typed in the OpenAPI document as the server parses it: an
action with parameters has its own operation whose body schema is that action's model; the
actions without parameters share one operation whose `action` enum lists exactly them. And the
server holds each route to its schema (a body of another action is refused)."""

from __future__ import annotations

from typing import Any

import pytest
from voicelane.contracts.actions import ACTIONS, Empty
from voicelane.openapi import document

from tests.voicelane.api.api_helpers import ApiUser, assert_error

PREFIX = "/v1/calls/{call_id}/actions/"


def _body_schema(op: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = op["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _refs(schema: dict[str, Any]) -> set[str]:
    refs = {schema["$ref"]} if "$ref" in schema else set()
    for option in schema.get("anyOf", []):
        refs |= _refs(option)
    return refs


def test_every_action_has_a_typed_body_in_the_document() -> None:
    doc = document()
    paths = {p: ops["post"] for p, ops in doc["paths"].items() if p.startswith(PREFIX)}
    for action, model in ACTIONS.items():
        if model is Empty:
            op = paths[PREFIX + "{action}"]
            (param,) = [p for p in op["parameters"] if p["name"] == "action"]
            assert action in param["schema"]["enum"], action
        else:
            op = paths[PREFIX + action]
        assert _refs(_body_schema(op)) == {f"#/components/schemas/{model.__name__}"}, action
        component = doc["components"]["schemas"][model.__name__]
        assert component.get("additionalProperties") is False, model.__name__
    template = paths[PREFIX + "{action}"]
    (param,) = [p for p in template["parameters"] if p["name"] == "action"]
    assert sorted(param["schema"]["enum"]) == sorted(a for a, m in ACTIONS.items() if m is Empty)
    assert "unknown_action" in template["responses"]["404"]["x-error-codes"]
    # transfer documents its destination check, stream_start its URL checks
    assert paths[PREFIX + "transfer"]["responses"]["403"]["x-error-codes"] == [
        "destination_not_allowed"]
    assert "stream_url_not_allowed" in paths[PREFIX + "stream_start"]["responses"]["422"][
        "x-error-codes"]


def test_play_documents_exactly_one_source() -> None:
    play = document()["components"]["schemas"]["Play"]
    assert [sorted(o["required"]) for o in play["oneOf"]] == [["url"], ["s3_key"]]


@pytest.mark.parametrize(("action", "body", "loc"), [
    ("speak", {}, ["body", "text"]),
    ("speak", {"digits": "12"}, ["body", "text"]),  # send_dtmf's body on speak
    ("transfer", {"text": "hi"}, ["body", "to"]),
    ("hangup", {"to": "+14155550123"}, ["body", "to"]),  # no parameters
    ("send_dtmf", {"digits": "12x"}, ["body", "digits"]),
])
def test_a_body_that_breaks_its_actions_schema_is_refused(
        user: ApiUser, action: str, body: dict[str, Any], loc: list[str]) -> None:
    call = user.create_call()
    assert call.status_code == 201, call.text
    r = user.request("POST", f"/v1/calls/{call.json()['id']}/actions/{action}", json=body)
    error = assert_error(r, 422, "validation_error")
    assert any(d["loc"][:len(loc)] == loc for d in error["details"]), error["details"]


def test_an_unknown_action_is_404_unknown_action(user: ApiUser) -> None:
    call = user.create_call().json()
    r = user.request("POST", f"/v1/calls/{call['id']}/actions/teleport", json={})
    assert_error(r, 404, "unknown_action")


def test_a_parameterless_action_needs_no_body(user: ApiUser) -> None:
    call = user.create_call().json()
    r = user.request("POST", f"/v1/calls/{call['id']}/actions/hangup")
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "completed"  # a queued call ends at once
