"""Stage options from context: a production-like synth (NAT, TLS on the ALB, arm64 media)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.helpers_infra import of_type, synth

CERT = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    context = {
        "stage": "prod",
        "natGateways": "1",
        "certificateArn": CERT,
        "mediaArch": "arm64",
        "sipAllowedCidrs": "203.0.113.0/24,198.51.100.0/24",
        "alarmEmail": "ops@example.com",
    }
    return synth(Path(tmp_path_factory.mktemp("prod")), context)


def test_tls_listener_and_redirect(prod: Any) -> None:
    prod.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 443, "Protocol": "HTTPS", "Certificates": [{"CertificateArn": CERT}]},
    )
    prod.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 80, "DefaultActions": [Match.object_like({"Type": "redirect"})]},
    )


def test_nat_replaces_interface_endpoints(prod: Any) -> None:
    prod.resource_count_is("AWS::EC2::NatGateway", 1)
    resources = prod.to_json()["Resources"]
    endpoints = of_type(resources, "AWS::EC2::VPCEndpoint")
    assert all(e["Properties"].get("VpcEndpointType") != "Interface" for e in endpoints.values())


def test_sip_restricted_to_carrier_cidrs(prod: Any) -> None:
    resources = prod.to_json()["Resources"]
    rules = [
        rule
        for sg in of_type(resources, "AWS::EC2::SecurityGroup").values()
        for rule in sg["Properties"].get("SecurityGroupIngress", [])
        if rule.get("FromPort") == 5060
    ]
    assert {r["CidrIp"] for r in rules} == {"203.0.113.0/24", "198.51.100.0/24"}


def test_arm64_media_and_alarm_email(prod: Any) -> None:
    prod.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}},
    )
    prod.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_tls_stage_exposes_only_the_public_paths(prod: Any) -> None:
    from tests.infra.test_infra_media_exposure import (
        assert_alb_routes_only_public_paths,
        assert_internal_port_only_from_functions,
    )

    resources = prod.to_json()["Resources"]
    assert_internal_port_only_from_functions(resources)
    assert_alb_routes_only_public_paths(resources)
