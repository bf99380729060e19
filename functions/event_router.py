"""event-router: the table stream (the outbox) -> webhook deliveries, EventBridge, live stream.

Each INSERT of a call event (entity `event`) or app event (entity `app_event`) becomes one
delivery per matching endpoint on `webhook-deliveries`, one PutEvents entry (source
`voicelane`, detail-type = event type) and one push to live-stream subscribers. Every hop is
idempotent (conditional writes keyed on event id + endpoint), so retried or replayed records
change nothing. Records whose event could not be routed are reported as batch item failures. Metrics (EMF,
namespace `Voicelane`): CallsStarted / CallsCompleted / CallsFailed count the call.initiated /
call.completed / call.failed events routed for the first time.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from voicelane.lambda_runtime import instrument, observability

obs = observability("event-router")


class EventNotRouted(Exception):
    """The record's event was not (fully) routed; the stream will retry it."""


def _route(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from voicelane.adapters.dynamo.codec import deserialize
    from voicelane.container import get_container
    from voicelane.services.webhook_routing import event_from_item

    by_sequence: dict[str, str] = {}
    routed = []
    for record in event.get("Records", []):
        change = record.get("dynamodb") or {}
        if record.get("eventName") != "INSERT" or "NewImage" not in change:
            continue
        ev = event_from_item(deserialize(change["NewImage"]))
        if ev is not None:
            routed.append(ev)
            by_sequence[str(change.get("SequenceNumber"))] = ev.event_id
    result = get_container().event_router.route(routed)
    obs.count("EventsRouted", len(routed) - len(result.failed) - result.skipped)
    obs.count("EventsReplayed", result.skipped)
    obs.count("DeliveriesEnqueued", result.deliveries_enqueued)
    obs.count("EventsNotRouted", len(result.failed))
    # The dashboard's call counts, from the outbox: an event is stored exactly when its state
    # change happened, and one routed for the first time is counted once (replays are not).
    types = result.routed_types
    obs.count("CallsStarted", types.count("call.initiated"))
    obs.count("CallsCompleted", types.count("call.completed"))
    obs.count("CallsFailed", types.count("call.failed"))

    def check(record: DynamoDBRecord) -> None:
        event_id = by_sequence.get(str(record.dynamodb.sequence_number if record.dynamodb else ""))
        if event_id in result.failed:
            raise EventNotRouted(event_id)

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=check, processor=processor,
                                    context=context)


handler = instrument(obs, _route)
