"""The sample events of events/ through the real handlers, replayed: one delivery, one
EventBridge publication, one POST."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from voicelane.container import Container
from voicelane_local.webhook_jobs import LocalLambdaContext, load_handler

from tests.conftest import Tenant
from tests.voicelane.webhooks.receiver import Receiver

EVENTS = Path(__file__).resolve().parents[3] / "events"


class CountingPublisher:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.published: list[str] = []

    def publish(self, events: list[dict[str, Any]]) -> set[str]:
        self.published += [e["id"] for e in events]
        return set(self.inner.publish(events))


def sample(name: str, **replace: str) -> dict[str, Any]:
    text = (EVENTS / f"{name}.json").read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return json.loads(text)  # type: ignore[no-any-return]


def test_a_replayed_stream_record_routes_once(container: Container, tenant: Tenant) -> None:
    router = load_handler("event_router")
    suffix = str(time.time_ns())[-12:]
    with Receiver() as rx:
        event = sample("event_router", **{
            "app_01sample0000000000000000": tenant.app.app_id,
            "evt_01sample0000000000000000": f"evt_01sample{suffix}",
            "https://example.com/hooks": rx.url,
        })
        counting = CountingPublisher(container.event_router.bus)
        container.event_router.bus = counting
        try:
            for _ in range(3):  # the stream delivers the batch again (e.g. after a timeout)
                assert router(event, LocalLambdaContext("event-router")) == {"batchItemFailures": []}
        finally:
            container.event_router.bus = counting.inner
        assert counting.published == [f"evt_01sample{suffix}"]
        assert rx.wait_for(lambda: len(rx.accepted()) >= 1, 20)
        time.sleep(1.5)
        assert len(rx.requests) == 1
        body = rx.requests[0].payload
        assert body["type"] == "call.answered" and body["client_state"] == "b3JkZXItNDI="


def test_a_replayed_sqs_message_posts_once(container: Container, tenant: Tenant) -> None:
    dispatcher = load_handler("webhook_dispatcher")
    with Receiver() as rx:
        from voicelane.contracts.calls import CreateCallRequest

        req = CreateCallRequest.model_validate({"from": "a", "to": "b", "from_channel": "webrtc",
                                                "to_channel": "webrtc", "webhook_url": rx.url})
        call, _ = container.calls.create(tenant.app, req)
        assert rx.wait_for(lambda: len(rx.accepted()) >= 1, 20)
        (delivery,) = container.webhooks.call_deliveries(tenant.app, call.call_id, 10)
        event = sample("webhook_dispatcher", msg_01sample0000000000000000=delivery.delivery_id)
        result = dispatcher(event, LocalLambdaContext("webhook-dispatcher"))
        assert result == {"batchItemFailures": []}
        assert len(rx.requests) == 1
