"""Live event stream: an API Gateway WebSocket API whose $connect/$disconnect/$default routes go
to the FunctionDef with the ``websocket`` trigger; functions with the ``websocket:manage`` grant
post events to its connections (VOICELANE_EVENTS_WS_MANAGEMENT_URL)."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .config import StageConfig

STAGE_NAME = "v1"
ROUTES = ("$connect", "$disconnect", "$default")


class EventsWebSocket(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"voicelane-{config.stage}-events",
            description="Voicelane live event stream (authenticated by API key on $connect)",
        )
        self.stage = apigwv2.WebSocketStage(
            self, "Stage", web_socket_api=self.api, stage_name=STAGE_NAME, auto_deploy=True
        )

    @property
    def url(self) -> str:
        return self.stage.url

    @property
    def management_url(self) -> str:
        return self.stage.callback_url

    def route_to(self, fn: lambda_.IFunction) -> None:
        integration = integrations.WebSocketLambdaIntegration("EventsWsIntegration", fn)
        for route in ROUTES:
            # $default is two-way: the function's answer to a command is the route's response
            # (it runs in the media VPC and never calls the Management API for it).
            self.api.add_route(route, integration=integration,
                               return_response=route == "$default")

    def manage_statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=["execute-api:ManageConnections"],
            resources=[
                f"arn:{Aws.PARTITION}:execute-api:{Aws.REGION}:{Aws.ACCOUNT_ID}:"
                f"{self.api.api_id}/{STAGE_NAME}/*/@connections/*"
            ],
        )
