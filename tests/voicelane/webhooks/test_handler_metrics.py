"""The dashboard's application metrics come out of the real handlers as EMF (Powertools):
the event router counts a call.initiated event as CallsStarted once (not again on a replay),
the dispatcher counts a delivered webhook as WebhookDeliveries and a refused attempt as
WebhookFailures."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from voicelane.container import Container
from voicelane.domain.clock import now_iso
from voicelane.domain.webhooks import Delivery
from voicelane_local.webhook_jobs import LocalLambdaContext, load_handler

from tests.conftest import Tenant
from tests.voicelane.webhooks.receiver import Receiver
from tests.voicelane.webhooks.test_handlers_idempotent import sample


def _emf(out: str) -> dict[str, float]:
    """The metric values of the EMF records printed (one JSON object per line)."""
    values: dict[str, float] = {}
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        record: dict[str, Any] = json.loads(line)
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Voicelane"
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in AWS: the local platform turns Powertools metrics off, Lambda does not."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def test_the_event_router_counts_calls_started_once(
        container: Container, tenant: Tenant, metrics_on: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    router = load_handler("event_router")
    suffix = str(time.time_ns())[-12:]
    with Receiver() as rx:
        event = sample("event_router", **{
            "app_01sample0000000000000000": tenant.app.app_id,
            "evt_01sample0000000000000000": f"evt_01sample{suffix}",
            "https://example.com/hooks": rx.url, '"call.answered"': '"call.initiated"'})
        capsys.readouterr()
        assert router(event, LocalLambdaContext("event-router")) == {"batchItemFailures": []}
        first = _emf(capsys.readouterr().out)
        assert router(event, LocalLambdaContext("event-router")) == {"batchItemFailures": []}
        replay = _emf(capsys.readouterr().out)
    assert (first["CallsStarted"], first["CallsCompleted"], first["CallsFailed"]) == (1, 0, 0)
    assert replay["CallsStarted"] == 0 and replay["EventsReplayed"] == 1


def _pending_delivery(container: Container, tenant: Tenant, url: str) -> str:
    """A delivery to ``url`` through the app's call-URL endpoint, written but not enqueued
    (the local runner does not see it): the dispatcher below makes its first attempt."""
    endpoint = container.webhooks.call_endpoint(tenant.app)
    delivery_id = f"msg_{time.time_ns()}"
    body = json.dumps({"id": f"evt_{delivery_id}", "type": "call.initiated", "data": {}})
    created = container.webhook_repo.create_delivery(Delivery(
        delivery_id=delivery_id, app_id=tenant.app.app_id, endpoint_id=endpoint.endpoint_id,
        event_id=f"evt_{delivery_id}", event_type="call.initiated", url=url, body=body,
        created_at=now_iso()))
    assert created is None
    return delivery_id


@pytest.mark.parametrize(("status", "delivered", "failed"), [(200, 1, 0), (503, 0, 1)])
def test_the_dispatcher_counts_webhook_deliveries_and_failures(
        container: Container, tenant: Tenant, metrics_on: None,
        capsys: pytest.CaptureFixture[str], status: int, delivered: int, failed: int) -> None:
    dispatcher = load_handler("webhook_dispatcher")
    with Receiver(status=status) as rx:
        delivery_id = _pending_delivery(container, tenant, rx.url)
        capsys.readouterr()
        event = sample("webhook_dispatcher", msg_01sample0000000000000000=delivery_id)
        dispatcher(event, LocalLambdaContext("webhook-dispatcher"))
        counted = _emf(capsys.readouterr().out)
        assert len(rx.requests) == 1
    assert (counted["WebhookDeliveries"], counted["WebhookFailures"]) == (delivered, failed)
