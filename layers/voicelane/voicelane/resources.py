"""Shared resource definitions: the one place that names tables, indexes, queues and buckets.

Both the local bootstrap (moto) and the CDK app (infra/) read these, so the local and the
deployed shapes cannot drift. This module imports nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IndexDef:
    """A global secondary index with string keys, projecting all attributes."""

    name: str
    partition_key: str
    sort_key: str


@dataclass(frozen=True)
class TableDef:
    """A DynamoDB table with string pk/sk keys, on-demand billing and a stream for the outbox."""

    logical_id: str
    partition_key: str
    sort_key: str
    indexes: tuple[IndexDef, ...] = ()
    ttl_attribute: str | None = None
    stream: bool = True
    # The outbox is insert-only and its readers use only the new image; old images would
    # double every stream record for nothing.
    stream_view: str = "NEW_IMAGE"

    def physical_name(self, stage: str) -> str:
        return f"voicelane-{stage}-{self.logical_id}"


@dataclass(frozen=True)
class QueueDef:
    """An SQS queue and its dead-letter queue."""

    logical_id: str
    visibility_timeout_s: int
    max_receive_count: int
    fifo: bool = False
    dlq_retention_s: int = 14 * 24 * 3600
    retention_s: int = 4 * 24 * 3600

    def physical_name(self, stage: str) -> str:
        return f"voicelane-{stage}-{self.logical_id}" + (".fifo" if self.fifo else "")

    def dlq_physical_name(self, stage: str) -> str:
        return f"voicelane-{stage}-{self.logical_id}-dlq" + (".fifo" if self.fifo else "")


@dataclass(frozen=True)
class BucketDef:
    logical_id: str

    def physical_name(self, stage: str, account: str = "000000000000") -> str:
        return f"voicelane-{stage}-{self.logical_id}-{account}"


# One table, single-table design; key layout documented in docs/data-model.md.
MAIN_TABLE = TableDef(
    logical_id="main",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        IndexDef(name="gsi1", partition_key="gsi1pk", sort_key="gsi1sk"),
        IndexDef(name="gsi2", partition_key="gsi2pk", sort_key="gsi2sk"),
    ),
    ttl_attribute="expires_at",
    stream=True,
)

CALL_REQUESTS_QUEUE = QueueDef(
    logical_id="call-requests", visibility_timeout_s=60, max_receive_count=5
)
WEBHOOK_DELIVERIES_QUEUE = QueueDef(
    logical_id="webhook-deliveries", visibility_timeout_s=60, max_receive_count=20
)

QUEUES: tuple[QueueDef, ...] = (CALL_REQUESTS_QUEUE, WEBHOOK_DELIVERIES_QUEUE)
TABLES: tuple[TableDef, ...] = (MAIN_TABLE,)
RECORDINGS_BUCKET = BucketDef(logical_id="recordings")


@dataclass(frozen=True)
class EventBusDef:
    logical_id: str = "events"
    source: str = "voicelane"
    create_call_detail_type: str = "voicelane.CreateCall"

    def physical_name(self, stage: str) -> str:
        return f"voicelane-{stage}-{self.logical_id}"


EVENT_BUS = EventBusDef()

ROUTED_ENTITIES = ("event", "conference_event", "app_event")
"""Table items the event router fans out (call, conference and app events): the deployed
stream filter and the local runner's feeder both read this."""
SCHEDULE_GROUP = "voicelane"


