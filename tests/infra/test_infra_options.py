"""Stage options from context: a production-like synth (NAT, TLS on the ALB, arm64 media)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.infra.helpers_infra import of_type, synth

SIP_TLS_SECRET = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:voicelane-sip-tls-AbCdEf"
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
        "sipTlsSecretArn": SIP_TLS_SECRET,
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


def test_sip_tls_passes_tcp_5061_through_to_the_tasks(prod: Any) -> None:
    prod.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener", {"Port": 5061, "Protocol": "TCP"})
    prod.has_resource_properties("AWS::ElasticLoadBalancingV2::TargetGroup", {
        "Port": 5061, "Protocol": "TCP", "TargetType": "ip", "HealthCheckPath": "/healthz",
        "HealthCheckPort": "8081"})  # the public listener: 8080 is VPC-internal
    prod.has_resource_properties("AWS::ECS::Service", {"LoadBalancers": Match.array_with(
        [Match.object_like({"ContainerPort": 5061})])})
    resources = prod.to_json()["Resources"]
    (task,) = of_type(resources, "AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert {"ContainerPort": 5061, "Protocol": "tcp", "Name": "sip-tls"} in [
        {k: p.get(k) for k in ("ContainerPort", "Protocol", "Name")}
        for p in container["PortMappings"]]
    secrets = {s["Name"]: s["ValueFrom"] for s in container["Secrets"]}
    assert secrets["VOICELANE_MEDIA_SIP_TLS_CERTIFICATE"] == f"{SIP_TLS_SECRET}:certificate::"
    assert secrets["VOICELANE_MEDIA_SIP_TLS_KEY"] == f"{SIP_TLS_SECRET}:key::"
    assert {"Name": "VOICELANE_MEDIA_SIP_TLS_PORT", "Value": "5061"} in container["Environment"]
    rules = [rule for sg in of_type(resources, "AWS::EC2::SecurityGroup").values()
             for rule in sg["Properties"].get("SecurityGroupIngress", [])
             if rule.get("FromPort") == 5061]
    assert {(r["CidrIp"], r["IpProtocol"]) for r in rules} == {
        ("203.0.113.0/24", "tcp"), ("198.51.100.0/24", "tcp")}


def test_no_tls_listener_without_a_certificate(template: Any) -> None:
    listeners = of_type(template.to_json()["Resources"], "AWS::ElasticLoadBalancingV2::Listener")
    assert all(p["Properties"]["Port"] != 5061 for p in listeners.values())
