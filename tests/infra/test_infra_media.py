"""Media plane: Fargate service with public IPs, NLB for SIP, ALB with health checks, scaling
on live calls, drain and task protection."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match

from tests.infra.helpers_infra import of_type, props, ref_ids

DRAIN_S = 120


def test_service_in_public_subnets_with_public_ips(template: Any) -> None:
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "ENABLED"})
            },
            "DeploymentConfiguration": Match.object_like(
                {
                    "MinimumHealthyPercent": 100,
                    "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
                }
            ),
            "LoadBalancers": Match.array_with(
                [
                    Match.object_like({"ContainerPort": 5060}),
                    Match.object_like({"ContainerPort": 8081}),
                ]
            ),
        },
    )


def test_container_ports_drain_and_image_asset(resources_json: dict[str, Any]) -> None:
    (task,) = of_type(resources_json, "AWS::ECS::TaskDefinition").values()
    (container,) = props(task)["ContainerDefinitions"]
    ports = {(p["ContainerPort"], p["Protocol"]) for p in container["PortMappings"]}
    assert {(5060, "udp"), (5060, "tcp"), (8080, "tcp"), (8081, "tcp")} <= ports
    assert container["StopTimeout"] == DRAIN_S
    assert container["LinuxParameters"]["InitProcessEnabled"] is True
    # an image asset (built at deploy time), not a public image name
    assert "cdk-hnb659fds-container-assets" in json.dumps(container["Image"])
    names = {s["Name"] for s in container["Secrets"]}
    assert names == {"VOICELANE_SESSION_TOKEN_SECRET", "VOICELANE_INTERNAL_TOKEN"}


def test_sip_nlb_tcp_udp_5060(template: Any, resources_json: dict[str, Any]) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Type": "network", "Scheme": "internet-facing"},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 5060, "Protocol": "TCP_UDP"}
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "Port": 5060,
            "Protocol": "TCP_UDP",
            "TargetType": "ip",
            "HealthCheckPath": "/healthz",
            "HealthCheckPort": "8081",  # the public listener: 8080 admits only functions
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": str(DRAIN_S)}]
            ),
        },
    )


def test_alb_health_checks_media_http(template: Any) -> None:
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Type": "application", "Scheme": "internet-facing"},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "Port": 8081,  # the public listener: the internal command API is not behind the ALB
            "Protocol": "HTTP",
            "HealthCheckPort": "8081",
            "TargetType": "ip",
            "HealthCheckPath": "/healthz",
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "deregistration_delay.timeout_seconds", "Value": str(DRAIN_S)}]
            ),
        },
    )


def test_rtp_range_open_on_tasks(resources_json: dict[str, Any]) -> None:
    rules = []
    for res in of_type(resources_json, "AWS::EC2::SecurityGroup").values():
        rules += props(res).get("SecurityGroupIngress", [])
    assert any(
        r["IpProtocol"] == "udp" and r["FromPort"] == 10000 and r["ToPort"] == 20000 for r in rules
    )


def test_scales_on_live_calls(template: Any) -> None:
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "CustomizedMetricSpecification": Match.object_like(
                        {
                            "Namespace": "Voicelane",
                            "MetricName": "LiveCalls",
                            "Statistic": "Average",
                        }
                    )
                }
            ),
        },
    )


def test_task_role_least_privilege_and_protection(resources_json: dict[str, Any]) -> None:
    roles = [
        k
        for k, r in of_type(resources_json, "AWS::IAM::Role").items()
        if "ecs-tasks.amazonaws.com" in json.dumps(props(r)["AssumeRolePolicyDocument"])
        and "TaskRole" in k
    ]
    assert len(roles) == 1
    actions: set[str] = set()
    sent_to: set[str] = set()
    for policy in of_type(resources_json, "AWS::IAM::Policy").values():
        if roles[0] in ref_ids(props(policy)["Roles"]):
            for statement in props(policy)["PolicyDocument"]["Statement"]:
                acts = statement["Action"]
                acts = acts if isinstance(acts, list) else [acts]
                actions |= set(acts)
                if "sqs:SendMessage" in acts:
                    sent_to |= ref_ids(statement["Resource"])
    assert "ecs:UpdateTaskProtection" in actions
    assert {
        "dynamodb:UpdateItem",
        "sqs:ReceiveMessage",
        "s3:PutObject",
        "kms:GenerateDataKey",
        "polly:SynthesizeSpeech",
        "transcribe:StartStreamTranscription",
        "bedrock:InvokeModelWithResponseStream",
    } <= actions
    assert not {a for a in actions if a.startswith(("dynamodb:Scan", "s3:Delete"))}
    # It sends only to call-requests (a call over its app's calls-per-second cap goes back
    # with a delay): no other queue, not the webhook queue nor a dead-letter queue.
    queues = {k: props(r).get("QueueName", "") for k, r in
              of_type(resources_json, "AWS::SQS::Queue").items()}
    assert sent_to and all(queues.get(q, "").endswith("call-requests") for q in sent_to), (
        sent_to, queues)


def test_the_scaling_metric_is_the_one_media_tasks_emit(resources_json: dict[str, Any]) -> None:
    """The policy tracks exactly what voicelane_media.node.fleet writes: its namespace,
    name and `service` dimension, the task's POWERTOOLS_SERVICE_NAME."""
    from voicelane_media.node.fleet import LIVE_CALLS, NAMESPACE

    (policy,) = of_type(resources_json, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    spec = props(policy)["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"]
    assert (spec["Namespace"], spec["MetricName"]) == (NAMESPACE, LIVE_CALLS)
    (dimension,) = spec["Dimensions"]
    (task,) = of_type(resources_json, "AWS::ECS::TaskDefinition").values()
    (container,) = props(task)["ContainerDefinitions"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert dimension["Name"] == "service"
    assert dimension["Value"] == environment["POWERTOOLS_SERVICE_NAME"]
