"""Queues from voicelane.resources.QUEUES, each with a dead-letter queue and redrive, plus the
dead-letter queues of the event sources that are not queues (stream, EventBridge targets)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from voicelane import resources

from .config import StageConfig
from .names import logical


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for queue_def in resources.QUEUES:
            self._add(queue_def, config)

        # Terminal dead-letter queues for failures that have no source queue to redrive to:
        # table-stream batches that exhausted their retries, and undeliverable EventBridge
        # (rule and schedule) invocations. Both are alarmed on like any other DLQ.
        self.stream_failures = self._terminal(
            "StreamFailuresDlq", f"voicelane-{config.stage}-stream-failures-dlq"
        )
        self.event_failures = self._terminal(
            "EventFailuresDlq", f"voicelane-{config.stage}-event-failures-dlq"
        )
        self.dead_letter_queues["stream-failures"] = self.stream_failures
        self.dead_letter_queues["event-failures"] = self.event_failures

    def _add(self, queue_def: resources.QueueDef, config: StageConfig) -> None:
        name = logical(queue_def.logical_id)
        dlq = sqs.Queue(
            self,
            f"{name}Dlq",
            queue_name=queue_def.dlq_physical_name(config.stage),
            fifo=queue_def.fifo or None,
            retention_period=Duration.seconds(queue_def.dlq_retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            f"{name}Queue",
            queue_name=queue_def.physical_name(config.stage),
            fifo=queue_def.fifo or None,
            visibility_timeout=Duration.seconds(queue_def.visibility_timeout_s),
            retention_period=Duration.seconds(queue_def.retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=dlq, max_receive_count=queue_def.max_receive_count
            ),
        )
        # Redrive back to the source queue (console "Start DLQ redrive" / StartMessageMoveTask).
        # The ARN is formatted from the name: a reference would be a circular dependency.
        source_arn = Stack.of(self).format_arn(
            service="sqs",
            resource=queue_def.physical_name(config.stage),
            arn_format=ArnFormat.NO_RESOURCE_NAME,
        )
        dlq_cfn = dlq.node.default_child
        dlq_cfn.add_property_override(  # type: ignore[union-attr]
            "RedriveAllowPolicy",
            {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]},
        )
        self.queues[queue_def.logical_id] = queue
        self.dead_letter_queues[queue_def.logical_id] = dlq

    def _terminal(self, construct_id: str, name: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )

    def queue(self, logical_id: str) -> sqs.Queue:
        try:
            return self.queues[logical_id]
        except KeyError:
            known = ", ".join(sorted(self.queues))
            raise KeyError(
                f"no queue {logical_id!r} in voicelane.resources.QUEUES ({known})"
            ) from None
