"""The fan-out's I/O: the deliveries queue, the event bus, DNS, and pushes to API Gateway
WebSocket connections (HTTP to receivers: adapters/webhook_http.py)."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from voicelane import resources
from voicelane.adapters import aws
from voicelane.adapters.dynamo.codec import error_code
from voicelane.adapters.queues import queue_url
from voicelane.domain.url_guard import SystemResolver as SystemResolver  # its old home
from voicelane.domain.webhooks import Delivery, delivery_message
from voicelane.settings import Settings

log = logging.getLogger("voicelane.webhooks")


class SqsDeliveryQueue:
    """`webhook-deliveries`: one message per delivery attempt chain; delays via visibility."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def url(self) -> str:
        return queue_url(self.settings, resources.WEBHOOK_DELIVERIES_QUEUE,
                         self.settings.webhook_deliveries_queue_url)

    @cached_property
    def dlq_url(self) -> str:
        if self.settings.webhook_deliveries_dlq_url:
            return self.settings.webhook_deliveries_dlq_url
        name = resources.WEBHOOK_DELIVERIES_QUEUE.dlq_physical_name(self.settings.stage)
        return str(aws.client("sqs", self.settings).get_queue_url(QueueName=name)["QueueUrl"])

    def send(self, delivery_ids: list[str], carried: dict[str, Delivery] | None = None
             ) -> list[str]:
        carried = carried or {}
        failed: list[str] = []
        sqs = aws.client("sqs", self.settings)
        for start in range(0, len(delivery_ids), 10):
            chunk = delivery_ids[start : start + 10]
            resp = sqs.send_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "MessageBody": delivery_message(d, carried.get(d))}
                    for i, d in enumerate(chunk)
                ],
            )
            failed += [chunk[int(f["Id"])] for f in resp.get("Failed", [])]
        return failed

    def defer(self, deferrals: list[tuple[str, int]]) -> None:
        sqs = aws.client("sqs", self.settings)
        for start in range(0, len(deferrals), 10):
            sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=[
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": min(delay, 43_000)}
                for i, (handle, delay) in enumerate(deferrals[start : start + 10])
            ])

    def dead_letter(self, delivery_id: str, reason: str) -> None:
        aws.client("sqs", self.settings).send_message(
            QueueUrl=self.dlq_url,
            MessageBody=json.dumps({"delivery_id": delivery_id, "reason": reason}),
        )


class EventBridgePublisher:
    """PutEvents on the stage's bus: source `voicelane`, detail-type = the event type."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = settings.event_bus_name or resources.EVENT_BUS.physical_name(settings.stage)

    def publish(self, events: list[dict[str, Any]]) -> set[str]:
        failed: set[str] = set()
        client = aws.client("events", self.settings)
        for start in range(0, len(events), 10):
            chunk = events[start : start + 10]
            resp = client.put_events(
                Entries=[
                    {
                        "Source": resources.EVENT_BUS.source,
                        "DetailType": e["type"],
                        "Detail": json.dumps(e),
                        "EventBusName": self.bus,
                    }
                    for e in chunk
                ]
            )
            for event, entry in zip(chunk, resp.get("Entries", []), strict=False):
                if entry.get("ErrorCode"):
                    failed.add(str(event["id"]))
        return failed


def retry_after_seconds(value: str | None) -> int | None:
    """`Retry-After` as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0, int(when.timestamp() - time.time()))


class ApiGatewayLiveStream:
    """Pushes events to the app's API Gateway WebSocket connections (AWS)."""

    def __init__(self, settings: Settings, connections: Any) -> None:
        self.settings = settings
        self.connections = connections  # DynamoWsConnections

    def push(self, app_id: str, payload: dict[str, Any]) -> None:
        if not self.settings.events_ws_management_url:
            return
        client = aws.client_at("apigatewaymanagementapi",
                                         self.settings.events_ws_management_url, self.settings)
        data = json.dumps(payload).encode()
        call_id = (payload.get("data") or {}).get("id")
        for connection_id, follows in self.connections.subscriptions(app_id).items():
            if follows is not None and call_id not in follows:
                continue
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=data)
            except ClientError as exc:
                if error_code(exc) == "GoneException":
                    self.connections.remove(connection_id)
                else:
                    log.warning("push to %s failed: %s", connection_id, exc)

