"""Warm transfer and click-to-call through the API: what is refused (and with which code)
before anything is dialled, and what a click-to-call record shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from voicelane.openapi import document

from tests.voicelane.api.api_helpers import ApiUser, assert_error, e164


def test_click_to_call_is_created_with_its_second_party(
        new_user: Callable[..., ApiUser]) -> None:
    user = new_user()
    second = e164()
    r = user.create_call(connect_to=second, connect_prompt={"text": "Connecting you now."})
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["connect_to"] == second and call["connect_prompt"]["text"] == "Connecting you now."
    assert call["from"] == user.number and call["bridged_call_id"] is None
    shown = user.request("GET", f"/v1/calls/{call['id']}").json()
    assert shown["connect_to"] == second
    user.request("POST", f"/v1/calls/{call['id']}/hangup")


def test_click_to_call_refusals(new_user: Callable[..., ApiUser]) -> None:
    user = new_user()
    agent = {"name": "desk", "greeting": "Hello."}
    assert_error(user.create_call(connect_to=e164(), agent=agent), 422, "connect_to_conflict")
    assert_error(user.create_call(connect_to=e164(),
                                  stream={"url": "wss://bot.example.com/media"}),
                 422, "connect_to_conflict")
    assert_error(user.create_call(connect_prompt={"text": "Hi"}), 422,
                 "connect_prompt_without_connect_to")
    # The second party passes the allow-list like `to` (default: the from-number's country).
    error = assert_error(user.create_call(connect_to="+88212345678"), 403,
                         "destination_not_allowed")
    assert error["details"]["to"] == "+88212345678"
    for bad in ({"connect_to": "12345"}, {"connect_to": e164(), "connect_prompt": {}},
                {"connect_to": e164(), "connect_prompt": {"text": "a", "url": "https://a.b/c"}}):
        assert_error(user.create_call(**bad), 422, "validation_error")


def test_warm_transfer_commands_are_checked_before_the_node(
        new_user: Callable[..., ApiUser]) -> None:
    user = new_user()
    call = user.create_call().json()
    path = f"/v1/calls/{call['id']}/actions/warm_transfer"
    assert_error(user.request("POST", path, json={"to": "+88212345678"}), 403,
                 "destination_not_allowed")
    for bad in ({}, {"to": "desk"}, {"to": e164(), "whisper": "hi", "summary": True},
                {"to": e164(), "dtmf": "12x"}, {"to": e164(), "timeout_s": 1}):
        assert_error(user.request("POST", path, json=bad), 422, "validation_error")
    # A valid one on a call not answered yet: 409, nothing dialled.
    assert_error(user.request("POST", path, json={"to": e164(), "whisper": "A caller."}),
                 409, "action_not_allowed")
    user.request("POST", f"/v1/calls/{call['id']}/hangup")


def test_the_document_refuses_what_the_server_refuses() -> None:
    """The cross-field rules are in the schema too (schemathesis sent `connect_prompt: {}`,
    schema-valid and refused): every body here is refused by both, the last ones accepted."""
    doc = document()
    registry = Registry().with_resource(  # components resolve by their "#/components" refs
        "", Resource.from_contents(doc, default_specification=DRAFT202012))
    schemas = doc["components"]["schemas"]

    def valid(name: str, body: dict[str, Any]) -> bool:
        return Draft202012Validator(schemas[name], registry=registry).is_valid(body)

    for prompt in ({}, {"text": "a", "url": "https://a.b/c"}, {"text": None, "url": None}):
        assert not valid("ConnectPrompt", prompt), prompt
    assert valid("ConnectPrompt", {"text": "a", "url": None})
    assert not valid("WarmTransfer", {"to": "+14155550100", "summary": True, "whisper": "hi"})
    assert valid("WarmTransfer", {"to": "+14155550100", "summary": True})
    assert valid("WarmTransfer", {"to": "+14155550100", "summary": False, "whisper": "hi"})
