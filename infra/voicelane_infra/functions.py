"""Control-plane functions: one Lambda per voicelane.resources.FunctionDef, the shared
`voicelane` layer, and every non-HTTP trigger (SQS, table stream, schedules, EventBridge rules,
EventBridge Scheduler). HTTP routes are wired by the Api construct.

Adding a FunctionDef (or a QueueDef it consumes) to voicelane.resources is all it takes to
deploy a new function.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import build_layer
from aws_cdk import Annotations, ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from constructs import Construct
from voicelane import resources

from . import grants as g
from .config import StageConfig, retention
from .data import Data
from .events import Events
from .function_defs import function_name, parse_trigger, runs_in_vpc, validate_grant
from .messaging import Queues
from .names import env, logical
from .network import Network
from .paths import FUNCTION_CODE_DIR, FUNCTIONS_DIR, LAYER_BUILD_DIR
from .websocket import EventsWebSocket

RUNTIME = lambda_.Runtime.PYTHON_3_11  # must match build_layer.PYTHON_VERSION (binary wheels)
def stage_function_code() -> str:
    """Copy functions/ into build/function-code/functions/ (the asset root keeps the package, so
    the handler is ``functions.<module>.handler``); returns the asset directory."""
    target = FUNCTION_CODE_DIR / "functions"
    if FUNCTION_CODE_DIR.exists():
        shutil.rmtree(FUNCTION_CODE_DIR)
    if FUNCTIONS_DIR.is_dir():
        shutil.copytree(
            FUNCTIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
        )
    else:
        target.mkdir(parents=True)
    build_layer.compile_bytecode(target)  # .pyc as for the layer: /var/task is read-only too
    return str(FUNCTION_CODE_DIR)


@dataclass
class FunctionsProps:
    config: StageConfig
    data: Data
    queues: Queues
    events: Events
    network: Network | None
    media_connect_url: str | None = None
    websocket: EventsWebSocket | None = None


class Functions(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: FunctionsProps) -> None:
        super().__init__(scope, construct_id)
        config = props.config
        self.props = props
        stack = Stack.of(self)

        for fdef in resources.FUNCTIONS:
            for trigger in fdef.triggers:
                parse_trigger(trigger)
            for grant in fdef.grants:
                validate_grant(grant)
        names = [f.name for f in resources.FUNCTIONS]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate FunctionDef names: {names}")
        scheduler_targets = [f for f in resources.FUNCTIONS if "scheduler" in f.triggers]
        if len(scheduler_targets) > 1:
            raise ValueError("only one FunctionDef may have the 'scheduler' trigger")
        if sum("websocket" in f.triggers for f in resources.FUNCTIONS) > 1:
            raise ValueError("only one FunctionDef may have the 'websocket' trigger")

        mode = "sources" if os.environ.get("VOICELANE_LAYER_MODE") == "sources" else "full"
        layer_dir = build_layer.build(LAYER_BUILD_DIR, mode=mode)
        if mode == "sources":
            Annotations.of(self).add_warning_v2(
                "voicelane:layer-sources-only",
                "VOICELANE_LAYER_MODE=sources: the layer has no third-party packages; do not deploy",
            )
        self.layer = lambda_.LayerVersion(
            self,
            "VoicelaneLayer",
            layer_version_name=f"voicelane-{config.stage}",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=[build_layer.STAMP_NAME]),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="voicelane package and its dependencies (built by infra/build_layer.py)",
        )
        code = lambda_.Code.from_asset(stage_function_code())

        dispatch_arn = (
            stack.format_arn(
                service="lambda",
                resource="function",
                resource_name=function_name(config.stage, scheduler_targets[0]),
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            if scheduler_targets
            else ""
        )
        self.common_env = {
            env("stage"): config.stage,
            env("region"): Aws.REGION,
            env("table_name"): props.data.table.table_name,
            env("call_requests_queue_url"): props.queues.queue(
                resources.CALL_REQUESTS_QUEUE.logical_id
            ).queue_url,
            env("webhook_deliveries_queue_url"): props.queues.queue(
                resources.WEBHOOK_DELIVERIES_QUEUE.logical_id
            ).queue_url,
            env("recordings_bucket"): props.data.bucket.bucket_name,
            env("event_bus_name"): props.events.bus.event_bus_name,
            env("scheduler_group"): props.events.schedule_group_name,
            env("scheduler_role_arn"): props.events.scheduler_role.role_arn,
            env("dispatch_scheduled_function_arn"): dispatch_arn,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            "POWERTOOLS_METRICS_NAMESPACE": "Voicelane",
        }
        if props.media_connect_url:
            self.common_env[env("media_connect_url")] = props.media_connect_url
        if props.websocket is not None:
            self.common_env[env("events_ws_management_url")] = props.websocket.management_url

        self.functions: dict[str, lambda_.Function] = {}
        self.defs: dict[str, resources.FunctionDef] = {}
        for fdef in resources.FUNCTIONS:
            self.defs[fdef.name] = fdef
            self.functions[fdef.name] = self._function(fdef, code)
        for fdef in resources.FUNCTIONS:
            self._grant(fdef)
            self._wire(fdef)

    # -- building -------------------------------------------------------------------------

    def _timeout(self, fdef: resources.FunctionDef) -> Duration:
        seconds = 60
        for trigger in fdef.triggers:
            kind, arg = parse_trigger(trigger)
            if kind == "http":
                seconds = min(seconds, 29)  # API Gateway's integration limit is 30 s
            elif kind == "sqs":
                visibility = self._queue_def(arg).visibility_timeout_s
                seconds = min(seconds, max(3, visibility // 2))
            elif kind in {"eventbridge", "scheduler", "invoke"}:
                seconds = min(seconds, 30)
        return Duration.seconds(seconds)

    @staticmethod
    def _queue_def(logical_id: str) -> resources.QueueDef:
        for queue_def in resources.QUEUES:
            if queue_def.logical_id == logical_id:
                return queue_def
        raise KeyError(f"trigger sqs:{logical_id}: no such queue in voicelane.resources.QUEUES")

    def _function(self, fdef: resources.FunctionDef, code: lambda_.Code) -> lambda_.Function:
        config = self.props.config
        name = function_name(config.stage, fdef)
        if not (FUNCTIONS_DIR / f"{fdef.module}.py").exists():
            Annotations.of(self).add_warning_v2(
                "voicelane:missing-function-module",
                f"FunctionDef {fdef.name}: functions/{fdef.module}.py does not exist yet",
            )
        log_group = logs.LogGroup(
            self,
            f"{logical(fdef.name)}Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        environment = {**self.common_env, "POWERTOOLS_SERVICE_NAME": f"voicelane-{fdef.name}"}
        for grant in fdef.grants:
            kind, _, rest = grant.partition(":")
            if kind == "dlq":  # e.g. the dispatcher dead-letters deliveries itself
                logical_id = rest.split(":")[0]
                environment[env(f"{logical_id.replace('-', '_')}_dlq_url")] = (
                    self.props.queues.dead_letter_queues[logical_id].queue_url)
        if "http" in fdef.triggers:
            environment[env("session_token_secret")] = (
                self.props.data.session_token_secret.secret_value.unsafe_unwrap()
            )
        vpc_kwargs: dict[str, object] = {}
        if runs_in_vpc(fdef) and self.props.network is None:
            Annotations.of(self).add_warning_v2(
                "voicelane:no-media",
                f"{fdef.name}: media=false, so it runs outside a VPC (no live commands)",
            )
        elif runs_in_vpc(fdef):
            network = self.props.network
            if network is None or network.function_sg is None:
                raise ValueError(f"{fdef.name} needs media:internal but there is no media VPC")
            environment[env("internal_token")] = (
                self.props.data.internal_token.secret_value.unsafe_unwrap()
            )
            vpc_kwargs = {
                "vpc": network.vpc,
                "vpc_subnets": network.private_subnets,
                "security_groups": [network.function_sg],
            }
        is_http = "http" in fdef.triggers
        return lambda_.Function(
            self,
            logical(fdef.name),
            function_name=name,
            description=f"Voicelane {fdef.name}: functions/{fdef.module}.py ({fdef.trigger})",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=f"functions.{fdef.module}.handler",
            code=code,
            layers=[self.layer],
            memory_size=512 if is_http else 256,
            timeout=self._timeout(fdef),
            tracing=lambda_.Tracing.ACTIVE,
            environment=environment,
            environment_encryption=self.props.data.key,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            **vpc_kwargs,  # type: ignore[arg-type]
        )

    def _grant(self, fdef: resources.FunctionDef) -> None:
        fn = self.functions[fdef.name]
        data = g.DataResources(self.props.data.table, self.props.data.bucket, self.props.data.key)
        statements: list[iam.PolicyStatement] = []
        grant_set = set(fdef.grants)
        if "table:write" in grant_set:
            statements += data.table_statements(write=True)
        elif "table:read" in grant_set:
            statements += data.table_statements(write=False)
        if "bucket:write" in grant_set:
            statements += data.bucket_statements(write=True)
        elif "bucket:read" in grant_set:
            statements += data.bucket_statements(write=False)
        if "bus:put" in grant_set:
            statements.append(
                iam.PolicyStatement(
                    actions=["events:PutEvents"], resources=[self.props.events.bus.event_bus_arn]
                )
            )
        if "scheduler:manage" in grant_set:
            statements.append(
                iam.PolicyStatement(
                    actions=list(g.SCHEDULER_MANAGE),
                    resources=[self.props.events.schedule_arn_pattern],
                )
            )
            statements.append(
                iam.PolicyStatement(
                    actions=["iam:PassRole"],
                    resources=[self.props.events.scheduler_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                )
            )
        if "websocket:manage" in grant_set:
            if self.props.websocket is None:
                raise ValueError(f"{fdef.name}: websocket:manage but no websocket FunctionDef")
            statements.append(self.props.websocket.manage_statement())
        for grant in sorted(grant_set):
            parts = grant.split(":")
            if parts[0] == "queue":
                statements.append(g.queue_send(self.props.queues.queue(parts[1])))
            elif parts[0] == "dlq":
                statements.append(g.queue_send(self.props.queues.dead_letter_queues[parts[1]]))
            elif parts[0] == "invoke":
                target = self.functions.get(parts[1])
                if target is None:
                    raise KeyError(f"{fdef.name}: grant {grant!r} names no FunctionDef")
                statements.append(
                    iam.PolicyStatement(
                        actions=["lambda:InvokeFunction"], resources=[target.function_arn]
                    )
                )
        for statement in statements:
            fn.add_to_role_policy(statement)

    def _wire(self, fdef: resources.FunctionDef) -> None:
        fn = self.functions[fdef.name]
        props = self.props
        for trigger in fdef.triggers:
            kind, arg = parse_trigger(trigger)
            if kind == "sqs":
                queue = props.queues.queue(arg)
                fn.add_event_source(
                    sources.SqsEventSource(
                        queue,
                        batch_size=10,
                        max_batching_window=Duration.seconds(1),
                        report_batch_item_failures=True,
                    )
                )
            elif kind == "stream":
                fn.add_event_source(
                    sources.DynamoEventSource(
                        props.data.table,
                        starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                        batch_size=100,
                        max_batching_window=Duration.seconds(1),
                        bisect_batch_on_error=True,
                        retry_attempts=20,
                        max_record_age=Duration.hours(24),
                        report_batch_item_failures=True,
                        on_failure=sources.SqsDlq(props.queues.stream_failures),
                        # Only inserted call/conference/app events reach the router (the local runner's
                        # StreamFeeder applies the same filter).
                        filters=[lambda_.FilterCriteria.filter({
                            "eventName": lambda_.FilterRule.is_equal("INSERT"),
                            "dynamodb": {"NewImage": {"entity": {"S": lambda_.FilterRule.or_(
                                *resources.ROUTED_ENTITIES)}}},
                        })],
                    )
                )
            elif kind == "schedule":
                rule = events.Rule(
                    self,
                    f"{logical(fdef.name)}Schedule",
                    rule_name=f"voicelane-{props.config.stage}-{fdef.name}",
                    schedule=events.Schedule.expression(arg),
                )
                rule.add_target(
                    targets.LambdaFunction(
                        fn,
                        dead_letter_queue=props.queues.event_failures,
                        retry_attempts=2,
                        max_event_age=Duration.minutes(5),
                    )
                )
            elif kind == "eventbridge":
                rule = events.Rule(
                    self,
                    f"{logical(fdef.name)}{logical(arg.replace('.', '-'))}Rule",
                    event_bus=props.events.bus,
                    event_pattern=events.EventPattern(
                        source=[resources.EVENT_BUS.source], detail_type=[arg]
                    ),
                )
                rule.add_target(
                    targets.LambdaFunction(
                        fn,
                        dead_letter_queue=props.queues.event_failures,
                        retry_attempts=8,
                        max_event_age=Duration.hours(2),
                    )
                )
            elif kind == "scheduler":
                fn.grant_invoke(props.events.scheduler_role)
            elif kind == "websocket":
                assert props.websocket is not None
                props.websocket.route_to(fn)

    # -- queries --------------------------------------------------------------------------

    def http_functions(self) -> list[tuple[resources.FunctionDef, lambda_.Function]]:
        return [(d, self.functions[n]) for n, d in self.defs.items() if "http" in d.triggers]
