"""API: the HTTP API (API Gateway v2) routing each FunctionDef route to its function
(FastAPI + Mangum behind a payload-format-2.0 Lambda proxy integration)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from constructs import Construct

from .config import StageConfig, retention
from .functions import Functions
from .names import logical

ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","method":"$context.httpMethod",'
    '"routeKey":"$context.routeKey","path":"$context.path","status":"$context.status",'
    '"latencyMs":"$context.responseLatency","integrationLatencyMs":"$context.integrationLatency",'
    '"integrationError":"$context.integrationErrorMessage","bytes":"$context.responseLength"}'
)


class Api(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, functions: Functions
    ) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            api_name=f"voicelane-{config.stage}",
            description="Voicelane public API (authorised by API key inside the app)",
            create_default_stage=True,
        )
        self.routes: dict[str, str] = {}  # route path -> function name
        for fdef, fn in functions.http_functions():
            if not fdef.routes:
                raise ValueError(f"FunctionDef {fdef.name} has trigger http but no routes")
            integration = integrations.HttpLambdaIntegration(f"{logical(fdef.name)}Integration", fn)
            for path in fdef.routes:
                if path in self.routes:
                    raise ValueError(f"route {path} claimed by {self.routes[path]} and {fdef.name}")
                self.routes[path] = fdef.name
                self.http_api.add_routes(
                    path=path, methods=[apigwv2.HttpMethod.ANY], integration=integration
                )

        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"/voicelane/{config.stage}/api-access",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        stage = self.http_api.default_stage
        assert stage is not None
        cfn_stage: apigwv2.CfnStage = stage.node.default_child  # type: ignore[assignment]
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        cfn_stage.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=config.api_throttle_rate,
            throttling_burst_limit=config.api_throttle_burst,
            detailed_metrics_enabled=True,
        )

    @property
    def url(self) -> str:
        url = self.http_api.url
        assert url is not None
        return url
