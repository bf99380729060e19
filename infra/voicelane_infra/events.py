"""Events: Voicelane's EventBridge bus, the EventBridge Scheduler group and the role schedules
run as (scheduled calls)."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct
from voicelane import resources

from .config import StageConfig


class Events(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=resources.EVENT_BUS.physical_name(config.stage)
        )
        self.schedule_group_name = f"{resources.SCHEDULE_GROUP}-{config.stage}"
        self.schedule_group = scheduler.CfnScheduleGroup(
            self, "ScheduleGroup", name=self.schedule_group_name
        )
        # Schedules created at run time (POST /v1/calls with send_at) assume this role to
        # invoke the dispatch function; Functions grants the invoke.
        self.scheduler_role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description="EventBridge Scheduler: invoke the dispatch-scheduled function",
        )

    @property
    def schedule_arn_pattern(self) -> str:
        return (
            f"arn:{Aws.PARTITION}:scheduler:{Aws.REGION}:{Aws.ACCOUNT_ID}:schedule/"
            f"{self.schedule_group_name}/*"
        )
