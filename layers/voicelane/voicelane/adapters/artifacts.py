"""Transcript and recording records (DynamoDB) and recording objects (S3)."""

from __future__ import annotations

from typing import Any

from voicelane import resources
from voicelane.adapters import aws
from voicelane.adapters.dynamo.artifacts import DynamoArtifactRecords
from voicelane.adapters.dynamo.table import Table
from voicelane.media_gateway import ObjectUnreadable
from voicelane.settings import Settings


def recordings_bucket(settings: Settings) -> str:
    return settings.recordings_bucket or resources.RECORDINGS_BUCKET.physical_name(settings.stage)


class S3Objects:
    """Objects of the recordings bucket: recordings written, prompts and recordings read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def put_wav(self, key: str, wav: bytes) -> None:
        put: dict[str, Any] = {
            "Bucket": recordings_bucket(self.settings), "Key": key, "Body": wav,
            "ContentType": "audio/wav",
        }
        if not self.settings.local:  # the stage's bucket key (SSE-KMS); moto needs none
            put["ServerSideEncryption"] = "aws:kms"
        aws.client("s3", self.settings).put_object(**put)

    def read(self, key: str, max_bytes: int) -> bytes:
        """A key of the stage's recordings bucket (unless the setting overrides it), or an
        ``s3://bucket/key``; ObjectUnreadable otherwise."""
        bucket = recordings_bucket(self.settings)
        if key.startswith("s3://"):
            bucket, _, key = key[5:].partition("/")
        if not bucket or not key:
            raise ObjectUnreadable(f"not an S3 key or s3:// URL: {key!r}", code="invalid_key")
        s3 = aws.client("s3", self.settings)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
            if int(head.get("ContentLength", 0)) > max_bytes:
                raise ObjectUnreadable(f"s3://{bucket}/{key} is larger than {max_bytes} bytes",
                                       code="object_too_large")
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ObjectUnreadable:
            raise
        except Exception as exc:  # botocore's ClientError and connection errors
            raise ObjectUnreadable(f"cannot read s3://{bucket}/{key}: {exc}") from exc
        return body


class DynamoS3ArtifactStore:
    def __init__(self, table: Table, settings: Settings) -> None:
        self.records = DynamoArtifactRecords(table)
        self.settings = settings

    def get_transcript(self, call_id: str) -> dict[str, Any] | None:
        return self.records.get_transcript(call_id)

    def get_recording(self, call_id: str) -> dict[str, Any] | None:
        return self.records.get_recording(call_id)

    def download_url(self, s3_key: str, expires_s: int) -> str:
        url: str = aws.client("s3", self.settings).generate_presigned_url(
            "get_object",
            Params={"Bucket": recordings_bucket(self.settings), "Key": s3_key},
            ExpiresIn=expires_s,
        )
        return url
