"""Create the stage's resources from the shared definitions (moto locally; idempotent)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from voicelane import resources
from voicelane.adapters import aws
from voicelane.settings import Settings


def table_spec(table: resources.TableDef, name: str) -> dict[str, Any]:
    attrs = {table.partition_key, table.sort_key}
    gsis = []
    for index in table.indexes:
        attrs |= {index.partition_key, index.sort_key}
        gsis.append(
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    spec: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": table.partition_key, "KeyType": "HASH"},
            {"AttributeName": table.sort_key, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
    }
    if gsis:
        spec["GlobalSecondaryIndexes"] = gsis
    if table.stream:
        spec["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream_view}
    return spec


def create_resources(settings: Settings) -> dict[str, str]:
    """Create tables, queues (with DLQs and redrive), the bucket and the event bus."""
    out: dict[str, str] = {}
    ddb = aws.client("dynamodb", settings)
    for table in resources.TABLES:
        name = table.physical_name(settings.stage)
        try:
            ddb.create_table(**table_spec(table, name))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        if table.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        out[f"table:{table.logical_id}"] = name
    sqs = aws.client("sqs", settings)
    for queue in resources.QUEUES:
        fifo = {"FifoQueue": "true"} if queue.fifo else {}
        dlq_url = sqs.create_queue(
            QueueName=queue.dlq_physical_name(settings.stage),
            Attributes={"MessageRetentionPeriod": str(queue.dlq_retention_s), **fifo},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = sqs.create_queue(
            QueueName=queue.physical_name(settings.stage),
            Attributes={
                "VisibilityTimeout": str(queue.visibility_timeout_s),
                "MessageRetentionPeriod": str(queue.retention_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue.max_receive_count}
                ),
                **fifo,
            },
        )["QueueUrl"]
        out[f"queue:{queue.logical_id}"] = url
        out[f"dlq:{queue.logical_id}"] = dlq_url
    s3 = aws.client("s3", settings)
    bucket = resources.RECORDINGS_BUCKET.physical_name(settings.stage)
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    out["bucket:recordings"] = bucket
    events = aws.client("events", settings)
    bus = resources.EVENT_BUS.physical_name(settings.stage)
    try:
        events.create_event_bus(Name=bus)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise
    out["bus:events"] = bus
    return out
