"""Recording objects (S3, SSE-KMS in AWS, plain locally) and their CALL#{id}/RECORDING item."""

from __future__ import annotations

from typing import Any

from voicelane.adapters import aws
from voicelane.adapters.artifacts import recordings_bucket
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.models import Call
from voicelane.services.clock import now_iso
from voicelane.settings import Settings


def recording_key(call: Call) -> str:
    return f"recordings/{call.app_id}/{call.call_id}.wav"


class RecordingStore:
    """Writes one call's dual-channel WAV and the record that points at it."""

    def __init__(self, table: Table, settings: Settings) -> None:
        self.table = table
        self.settings = settings

    def save(self, call: Call, wav: bytes, duration_s: float) -> str:
        key = recording_key(call)
        put: dict[str, Any] = {
            "Bucket": recordings_bucket(self.settings), "Key": key, "Body": wav,
            "ContentType": "audio/wav",
        }
        if not self.settings.local:
            put["ServerSideEncryption"] = "aws:kms"
        aws.client("s3", self.settings).put_object(**put)
        self.table.put({
            "pk": f"CALL#{call.call_id}", "sk": "RECORDING", "entity": "recording",
            "call_id": call.call_id, "app_id": call.app_id, "s3_key": key,
            "duration_s": round(duration_s, 3), "channels": 2, "format": "wav",
            "sample_rate": 8000, "size_bytes": len(wav), "created_at": now_iso(),
        })
        return key
