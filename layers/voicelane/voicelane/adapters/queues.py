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
