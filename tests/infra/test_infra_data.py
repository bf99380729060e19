"""Data: the table from the shared definitions, the recordings bucket, encryption everywhere."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match
from voicelane import resources

from tests.infra.helpers_infra import STAGE, of_type, props


def test_table_matches_shared_definition(template: Any) -> None:
    table_def = resources.MAIN_TABLE
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": table_def.physical_name(STAGE),
            "KeySchema": [
                {"AttributeName": table_def.partition_key, "KeyType": "HASH"},
                {"AttributeName": table_def.sort_key, "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "TimeToLiveSpecification": {"AttributeName": table_def.ttl_attribute, "Enabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": Match.any_value(),
            },
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": index.name,
                        "KeySchema": [
                            {"AttributeName": index.partition_key, "KeyType": "HASH"},
                            {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "ALL"},
                    }
                )
                for index in table_def.indexes
            ],
        },
    )


def test_every_table_has_pitr_stream_and_cmk(resources_json: dict[str, Any]) -> None:
    tables = of_type(resources_json, "AWS::DynamoDB::Table")
    assert len(tables) == len(resources.TABLES)
    for logical_id, res in tables.items():
        p = props(res)
        assert p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], logical_id
        assert "StreamSpecification" in p, logical_id
        assert p["SSESpecification"]["SSEType"] == "KMS", logical_id
        assert res.get("DeletionPolicy") == "Retain", logical_id


def test_key_rotates(template: Any) -> None:
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_bucket_encrypted_private_tls_only_with_lifecycle(
    template: Any, resources_json: dict[str, Any]
) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": Match.any_value(),
                            },
                            "BucketKeyEnabled": True,
                        }
                    )
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {"Rules": [Match.object_like({"Status": "Enabled"})]},
        },
    )
    for logical_id, res in of_type(resources_json, "AWS::S3::Bucket").items():
        assert props(res)["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"], logical_id
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_encryption_everywhere(resources_json: dict[str, Any]) -> None:
    queues = of_type(resources_json, "AWS::SQS::Queue")
    assert len(queues) >= len(resources.QUEUES) > 0  # the shared queues were synthesised
    for logical_id, res in queues.items():
        p = props(res)
        assert p.get("SqsManagedSseEnabled") or p.get("KmsMasterKeyId"), logical_id
    for logical_id, res in of_type(resources_json, "AWS::SNS::Topic").items():
        assert props(res).get("KmsMasterKeyId"), logical_id
    with_environment = {k: r for k, r in of_type(resources_json, "AWS::Lambda::Function").items()
                        if props(r).get("Environment")}
    assert len(with_environment) >= len(resources.FUNCTIONS) > 0  # every function has settings
    for logical_id, res in with_environment.items():
        assert props(res).get("KmsKeyArn"), logical_id


def test_secrets_are_generated_not_inlined(resources_json: dict[str, Any]) -> None:
    secrets = of_type(resources_json, "AWS::SecretsManager::Secret")
    assert secrets
    for logical_id, res in secrets.items():
        assert "GenerateSecretString" in props(res), logical_id
        assert "SecretString" not in props(res), logical_id
