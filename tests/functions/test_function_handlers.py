"""Every sample in events/ for the control-plane functions, invoked on its handler."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from voicelane.domain.call import CallStatus
from voicelane.ports import CallFilter
from voicelane.resources import FUNCTIONS

from tests.functions.function_helpers import EVENTS_DIR, Deployment, LambdaContext, load_event

FUNCTIONS_DIR = Path(__file__).parents[2] / "functions"
MODULES = sorted(p.stem for p in FUNCTIONS_DIR.glob("*.py") if p.stem != "__init__")


def handler(module: str) -> Any:
    return importlib.import_module(f"functions.{module}").handler


def http_body(response: dict[str, Any]) -> Any:
    assert response["headers"]["content-type"] == "application/json"
    return json.loads(response["body"])


def test_every_module_is_a_function_and_every_function_has_a_sample() -> None:
    defined = {f.module for f in FUNCTIONS}
    samples = {p.name.split(".")[0] for p in EVENTS_DIR.glob("*.json")}
    assert len(MODULES) >= 13, MODULES  # functions/ was found and read
    assert set(MODULES) == defined  # no module without a function, no function without code
    assert set(MODULES) - samples == set()
    for module in MODULES:
        assert callable(handler(module)), module


def test_api_calls_creates_a_call(deployment: Deployment, context: LambdaContext) -> None:
    event = load_event("api_calls", **deployment.values())
    response = handler("api_calls")(event, context)
    assert response["statusCode"] == 201, response
    call = http_body(response)
    assert call["from"] == deployment.from_number and call["status"] == "queued"
    assert call["metadata"] == {"appointment": "A-1001"}
    stored = deployment.container.call_repo.get(call["id"])
    assert stored is not None and stored.app_id == deployment.app_id
    # the sample carries an Idempotency-Key: invoking it again replays the same call
    again = handler("api_calls")(event, context)
    assert again["statusCode"] == 201 and http_body(again)["id"] == call["id"]
    assert again["headers"]["idempotent-replayed"] == "true"


def test_api_calls_lists_calls(deployment: Deployment, context: LambdaContext) -> None:
    handler("api_calls")(load_event("api_calls", **deployment.values()), context)
    response = handler("api_calls")(load_event("api_calls.list", **deployment.values()), context)
    assert response["statusCode"] == 200
    body = http_body(response)
    assert body["limit"] == 10 and [c["status"] for c in body["data"]] == ["queued"]


def test_api_calls_without_a_key_is_401_in_the_error_shape(context: LambdaContext,
                                                           deployment: Deployment) -> None:
    event = load_event("api_calls", **deployment.values(API_KEY="sk_test_wrong"))
    response = handler("api_calls")(event, context)
    assert response["statusCode"] == 401
    assert http_body(response)["error"]["code"] == "invalid_api_key"


def test_api_agents_creates_an_agent(deployment: Deployment, context: LambdaContext) -> None:
    response = handler("api_agents")(load_event("api_agents", **deployment.values()), context)
    assert response["statusCode"] == 201, response
    agent = http_body(response)
    app = deployment.container.apps.get_app(deployment.app_id)
    stored = deployment.container.agents.get(app, agent["id"])
    assert stored.name == "Support" and stored.inactivity_action == "hangup"


def test_api_numbers_registers_a_number(deployment: Deployment, context: LambdaContext) -> None:
    values = deployment.values()
    response = handler("api_numbers")(load_event("api_numbers", **values), context)
    assert response["statusCode"] == 201, response
    stored = deployment.container.number_repo.get(values["NEW_NUMBER"])
    assert stored is not None and stored.app_id == deployment.app_id


def test_api_sessions_creates_a_session(deployment: Deployment, context: LambdaContext) -> None:
    response = handler("api_sessions")(load_event("api_sessions", **deployment.values()), context)
    assert response["statusCode"] == 201, response
    session = http_body(response)
    assert session["token"] and session["sample_rate"] == 16000
    call = deployment.container.call_repo.get(session["call_id"])
    assert call is not None and call.session_id == session["id"]


def test_api_health(context: LambdaContext) -> None:
    response = handler("api_health")(load_event("api_health"), context)
    assert response["statusCode"] == 200 and http_body(response) == {"status": "ok"}


def test_api_health_serves_the_whole_openapi_document(context: LambdaContext) -> None:
    response = handler("api_health")(load_event("api_health.openapi-document"), context)
    assert response["statusCode"] == 200
    paths = http_body(response)["paths"]
    for path in ("/healthz", "/v1/calls", "/v1/calls/{call_id}/hangup", "/v1/agents",
                 "/v1/numbers", "/v1/sessions"):
        assert path in paths


@pytest.mark.parametrize("sample", ["create_call.invoke", "create_call.eventbridge"])
def test_create_call_from_an_event(deployment: Deployment, context: LambdaContext,
                                   sample: str) -> None:
    event = load_event(sample, **deployment.values())
    call = handler("create_call")(event, context)
    assert "error" not in call, call
    assert call["app_id"] == deployment.app_id and call["status"] == "queued"
    events = deployment.container.call_repo.list_events(call["id"])
    assert [e.type for e in events] == ["call.queued"]
    # a redelivered event (same id or idempotency key) creates nothing new
    assert handler("create_call")(event, context)["id"] == call["id"]
    app_calls = deployment.container.call_repo.list_calls(deployment.app_id, CallFilter(), 10, None)
    assert [c.call_id for c in app_calls.items] == [call["id"]]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda e: e.pop("app_id"), "validation_error"),
        (lambda e: e.update(app_id="app_unknown"), "app_not_found"),
        (lambda e: e["call"].update(to="555-0100"), "invalid_phone_number"),
        (lambda e: e["call"].update(agent={"temperature": 3}), "validation_error"),
        (lambda e: e["call"].update({"from": "+14155550000"}), "from_number_not_owned"),
        (lambda e: e.update(surprise=True), "validation_error"),
    ],
    ids=["no-app", "unknown-app", "bad-to", "agent-range", "foreign-from", "extra-field"],
)
def test_create_call_refuses_bad_input_with_an_error_object(
    deployment: Deployment, context: LambdaContext, change: Any, code: str
) -> None:
    event = load_event("create_call.invoke", **deployment.values())
    change(event)
    result = handler("create_call")(event, context)
    assert set(result) == {"error"} and result["error"]["code"] == code, result
    assert isinstance(result["error"]["message"], str)
    listed = deployment.container.call_repo.list_calls(deployment.app_id, CallFilter(), 10, None)
    assert listed.items == []


def test_create_call_refuses_another_detail_type(deployment: Deployment,
                                                 context: LambdaContext) -> None:
    event = load_event("create_call.eventbridge", **deployment.values())
    event["detail-type"] = "voicelane.DeleteEverything"
    result = handler("create_call")(event, context)
    assert result["error"]["code"] == "unsupported_event"


def test_dispatch_scheduled_queues_a_due_call_once(deployment: Deployment,
                                                   context: LambdaContext) -> None:
    c = deployment.container
    from voicelane.contracts.calls import CreateCallRequest

    app = c.apps.get_app(deployment.app_id)
    req = CreateCallRequest.model_validate(
        {"from": deployment.from_number, "to": "+14155550100", "scheduled_at": "2999-01-01T00:00:00Z"}
    )
    scheduled, _ = c.calls.create(app, req)
    event = load_event("dispatch_scheduled", **deployment.values(CALL_ID=scheduled.call_id))
    result = handler("dispatch_scheduled")(event, context)
    assert result == {"call_id": scheduled.call_id, "dispatched": True, "status": "queued"}
    stored = c.call_repo.get(scheduled.call_id)
    assert stored is not None and stored.status == CallStatus.QUEUED
    assert [e.type for e in c.call_repo.list_events(scheduled.call_id)] == [
        "call.scheduled", "call.queued"]
    again = handler("dispatch_scheduled")(event, context)
    assert again == {"call_id": scheduled.call_id, "dispatched": False, "status": "queued"}
    assert len(c.call_repo.list_events(scheduled.call_id)) == 2


def test_dispatch_scheduled_ignores_another_apps_call_and_bad_input(
    deployment: Deployment, context: LambdaContext
) -> None:
    event = load_event("dispatch_scheduled", **deployment.values(CALL_ID="call_unknown"))
    assert handler("dispatch_scheduled")(event, context)["dispatched"] is False
    bad = handler("dispatch_scheduled")({"app_id": deployment.app_id}, context)
    assert bad["error"]["code"] == "validation_error"
