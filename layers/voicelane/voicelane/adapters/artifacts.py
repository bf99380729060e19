"""Transcript and recording records (DynamoDB) and recording objects (S3)."""

from __future__ import annotations

from typing import Any

from voicelane import resources
from voicelane.adapters import aws
from voicelane.adapters.dynamo.codec import strip_keys
from voicelane.adapters.dynamo.table import Table
from voicelane.settings import Settings


def recordings_bucket(settings: Settings) -> str:
    return settings.recordings_bucket or resources.RECORDINGS_BUCKET.physical_name(settings.stage)


class DynamoS3ArtifactStore:
    def __init__(self, table: Table, settings: Settings) -> None:
        self.table = table
        self.settings = settings

    def get_transcript(self, call_id: str) -> dict[str, Any] | None:
        item = self.table.get(f"CALL#{call_id}", "TRANSCRIPT")
        return strip_keys(item) if item else None

    def get_recording(self, call_id: str) -> dict[str, Any] | None:
        item = self.table.get(f"CALL#{call_id}", "RECORDING")
        return strip_keys(item) if item else None

    def download_url(self, s3_key: str, expires_s: int) -> str:
        url: str = aws.client("s3", self.settings).generate_presigned_url(
            "get_object",
            Params={"Bucket": recordings_bucket(self.settings), "Key": s3_key},
            ExpiresIn=expires_s,
        )
        return url
