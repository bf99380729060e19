"""Data: the customer-managed KMS key, the DynamoDB table(s), the recordings bucket and the
generated secrets. Table shapes come from voicelane.resources (shared with the local bootstrap)."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from voicelane import resources

from .config import StageConfig
from .names import logical


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/voicelane-{config.stage}",
            description=f"Voicelane {config.stage}: table, recordings, function environment, alarms",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        # CloudWatch alarms publish to the (encrypted) alarm topic.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )

        self.tables: dict[str, dynamodb.Table] = {}
        for table_def in resources.TABLES:
            self.tables[table_def.logical_id] = self._table(table_def, config, removal)
        self.table = self.tables[resources.MAIN_TABLE.logical_id]

        self.bucket = s3.Bucket(
            self,
            logical(resources.RECORDINGS_BUCKET.logical_id) + "Bucket",
            bucket_name=resources.RECORDINGS_BUCKET.physical_name(
                config.stage, f"{Aws.ACCOUNT_ID}-{Aws.REGION}"
            ),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            lifecycle_rules=self._lifecycle(config),
            removal_policy=removal,
        )

        self.session_token_secret = self._secret("SessionTokenSecret", config, "session-token")
        self.internal_token = self._secret("InternalToken", config, "internal-token")

    def _table(
        self, table_def: resources.TableDef, config: StageConfig, removal: RemovalPolicy
    ) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            logical(table_def.logical_id) + "Table",
            table_name=table_def.physical_name(config.stage),
            partition_key=dynamodb.Attribute(
                name=table_def.partition_key, type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(
                name=table_def.sort_key, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            stream=dynamodb.StreamViewType(table_def.stream_view) if table_def.stream else None,
            time_to_live_attribute=table_def.ttl_attribute,
            deletion_protection=config.retain_data,
            removal_policy=removal,
        )
        for index in table_def.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(
                    name=index.partition_key, type=dynamodb.AttributeType.STRING
                ),
                sort_key=dynamodb.Attribute(
                    name=index.sort_key, type=dynamodb.AttributeType.STRING
                ),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        return table

    @staticmethod
    def _lifecycle(config: StageConfig) -> list[s3.LifecycleRule]:
        rule = s3.LifecycleRule(
            id="recordings",
            enabled=True,
            abort_incomplete_multipart_upload_after=Duration.days(2),
            transitions=[
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=Duration.days(config.recordings_ia_days),
                )
            ]
            if config.recordings_ia_days
            else None,
            expiration=Duration.days(config.recordings_expire_days)
            if config.recordings_expire_days
            else None,
        )
        return [rule]

    def _secret(self, construct_id: str, config: StageConfig, name: str) -> secretsmanager.Secret:
        # The value is generated by Secrets Manager at deploy time; the template holds only a
        # reference. Functions receive it through a dynamic reference, the media task through
        # ECS secrets injection.
        return secretsmanager.Secret(
            self,
            construct_id,
            secret_name=f"voicelane/{config.stage}/{name}",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
