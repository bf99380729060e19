"""IAM: no wildcard actions on data resources, and wildcard resources only where AWS offers
no resource-level permission."""

from __future__ import annotations

from typing import Any

from tests.infra.helpers_infra import as_list, of_type, props, ref_ids, statements

# Actions that have no resource type (AWS requires "Resource": "*").
RESOURCELESS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ecr:GetAuthorizationToken",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "cloudwatch:PutMetricData",
    "dynamodb:ListStreams",
    "transcribe:StartStreamTranscription",
    # its only resource type is the lexicons applied; a call without lexicons is allowed on "*"
    "polly:SynthesizeSpeech",
}
DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::KMS::Key")


def test_no_wildcard_actions_on_data_resources(resources_json: dict[str, Any]) -> None:
    data_ids = {k for t in DATA_TYPES for k in of_type(resources_json, t)}
    offenders = []
    for policy_id, statement in statements(resources_json):
        actions = as_list(statement["Action"])
        if data_ids & ref_ids(statement.get("Resource")):
            offenders += [(policy_id, a) for a in actions if "*" in a]
    assert not offenders, offenders


def test_no_wildcard_actions_at_all(resources_json: dict[str, Any]) -> None:
    offenders = [
        (policy_id, action)
        for policy_id, statement in statements(resources_json)
        for action in as_list(statement["Action"])
        if "*" in action
    ]
    assert not offenders, offenders


def test_star_resources_only_for_resourceless_actions(resources_json: dict[str, Any]) -> None:
    offenders = []
    for policy_id, statement in statements(resources_json):
        if "*" in as_list(statement.get("Resource")):
            extra = set(as_list(statement["Action"])) - RESOURCELESS
            if extra:
                offenders.append((policy_id, sorted(extra)))
    assert not offenders, offenders


def test_no_managed_admin_policies(resources_json: dict[str, Any]) -> None:
    for logical_id, role in of_type(resources_json, "AWS::IAM::Role").items():
        for arn in props(role).get("ManagedPolicyArns", []):
            rendered = str(arn)
            assert "AdministratorAccess" not in rendered, logical_id
            assert "FullAccess" not in rendered, logical_id
