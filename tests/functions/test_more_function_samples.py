"""The samples of the functions added with the media plane and webhooks, invoked on their handlers."""

from __future__ import annotations

import importlib
import json
import time
from typing import Any

from voicelane.domain.webhooks import SigningSecret, WebhookEndpoint
from voicelane.resources import FUNCTIONS

from tests.functions.function_helpers import EVENTS_DIR, Deployment, LambdaContext, load_event


def handler(module: str) -> Any:
    return importlib.import_module(f"functions.{module}").handler


def test_every_function_has_a_sample_event() -> None:
    samples = {p.name.split(".")[0] for p in EVENTS_DIR.glob("*.json")}
    assert {f.module for f in FUNCTIONS} <= samples


def test_api_trunks_adds_a_trunk_without_showing_its_password(
        deployment: Deployment, context: LambdaContext) -> None:
    event = load_event("api_trunks", **deployment.values(TRUNK_PASSWORD="pa55-word"))
    response = handler("api_trunks")(event, context)
    assert response["statusCode"] == 201, response
    trunk = json.loads(response["body"])
    assert trunk["name"] == "carrier-a" and trunk["has_password"] is True
    assert "pa55-word" not in response["body"]
    stored = deployment.container.trunks.for_app(deployment.app_id)
    assert [t.trunk_id for t in stored if t.trunk_id == trunk["id"]] == [trunk["id"]]


def test_api_apps_sets_the_apps_toll_fraud_settings(
        deployment: Deployment, context: LambdaContext) -> None:
    response = handler("api_apps")(load_event("api_apps", **deployment.values()), context)
    assert response["statusCode"] == 200, response
    shown = json.loads(response["body"])
    assert (shown["id"], shown["calls_per_second"], shown["destination_allow_list"]) == (
        deployment.app_id, 2, ["+1", "+44"])
    stored = deployment.container.apps.get_app(deployment.app_id)
    assert (stored.calls_per_second, stored.destination_allow_list) == (2, ["+1", "+44"])


def test_api_webhooks_lists_the_apps_endpoints(deployment: Deployment,
                                               context: LambdaContext) -> None:
    endpoint = WebhookEndpoint(
        endpoint_id=f"whep_{time.time_ns()}", app_id=deployment.app_id,
        url="https://hooks.example.com/voicelane", event_types=["call.completed"],
        secrets=[SigningSecret(secret="whsec_test")], created_at="2026-12-04T00:00:00Z")
    deployment.container.webhook_repo.put_endpoint(endpoint, new=True)
    response = handler("api_webhooks")(load_event("api_webhooks", **deployment.values()), context)
    assert response["statusCode"] == 200, response
    listed = json.loads(response["body"])["data"]
    assert [(e["id"], e["url"]) for e in listed if e["id"] == endpoint.endpoint_id] == [
        (endpoint.endpoint_id, "https://hooks.example.com/voicelane")]
    assert all("secret" not in e for e in listed)  # the list never shows a secret


def test_events_ws_connects_a_key_and_refuses_a_bad_one(deployment: Deployment,
                                                        context: LambdaContext) -> None:
    connection = f"conn-{time.time_ns()}"
    ok = handler("events_ws")(load_event("events_ws", **deployment.values(CONNECTION_ID=connection)),
                              context)
    assert ok["statusCode"] == 200
    bad = handler("events_ws")(
        load_event("events_ws", **deployment.values(CONNECTION_ID="x", API_KEY="sk_test_nope")),
        context)
    assert bad["statusCode"] == 401


def test_node_sweeper_ends_the_calls_of_a_silent_node(deployment: Deployment,
                                                      context: LambdaContext) -> None:
    c = deployment.container
    node = c.nodes.register(f"gone-{time.time_ns()}", "http://127.0.0.1:9", capacity=1)
    c.node_repo.put(node.model_copy(update={"heartbeat_at": time.time() - 600}))
    result = handler("node_sweeper")(load_event("node_sweeper"), context)
    assert isinstance(result["ended"], list)
    assert c.node_repo.get(node.node_id) is None  # a silent node without calls is forgotten
