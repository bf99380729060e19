"""Local runner jobs of the event fan-out: what Lambda's event source mappings do in AWS.

- `event-router`: reads moto's DynamoDB stream through the Streams API (describe_stream,
  get_shard_iterator, get_records) and invokes functions/event_router.py with Lambda's stream
  event shape; on batch item failures it re-feeds from the first failed record.
- `webhook-dispatcher`: receives from `webhook-deliveries` and invokes
  functions/webhook_dispatcher.py with Lambda's SQS event shape; it deletes what succeeded and
  leaves failures to reappear when their visibility (set by the dispatcher) ends.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from voicelane.adapters import aws
from voicelane.container import Container
from voicelane.resources import ROUTED_ENTITIES

from voicelane_local.runner import Job, register

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LocalLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    def __init__(self, name: str) -> None:
        self.function_name = f"voicelane-local-{name}"
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def load_handler(module: str) -> Handler:
    """`functions/<module>.py: handler`; the repository root joins sys.path if needed."""
    try:
        mod = importlib.import_module(f"functions.{module}")
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parents[3]
        if not (root / "functions" / f"{module}.py").exists():
            raise
        sys.path.insert(0, str(root))
        mod = importlib.import_module(f"functions.{module}")
    handler: Handler = mod.handler
    return handler


def lambda_stream_record(record: dict[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A Streams API record as Lambda's DynamoDB event source delivers it."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID") or hashlib.md5(change["SequenceNumber"].encode()).hexdigest(),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


ROUTABLE_ENTITIES = ROUTED_ENTITIES


def routable(record: dict[str, Any]) -> bool:
    """Lambda filter criteria of the event router: INSERTs of call or app events."""
    entity = (record.get("dynamodb", {}).get("NewImage") or {}).get("entity", {}).get("S")
    return record.get("eventName") == "INSERT" and entity in ROUTABLE_ENTITIES


class StreamFeeder:
    """One poll of every shard of the main table's stream into the event router."""

    def __init__(self, c: Container, handler: Handler, batch_size: int = 500) -> None:
        self.c = c
        self.handler = handler
        self.batch_size = batch_size
        self.iterators: dict[str, str] = {}
        self.pending: dict[str, list[dict[str, Any]]] = {}
        self._arn: str | None = None

    @property
    def stream_arn(self) -> str:
        if self._arn is None:
            table = aws.client("dynamodb", self.c.settings).describe_table(
                TableName=self.c.settings.resolved_table_name())["Table"]
            self._arn = str(table["LatestStreamArn"])
        return self._arn

    def poll(self) -> int:
        """Feed what is new; returns how many records were handed to the handler."""
        streams = aws.client("dynamodbstreams", self.c.settings)
        shards = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        fed = 0
        for shard in shards:
            sid = shard["ShardId"]
            if sid not in self.iterators:
                self.iterators[sid] = streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                self.pending[sid] = []
            if not self.pending[sid]:
                resp = streams.get_records(ShardIterator=self.iterators[sid], Limit=self.batch_size)
                self.iterators[sid] = resp.get("NextShardIterator") or self.iterators[sid]
                self.pending[sid] = resp.get("Records", [])
            fed += self._feed(sid)
        return fed

    def _feed(self, sid: str) -> int:
        # The event source mapping's filter (infra sets the same): only inserted events.
        records = [r for r in self.pending[sid] if routable(r)]
        if not records:
            self.pending[sid] = []
            return 0
        event = {"Records": [lambda_stream_record(r, self.stream_arn, self.c.settings.region)
                             for r in records]}
        result = self.handler(event, LocalLambdaContext("event-router"))
        failures = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
        if failures:
            first = min(failures, key=int)
            self.pending[sid] = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(first)]
        else:
            self.pending[sid] = []
        return len(records)


class QueueFeeder:
    """One receive from `webhook-deliveries` into the dispatcher."""

    # moto's long poll waits for a full 10 messages, so poll without waiting, often.
    def __init__(self, c: Container, handler: Handler, wait_s: int = 0) -> None:
        self.c = c
        self.handler = handler
        self.wait_s = wait_s

    def poll(self, batch_size: int = 50) -> int:
        """Like an event source mapping with a batching window: up to `batch_size` messages."""
        sqs = aws.client("sqs", self.c.settings)
        url = self.c.delivery_queue.url
        messages: list[dict[str, Any]] = []
        while len(messages) < batch_size:
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0 if messages else self.wait_s,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += got
            if len(got) < 10:
                break
        if not messages:
            return 0
        arn = f"arn:aws:sqs:{self.c.settings.region}:000000000000:{url.rsplit('/', 1)[-1]}"
        event = {"Records": [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": m.get("Attributes", {}), "messageAttributes": {},
             "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs", "eventSourceARN": arn,
             "awsRegion": self.c.settings.region}
            for m in messages
        ]}
        try:
            result = self.handler(event, LocalLambdaContext("webhook-dispatcher"))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            failed = {m["MessageId"] for m in messages}  # like Lambda: the whole batch comes back
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ])
        return len(messages)


@register
def event_router_job(c: Container) -> Job:
    feeder = StreamFeeder(c, load_handler("event_router"))
    return Job("event-router", feeder.poll, 0.05)


# Like Lambda's SQS event source, several batches are in flight at once: a batch lasts as long
# as its slowest POST (up to the timeout), so one poller alone caps deliveries at a batch per
# timeout. Pollers x batch stays within the dispatcher's concurrency (its shared POST pool).
DISPATCHER_POLLERS = 2


def _dispatcher_job(n: int) -> Callable[[Container], Job]:
    def factory(c: Container) -> Job:
        feeder = QueueFeeder(c, load_handler("webhook_dispatcher"))
        batch = max(1, min(50, c.settings.webhook_dispatch_concurrency // DISPATCHER_POLLERS))
        return Job(f"webhook-dispatcher-{n}", lambda: feeder.poll(batch), 0.05)

    return factory


for _n in range(DISPATCHER_POLLERS):
    register(_dispatcher_job(_n))
