"""webhook-dispatcher: `webhook-deliveries` (SQS) -> signed POSTs to receivers.

The batch is attempted concurrently; a delivery to retry has its message's visibility set to
the next delay of the schedule and is reported as a batch item failure (SQS brings it back
then). Delivered, failed (moved to the DLQ by the service) and duplicate messages succeed and
are deleted.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from voicelane.lambda_runtime import instrument, observability

obs = observability("webhook-dispatcher")


class DeliveryRetryLater(Exception):
    """The attempt failed; the message comes back after its (already set) visibility delay."""


def _dispatch(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from voicelane.container import get_container
    from voicelane.domain.webhooks import read_delivery_message
    from voicelane.webhook_ports import QueuedDelivery

    messages = []
    for record in event.get("Records", []):
        try:
            delivery_id, carried = read_delivery_message(record["body"])
        except (ValueError, KeyError, TypeError):
            obs.logger.error("dropping a malformed message", extra={"id": record.get("messageId")})
            continue
        receive_count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        messages.append(QueuedDelivery(record["messageId"], record["receiptHandle"], delivery_id,
                                       receive_count, carried))
    outcomes = get_container().webhook_dispatcher.dispatch(messages) if messages else {}
    statuses = [o.status.split(":")[0] for o in outcomes.values()]
    for status in ("delivered", "retrying", "failed", "duplicate"):
        obs.count(f"Deliveries_{status}", statuses.count(status))
    # The dashboard's webhook graph: deliveries that succeeded, attempts that did not (to be
    # retried, or failed for good after the last one).
    obs.count("WebhookDeliveries", statuses.count("delivered"))
    obs.count("WebhookFailures", statuses.count("retrying") + statuses.count("failed"))

    def check(record: SQSRecord) -> None:
        outcome = outcomes.get(record.message_id)
        if outcome is not None and not outcome.done:
            raise DeliveryRetryLater(outcome.delivery_id)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=check, processor=processor,
                                    context=context)


handler = instrument(obs, _dispatch)
