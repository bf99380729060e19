"""An unreachable queue is a dependency that is down: `503 queue_unavailable` with
`Retry-After`, on every route that queues (create a call, redeliver a webhook), and nothing
left half-written (the call fails visibly, the delivery keeps its status)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from voicelane.adapters import aws
from voicelane.api import deps
from voicelane.api.app import create_app
from voicelane.container import Container
from voicelane.domain.ids import new_id
from voicelane.domain.webhooks import Delivery, DeliveryAttempt, DeliveryStatus
from voicelane_local.platform import LocalPlatform

from tests.conftest import Tenant
from tests.voicelane.api.api_helpers import e164


@pytest.fixture(scope="module")
def dead_queue_url(local_platform: LocalPlatform) -> str:
    """A queue that existed and was deleted: SQS answers QueueDoesNotExist."""
    sqs = aws.client("sqs", local_platform.container.settings)
    url = str(sqs.create_queue(QueueName=new_id("gone"))["QueueUrl"])
    sqs.delete_queue(QueueUrl=url)
    return url


@pytest.fixture
def broken(local_platform: LocalPlatform, dead_queue_url: str) -> Iterator[TestClient]:
    """The API on the platform's table, with both queues unreachable."""
    settings = local_platform.container.settings.model_copy(update={
        "call_requests_queue_url": dead_queue_url,
        "webhook_deliveries_queue_url": dead_queue_url})
    app = create_app()
    app.dependency_overrides[deps.container] = lambda: Container(settings)
    with TestClient(app) as client:
        yield client


def test_a_call_that_cannot_be_queued_answers_503_with_retry_after(
        broken: TestClient, new_tenant: Callable[..., Tenant], container: Container) -> None:
    tenant = new_tenant()
    number = e164("1650")
    container.numbers.create(tenant.app, number, None, None)
    resp = broken.post("/v1/calls", json={"from": number, "to": e164()}, headers=tenant.headers)
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "queue_unavailable"
    assert int(resp.headers["Retry-After"]) >= 1
    listed = broken.get("/v1/calls", headers=tenant.headers).json()["data"]
    assert [(c["status"], c["end_reason"]) for c in listed] == [("failed", "enqueue_failed")]


def test_a_redelivery_that_cannot_be_queued_answers_503_and_keeps_the_delivery(
        broken: TestClient, new_tenant: Callable[..., Tenant], container: Container) -> None:
    tenant = new_tenant()
    delivery = Delivery(
        delivery_id=new_id("msg"), app_id=tenant.app.app_id, endpoint_id="call",
        event_id=new_id("evt"), event_type="call.completed", url="https://example.com/hook",
        status=DeliveryStatus.FAILED, body="{}", created_at="2026-12-07T00:00:00Z",
        attempts=[DeliveryAttempt(attempt=1, at="2026-12-07T00:00:01Z", status_code=500, latency_ms=3)],
        failed_at="2026-12-07T00:00:02Z")
    container.webhooks.repo.save_deliveries([delivery])
    resp = broken.post(f"/v1/deliveries/{delivery.delivery_id}/redeliver",
                       headers=tenant.headers)
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"]["code"] == "queue_unavailable"
    assert int(resp.headers["Retry-After"]) >= 1
    # Still failed, so a redeliver later is sent (a record left `pending` would answer
    # "already on its way" forever with nothing queued).
    kept = broken.get(f"/v1/deliveries/{delivery.delivery_id}", headers=tenant.headers)
    assert kept.json()["status"] == "failed", kept.text