@dataclass(frozen=True)
class FunctionDef:
    """A Lambda function: its module in functions/ (``functions/<module>.py: handler``), what
    triggers it, its HTTP routes and what it may touch.

    trigger (several may be joined with ","):
      ``http``                     routes on the HTTP API (``routes``: paths, ``{proxy+}`` allowed)
      ``invoke``                   direct invocation only (every function can be invoked)
      ``sqs:<queue logical id>``   batch consumer with ReportBatchItemFailures
      ``stream``                   MAIN_TABLE stream (the outbox) with ReportBatchItemFailures
      ``schedule:<expression>``    e.g. ``schedule:rate(1 minute)``
      ``eventbridge:<detail-type>`` rule on EVENT_BUS for source ``voicelane``
      ``scheduler``                target of the EventBridge Scheduler schedules the code creates
      ``websocket``                $connect/$disconnect/$default of the events WebSocket API

    grants (infra turns each into a least-privilege IAM statement; unknown ones fail synth):
      ``table:read`` ``table:write`` ``bucket:read`` ``bucket:write`` ``bus:put``
      ``queue:<logical id>:send`` ``dlq:<logical id>:send`` (its DLQ; sets its URL setting)
      ``scheduler:manage`` ``invoke:<function name>``
      ``media:internal`` (calls media nodes' internal HTTP endpoint: the function runs in the VPC)
      ``websocket:manage`` (posts to connections of the events WebSocket API)
    """

    name: str
    module: str
    trigger: str
    routes: tuple[str, ...] = field(default_factory=tuple)
    grants: tuple[str, ...] = field(default_factory=tuple)

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.trigger.split(",") if t.strip())


_API = ("table:write",)

# Route groups served by one Lambda each (prefixes under /v1), then the event functions.
FUNCTIONS: tuple[FunctionDef, ...] = (
    FunctionDef(
        "api-calls",
        "api_calls",
        "http",
        ("/v1/calls", "/v1/calls/{proxy+}", "/v1/conferences", "/v1/conferences/{proxy+}"),
        grants=(
            *_API,
            "queue:call-requests:send",
            "scheduler:manage",
            "bucket:read",
            "media:internal",
        ),
    ),
    FunctionDef(
        "api-agents", "api_agents", "http", ("/v1/agents", "/v1/agents/{proxy+}"), grants=_API
    ),
    FunctionDef(
        "api-numbers", "api_numbers", "http", ("/v1/numbers", "/v1/numbers/{proxy+}"), grants=_API
    ),
    FunctionDef(
        "api-sessions",
        "api_sessions",
        "http",
        ("/v1/sessions", "/v1/sessions/{proxy+}", "/v1/client_tokens"),
        grants=_API,
    ),
    FunctionDef(
        "api-webhooks",
        "api_webhooks",
        "http",
        (
            "/v1/webhooks",
            "/v1/webhooks/{proxy+}",
            "/v1/deliveries/{proxy+}",
            # More specific than the calls group's /v1/calls/{proxy+}: API Gateway picks it.
            "/v1/calls/{call_id}/deliveries",
        ),
        grants=(*_API, "queue:webhook-deliveries:send"),
    ),
    FunctionDef(
        "api-trunks", "api_trunks", "http", ("/v1/trunks", "/v1/trunks/{proxy+}"), grants=_API
    ),
    FunctionDef("api-apps", "api_apps", "http", ("/v1/app",), grants=_API),
    FunctionDef(
        "api-health", "api_health", "http", ("/healthz", "/openapi.json"), grants=("table:read",)
    ),
    FunctionDef(
        "event-router",
        "event_router",
        "stream",
        # table:write: delivery records and publication markers (conditional puts).
        grants=("table:write", "queue:webhook-deliveries:send", "bus:put", "websocket:manage"),
    ),
    # $connect / $disconnect / $default of the live event stream's API Gateway WebSocket API.
    # Commands on the connection go through the calls' CommandService, as POST .../actions does.
    FunctionDef("events-ws", "events_ws", "websocket",
                grants=("table:write", "queue:call-requests:send", "scheduler:manage",
                        "media:internal")),
    FunctionDef(
        "webhook-dispatcher",
        "webhook_dispatcher",
        "sqs:webhook-deliveries",
        # It moves a delivery to the DLQ itself after its last attempt (docs/webhooks.md).
        grants=("table:write", "dlq:webhook-deliveries:send"),
    ),
    FunctionDef("node-sweeper", "node_sweeper", "schedule:rate(1 minute)", grants=("table:write",)),
    FunctionDef(
        "create-call",
        "create_call",
        "eventbridge:voicelane.CreateCall",
        grants=("table:write", "queue:call-requests:send"),
    ),
    FunctionDef(
        "dispatch-scheduled",
        "dispatch_scheduled",
        "scheduler",
        grants=("table:write", "queue:call-requests:send"),
    ),
)
