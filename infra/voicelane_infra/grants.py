"""Least-privilege IAM statements for the grants a FunctionDef names (voicelane.resources).

Actions are spelled out (no ``*`` in any action on a data resource); KMS use of the shared key
is limited to the service that needs it with ``kms:ViaService``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs

TABLE_READ = (
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
)
TABLE_WRITE = (
    *TABLE_READ,
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
TABLE_KMS_READ = ("kms:Decrypt", "kms:DescribeKey")
TABLE_KMS_WRITE = (*TABLE_KMS_READ, "kms:Encrypt", "kms:GenerateDataKey")
BUCKET_READ = ("s3:GetObject",)
BUCKET_WRITE = ("s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload")
BUCKET_KMS_READ = ("kms:Decrypt",)
BUCKET_KMS_WRITE = ("kms:Decrypt", "kms:GenerateDataKey")
QUEUE_SEND = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
QUEUE_CONSUME = (
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
)
SCHEDULER_MANAGE = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
)


def _via(service: str) -> dict[str, dict[str, str]]:
    return {"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}}


@dataclass
class DataResources:
    table: dynamodb.ITable
    bucket: s3.IBucket
    key: kms.IKey

    def table_statements(self, *, write: bool) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=list(TABLE_WRITE if write else TABLE_READ),
                resources=[self.table.table_arn, f"{self.table.table_arn}/index/*"],
            ),
            iam.PolicyStatement(
                actions=list(TABLE_KMS_WRITE if write else TABLE_KMS_READ),
                resources=[self.key.key_arn],
                conditions=_via("dynamodb"),
            ),
        ]

    def bucket_statements(self, *, write: bool) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=list(BUCKET_WRITE if write else BUCKET_READ),
                resources=[self.bucket.arn_for_objects("*")],
            ),
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket.bucket_arn]),
            iam.PolicyStatement(
                actions=list(BUCKET_KMS_WRITE if write else BUCKET_KMS_READ),
                resources=[self.key.key_arn],
                conditions=_via("s3"),
            ),
        ]


def queue_send(queue: sqs.IQueue) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(QUEUE_SEND), resources=[queue.queue_arn])


def queue_consume(queue: sqs.IQueue) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(QUEUE_CONSUME), resources=[queue.queue_arn])
