"""What of a media task the world and the VPC can reach (issue 13, "Internals exposed").

- The internal command API's port (8080) admits only the functions' security group: not the
  VPC's CIDR, not the ALB, not the internet (the NLB health-checks the public listener).
- The public ALB forwards only the node's public paths (media streams, WebRTC signalling, the
  softphone page) to the public listener; anything else, `/internal/...` included, gets a
  fixed 404 from the ALB itself and never reaches a task.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tests.infra.helpers_infra import as_list, of_type, props, ref_ids

INTERNAL_PORT = 8080
PUBLIC_PORT = 8081
INTERNAL_PATHS = ["/internal/calls/call_1/actions/hangup", "/internal/", "/healthz",
                  "/docs", "/v1/calls", "/"]


def _task_sg(resources: dict[str, Any]) -> str:
    (service,) = of_type(resources, "AWS::ECS::Service").values()
    groups = props(service)["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    (sg,) = ref_ids(groups)
    return sg


def _function_sgs(resources: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for fn in of_type(resources, "AWS::Lambda::Function").values():
        found |= ref_ids(props(fn).get("VpcConfig", {}).get("SecurityGroupIds", []))
    return found


def ingress_to(resources: dict[str, Any], sg: str) -> list[dict[str, Any]]:
    """Every ingress rule of security group ``sg``: inline ones and separate resources."""
    rules = list(props(resources[sg]).get("SecurityGroupIngress", []))
    for rule in of_type(resources, "AWS::EC2::SecurityGroupIngress").values():
        if sg in ref_ids(props(rule).get("GroupId")):
            rules.append(props(rule))
    return rules


def _covers(rule: dict[str, Any], port: int) -> bool:
    if str(rule["IpProtocol"]) == "-1":
        return True
    return rule["IpProtocol"] == "tcp" and rule["FromPort"] <= port <= rule["ToPort"]


def assert_internal_port_only_from_functions(resources: dict[str, Any]) -> None:
    sg = _task_sg(resources)
    functions = _function_sgs(resources)
    assert functions, "no function runs in the VPC: nothing should reach the internal API"
    reaching = [r for r in ingress_to(resources, sg) if _covers(r, INTERNAL_PORT)]
    assert reaching, "the functions cannot reach the internal command API"
    for rule in reaching:
        assert "CidrIp" not in rule and "CidrIpv6" not in rule, rule
        assert ref_ids(rule.get("SourceSecurityGroupId")) <= functions, rule


def _alb(resources: dict[str, Any]) -> str:
    (alb,) = [k for k, r in of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer").items()
              if props(r)["Type"] == "application"]
    return alb


def _public_target_groups(resources: dict[str, Any]) -> set[str]:
    return {k for k, r in of_type(resources, "AWS::ElasticLoadBalancingV2::TargetGroup").items()
            if props(r).get("Protocol") == "HTTP"}


def forwarded_patterns(resources: dict[str, Any]) -> list[str]:
    """The path patterns the ALB forwards to tasks. Fails if any listener forwards by default
    (every path) or forwards on a condition other than a path."""
    alb = _alb(resources)
    groups = _public_target_groups(resources)
    listeners = {k: r for k, r in of_type(resources, "AWS::ElasticLoadBalancingV2::Listener").items()
                 if alb in ref_ids(props(r)["LoadBalancerArn"])}
    assert listeners
    for logical_id, listener in listeners.items():
        for action in props(listener)["DefaultActions"]:
            assert action["Type"] != "forward", (logical_id, "forwards every path", action)
            if action["Type"] == "fixed-response":
                assert action["FixedResponseConfig"]["StatusCode"] == "404", action
    patterns: list[str] = []
    for rule in of_type(resources, "AWS::ElasticLoadBalancingV2::ListenerRule").values():
        if not ref_ids(props(rule)["ListenerArn"]) & set(listeners):
            continue
        forwards = [a for a in props(rule)["Actions"] if a["Type"] == "forward"]
        if not forwards:
            continue
        assert ref_ids(forwards) <= groups, rule
        conditions = props(rule)["Conditions"]
        assert [c["Field"] for c in conditions] == ["path-pattern"], conditions
        patterns += as_list(conditions[0]["PathPatternConfig"]["Values"])
    return patterns


def _alb_matches(pattern: str, path: str) -> bool:
    # ALB path patterns: case-sensitive, `*` any characters, `?` exactly one.
    return fnmatch.fnmatchcase(path, pattern.replace("[", "[[]"))


def _public_app_paths() -> list[str]:
    """A concrete path for every route of the node's public app (the code behind the ALB)."""
    from voicelane_media.node.http import create_public_app

    app = create_public_app(None, None)  # type: ignore[arg-type]  # routes only, not served
    paths = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if path in ("/healthz", ""):
            continue  # the target group's own probe, sent straight to the task
        paths.append(path.replace("{connection_type}", "twilio").replace("{session_id}", "s1")
                     .replace("{resource_id}", "r1"))
    assert "/v1/media/twilio/s1" in paths and "/softphone" in paths, paths
    return [*paths, "/softphone/", "/softphone/index.html"]


def assert_alb_routes_only_public_paths(resources: dict[str, Any]) -> None:
    patterns = forwarded_patterns(resources)
    for path in _public_app_paths():
        assert any(_alb_matches(p, path) for p in patterns), (path, patterns)
    for path in INTERNAL_PATHS:
        assert not any(_alb_matches(p, path) for p in patterns), (path, patterns)


def test_internal_port_admits_only_the_functions_security_group(
        resources_json: dict[str, Any]) -> None:
    assert_internal_port_only_from_functions(resources_json)


def test_the_nlb_health_checks_the_public_listener_not_the_internal_one(
        resources_json: dict[str, Any]) -> None:
    (nlb_group,) = [r for r in of_type(resources_json,
                                       "AWS::ElasticLoadBalancingV2::TargetGroup").values()
                    if props(r).get("Protocol") == "TCP_UDP"]
    assert props(nlb_group)["HealthCheckPort"] == str(PUBLIC_PORT)
    sg = _task_sg(resources_json)
    # the NLB's probes come from its private addresses: the public port admits the VPC
    assert any("CidrIp" in r and _covers(r, PUBLIC_PORT) for r in ingress_to(resources_json, sg))


def test_the_public_alb_forwards_only_the_public_paths(resources_json: dict[str, Any]) -> None:
    assert_alb_routes_only_public_paths(resources_json)


def test_the_public_app_serves_no_internal_route() -> None:
    from fastapi.testclient import TestClient
    from voicelane_media.node.http import create_public_app

    client = TestClient(create_public_app(None, None))  # type: ignore[arg-type]
    resp = client.post("/internal/calls/call_1/actions/hangup", json={})
    assert resp.status_code == 404
