"""A `webhook-deliveries` message carries its new delivery, so a first attempt needs no read of
the record; redelivered messages still read it, and nothing is posted twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from voicelane.container import Container
from voicelane.domain.webhooks import (
    MAX_CARRIED_MESSAGE_BYTES,
    Delivery,
    DeliveryStatus,
    delivery_id_for,
    delivery_message,
    read_delivery_message,
)
from voicelane.services.clock import now_iso
from voicelane.services.webhooks import ensure_call_endpoint
from voicelane_local.webhook_jobs import LocalLambdaContext, load_handler

from tests.conftest import Tenant
from tests.voicelane.webhooks.receiver import Receiver, verify


def new_delivery(app_id: str, url: str, body: str = '{"type":"call.completed"}') -> Delivery:
    event_id = f"evt_carried{now_iso()}{id(body)}"
    return Delivery(delivery_id=delivery_id_for(event_id, "call"), app_id=app_id,
                    endpoint_id="call", event_id=event_id, event_type="call.completed",
                    url=url, body=body, created_at=now_iso())


def sqs_event(body: str, receive_count: int, message_id: str = "m-1") -> dict[str, Any]:
    return {"Records": [{
        "messageId": message_id, "receiptHandle": "rh-" + message_id, "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:0:q",
        "awsRegion": "us-east-1"}]}


class CountingReads:
    """The repository, counting the delivery ids the dispatcher reads."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.read: list[str] = []

    def get_deliveries(self, delivery_ids: list[str]) -> dict[str, Delivery]:
        self.read += delivery_ids
        return self.inner.get_deliveries(delivery_ids)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def counting_reads(container: Container) -> Any:
    dispatcher = container.webhook_dispatcher
    counting = CountingReads(dispatcher.repo)
    dispatcher.repo = counting
    yield counting
    dispatcher.repo = counting.inner


def test_the_message_round_trips_the_delivery_without_attempts() -> None:
    d = new_delivery("app_x", "https://example.com/h")
    assert read_delivery_message(delivery_message(d.delivery_id, d)) == (d.delivery_id, d)
    assert read_delivery_message(delivery_message(d.delivery_id)) == (d.delivery_id, None)
    big = new_delivery("app_x", "https://example.com/h", body="x" * MAX_CARRIED_MESSAGE_BYTES)
    assert json.loads(delivery_message(big.delivery_id, big)) == {"delivery_id": big.delivery_id}


@pytest.mark.parametrize("body", [
    '{"delivery_id": "msg_1", "delivery": {"delivery_id": "msg_1"}}',  # does not validate
    '{"delivery_id": "msg_1", "delivery": "nope"}',
])
def test_a_carried_delivery_that_does_not_validate_falls_back_to_the_id(body: str) -> None:
    assert read_delivery_message(body) == ("msg_1", None)


def test_a_carried_delivery_for_another_id_is_not_trusted() -> None:
    d = new_delivery("app_x", "https://example.com/h")
    body = json.dumps({"delivery_id": "msg_other",
                       "delivery": d.model_dump(mode="json", exclude={"attempts"})})
    assert read_delivery_message(body) == ("msg_other", None)


@pytest.mark.parametrize("body", ["not json", "[]", '{"id": "msg_1"}'])
def test_a_malformed_message_is_refused(body: str) -> None:
    with pytest.raises(ValueError):
        read_delivery_message(body)


def test_first_attempt_uses_the_carried_delivery_and_a_replay_reads_the_record(
        container: Container, tenant: Tenant, counting_reads: CountingReads) -> None:
    handler = load_handler("webhook_dispatcher")
    secret = ensure_call_endpoint(container.webhook_repo, tenant.app.app_id).secrets[0].secret
    with Receiver() as rx:
        d = new_delivery(tenant.app.app_id, rx.url)
        container.webhook_repo.save_deliveries([d])  # the router creates it, then sends it
        message = delivery_message(d.delivery_id, d)

        first = handler(sqs_event(message, 1), LocalLambdaContext("webhook-dispatcher"))
        assert first == {"batchItemFailures": []}
        assert d.delivery_id not in counting_reads.read
        (got,) = rx.requests
        assert got.headers["webhook-id"] == d.delivery_id and got.body == d.body
        assert verify(secret, got.headers, got.body)
        stored = container.webhook_repo.get_delivery(d.delivery_id)
        assert stored is not None and stored.status == DeliveryStatus.DELIVERED
        assert [a.status_code for a in stored.attempts] == [200]

        # SQS hands the same message over again (its visibility ran out before the delete):
        again = handler(sqs_event(message, 2), LocalLambdaContext("webhook-dispatcher"))
        assert again == {"batchItemFailures": []}
        assert counting_reads.read.count(d.delivery_id) == 1
        assert len(rx.requests) == 1
        stored = container.webhook_repo.get_delivery(d.delivery_id)
        assert stored is not None and len(stored.attempts) == 1


def test_a_retry_reads_the_record_and_keeps_every_attempt(
        container: Container, tenant: Tenant, fast_retries: Any,
        counting_reads: CountingReads) -> None:
    fast_retries(schedule=(0, 0, 0), timeout_s=0.5)
    handler = load_handler("webhook_dispatcher")
    ensure_call_endpoint(container.webhook_repo, tenant.app.app_id)
    with Receiver(script=["error"]) as rx:
        d = new_delivery(tenant.app.app_id, rx.url)
        container.webhook_repo.save_deliveries([d])
        message = delivery_message(d.delivery_id, d)
        first = handler(sqs_event(message, 1), LocalLambdaContext("webhook-dispatcher"))
        assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}  # comes back later
        stored = container.webhook_repo.get_delivery(d.delivery_id)
        assert stored is not None and stored.status == DeliveryStatus.RETRYING
        second = handler(sqs_event(message, 2), LocalLambdaContext("webhook-dispatcher"))
        assert second == {"batchItemFailures": []}
        assert d.delivery_id in counting_reads.read
        stored = container.webhook_repo.get_delivery(d.delivery_id)
        assert stored is not None and stored.status == DeliveryStatus.DELIVERED
        assert [a.status_code for a in stored.attempts] == [503, 200]
        assert [r.headers["webhook-id"] for r in rx.requests] == [d.delivery_id] * 2
