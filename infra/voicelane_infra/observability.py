"""Observability: an alarm topic (optionally e-mailed), alarms on every dead-letter queue,
function errors and throttles, stream lag, API 5xx and media task health, and a dashboard."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from .api import Api
from .config import StageConfig
from .data import Data
from .functions import Functions
from .media import METRIC_NAMESPACE, Media
from .messaging import Queues

FIVE_MIN = Duration.minutes(5)


def _search(metric_name: str, stat: str = "Sum", period: int = 300) -> str:
    return f"SEARCH('{{{METRIC_NAMESPACE}}} MetricName=\"{metric_name}\"', '{stat}', {period})"


def _total(metric_name: str, label: str) -> cw.MathExpression:
    """Sum of an application metric over every dimension set (robust to dimension changes)."""
    return cw.MathExpression(
        expression=f"SUM({_search(metric_name)})",
        label=label,
        period=FIVE_MIN,
    )


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        data: Data,
        queues: Queues,
        functions: Functions,
        api: Api,
        media: Media | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self, "AlarmTopic", topic_name=f"voicelane-{config.stage}-alarms", master_key=data.key
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []

        def alarm(
            construct_id: str, metric: cw.IMetric, description: str, **kwargs: object
        ) -> cw.Alarm:
            options: dict[str, object] = {
                "threshold": 1,
                "evaluation_periods": 1,
                "comparison_operator": cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                "treat_missing_data": cw.TreatMissingData.NOT_BREACHING,
            }
            options.update(kwargs)
            created = cw.Alarm(
                self,
                construct_id,
                alarm_name=f"voicelane-{config.stage}-{construct_id}",
                alarm_description=description,
                metric=metric,
                **options,  # type: ignore[arg-type]
            )
            created.add_alarm_action(action)
            created.add_ok_action(action)
            self.alarms.append(created)
            return created

        for name, dlq in sorted(queues.dead_letter_queues.items()):
            alarm(
                f"dlq-{name}",
                dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
                f"Messages in the {name} dead-letter queue: inspect, fix, then redrive",
            )
        for name, fn in sorted(functions.functions.items()):
            alarm(
                f"fn-{name}-errors",
                fn.metric_errors(period=FIVE_MIN, statistic="Sum"),
                f"{name} raised errors",
                threshold=5,
            )
            alarm(
                f"fn-{name}-throttles",
                fn.metric_throttles(period=FIVE_MIN, statistic="Sum"),
                f"{name} was throttled (account concurrency)",
            )
            if "stream" in functions.defs[name].triggers:
                alarm(
                    f"fn-{name}-iterator-age",
                    cw.Metric(
                        namespace="AWS/Lambda",
                        metric_name="IteratorAge",
                        dimensions_map={"FunctionName": fn.function_name},
                        statistic="Maximum",
                        period=Duration.minutes(1),
                    ),
                    f"{name} lags the table stream by over a minute (webhooks delayed)",
                    threshold=60_000,
                    evaluation_periods=5,
                )
        alarm(
            "api-5xx",
            api.http_api.metric_server_error(period=FIVE_MIN, statistic="Sum"),
            "The HTTP API returned 5xx responses",
            threshold=5,
        )
        if media is not None:
            unhealthy = {
                "ws": media.ws_target_group.metrics.unhealthy_host_count(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
                "sip": media.sip_target_group.metrics.un_healthy_host_count(
                    period=Duration.minutes(1), statistic="Maximum"
                ),
            }
            for tg_name, metric in unhealthy.items():
                alarm(
                    f"media-{tg_name}-unhealthy",
                    metric,
                    f"Media tasks failing {tg_name} load-balancer health checks",
                    evaluation_periods=3,
                )
            if config.media_min_count > 0:
                alarm(
                    "media-no-healthy-task",
                    media.ws_target_group.metrics.healthy_host_count(
                        period=Duration.minutes(1), statistic="Minimum"
                    ),
                    "No healthy media task: calls cannot be placed or answered",
                    threshold=1,
                    evaluation_periods=3,
                    comparison_operator=cw.ComparisonOperator.LESS_THAN_THRESHOLD,
                    treat_missing_data=cw.TreatMissingData.BREACHING,
                )

        self.dashboard = self._dashboard(config, queues, functions, api, media)

    def _dashboard(
        self,
        config: StageConfig,
        queues: Queues,
        functions: Functions,
        api: Api,
        media: Media | None,
    ) -> cw.Dashboard:
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"voicelane-{config.stage}")
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Calls",
                left=[
                    _total("CallsStarted", "started"),
                    _total("CallsCompleted", "completed"),
                    _total("CallsFailed", "failed"),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Webhooks",
                left=[
                    _total("WebhookDeliveries", "delivered"),
                    _total("WebhookFailures", "failed attempts"),
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Agent turn latency (ms)",
                left=[
                    cw.MathExpression(
                        expression=f"MAX({_search('TurnLatencyMs', 'p50', 300)})",
                        label="p50",
                        period=FIVE_MIN,
                    ),
                    cw.MathExpression(
                        expression=f"MAX({_search('TurnLatencyMs', 'p95', 300)})",
                        label="p95",
                        period=FIVE_MIN,
                    ),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Live calls / media tasks",
                left=[media.live_calls_metric.with_(statistic="Sum", label="live calls")]
                if media
                else [_total("LiveCalls", "live calls")],
                right=[media.ws_target_group.metrics.healthy_host_count(label="healthy tasks")]
                if media
                else [],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="API",
                left=[api.http_api.metric_count(label="requests", period=FIVE_MIN)],
                right=[
                    api.http_api.metric_client_error(label="4xx", period=FIVE_MIN),
                    api.http_api.metric_server_error(label="5xx", period=FIVE_MIN),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Dead-letter queues",
                left=[
                    dlq.metric_approximate_number_of_messages_visible(
                        label=name, statistic="Maximum"
                    )
                    for name, dlq in sorted(queues.dead_letter_queues.items())
                ],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Function errors",
                left=[
                    fn.metric_errors(label=name, period=FIVE_MIN)
                    for name, fn in sorted(functions.functions.items())
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="Function duration p95",
                left=[
                    fn.metric_duration(label=name, statistic="p95", period=FIVE_MIN)
                    for name, fn in sorted(functions.functions.items())
                ],
                width=12,
            ),
        )
        return dashboard
