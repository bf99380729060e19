"""SQS queues and the EventBridge Scheduler."""

from __future__ import annotations

import contextlib
import json
import re
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from voicelane import resources
from voicelane.adapters import aws
from voicelane.settings import Settings, get_settings


def queue_url(settings: Settings, queue: resources.QueueDef, configured: str) -> str:
    """The configured URL, or the URL of the stage's queue looked up by name (local runs)."""
    if configured:
        return configured
    resp = aws.client("sqs", settings).get_queue_url(QueueName=queue.physical_name(settings.stage))
    return str(resp["QueueUrl"])


class SqsCallQueue:
    """The `call-requests` queue."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    @cached_property
    def url(self) -> str:
        return queue_url(
            self.settings, resources.CALL_REQUESTS_QUEUE, self.settings.call_requests_queue_url
        )

    def send(self, call_id: str, delay_s: int = 0) -> None:
        aws.client("sqs", self.settings).send_message(
            QueueUrl=self.url,
            MessageBody=json.dumps({"call_id": call_id}),
            DelaySeconds=delay_s,
        )


def call_id_of(body: str) -> str | None:
    """The call a `call-requests` message names, or None for a body that names none."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError:
        return None
    call_id = message.get("call_id") if isinstance(message, dict) else None
    return call_id if isinstance(call_id, str) else None


class SqsCallRequests(SqsCallQueue):
    """The media nodes' side of `call-requests`: long-poll, delete, release, defer."""

    def receive(self, wait_s: int, max_messages: int) -> list[tuple[str | None, str]]:
        """(call id or None, receipt handle) of up to `max_messages` (1-10) messages."""
        resp = aws.client("sqs", self.settings).receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=max(1, min(10, max_messages)),
            WaitTimeSeconds=wait_s)
        return [(call_id_of(str(m.get("Body", ""))), str(m["ReceiptHandle"]))
                for m in resp.get("Messages", [])]

    def delete(self, receipt_handle: str) -> None:
        aws.client("sqs", self.settings).delete_message(QueueUrl=self.url,
                                                        ReceiptHandle=receipt_handle)

    def release(self, receipt_handle: str) -> None:
        aws.client("sqs", self.settings).change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)

    def defer(self, call_id: str, receipt_handle: str, delay_s: int) -> None:
        """A fresh message after ``delay_s`` (not a visibility change: that would count a
        receive toward the dead-letter queue each time), then the received one deleted."""
        self.send(call_id, max(0, min(900, delay_s)))  # SQS's longest delay is 900 s
        self.delete(receipt_handle)


class EventBridgeScheduler:
    """One-time schedules `at(...)` that invoke the dispatch-scheduled function."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()

    @staticmethod
    def _name(call_id: str) -> str:
        return re.sub(r"[^0-9a-zA-Z-_.]", "-", call_id)[:64]

    def schedule(self, call_id: str, app_id: str, at_iso: str) -> None:
        at = at_iso.replace("Z", "")[:19]
        target: dict[str, Any] = {
            "Arn": self.settings.dispatch_scheduled_function_arn,
            "RoleArn": self.settings.scheduler_role_arn,
            "Input": json.dumps({"call_id": call_id, "app_id": app_id}),
        }
        aws.client("scheduler", self.settings).create_schedule(
            Name=self._name(call_id),
            GroupName=self.settings.scheduler_group,
            ScheduleExpression=f"at({at})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            Target=target,
        )

    def delete(self, call_id: str) -> None:
        # Already fired or never created: nothing to undo.
        with contextlib.suppress(ClientError):
            aws.client("scheduler", self.settings).delete_schedule(
                Name=self._name(call_id), GroupName=self.settings.scheduler_group
            )


class IndexScheduler:
    """Local scheduling: the call's due-time index (gsi2) is the schedule; the local runner
    polls it. Nothing to create or delete."""

    def schedule(self, call_id: str, app_id: str, at_iso: str) -> None:
        return None

    def delete(self, call_id: str) -> None:
        return None
