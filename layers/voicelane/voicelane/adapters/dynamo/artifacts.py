"""Transcript and recording records of a call: CALL#{id}/TRANSCRIPT and CALL#{id}/RECORDING.

Written by the media gateway, read by the API (adapters/artifacts.py): one key layout."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from voicelane.adapters.dynamo.codec import strip_keys
from voicelane.adapters.dynamo.table import Table
from voicelane.media_gateway import RecordingMetadata, TranscriptRecord

TRANSCRIPT_SK = "TRANSCRIPT"
RECORDING_SK = "RECORDING"


def _pk(call_id: str) -> str:
    return f"CALL#{call_id}"


def transcript_item(record: TranscriptRecord) -> dict[str, Any]:
    """The stored transcript: its fields beside the transcript content (turns, metrics...)."""
    return {"pk": _pk(record.call_id), "sk": TRANSCRIPT_SK, "entity": "transcript",
            "app_id": record.app_id, "agent_id": record.agent_id, "reason": record.reason,
            "transferred_to": record.transferred_to, "created_at": record.created_at,
            **record.content}


def recording_item(meta: RecordingMetadata) -> dict[str, Any]:
    return {"pk": _pk(meta.call_id), "sk": RECORDING_SK, "entity": "recording",
            **asdict(meta), "duration_s": round(meta.duration_s, 3)}


class DynamoArtifactRecords:
    """The two artifact records of a call on the main table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def put_transcript(self, record: TranscriptRecord) -> None:
        self.table.put(transcript_item(record))

    def put_recording(self, meta: RecordingMetadata) -> None:
        self.table.put(recording_item(meta))

    def get_transcript(self, call_id: str) -> dict[str, Any] | None:
        item = self.table.get(_pk(call_id), TRANSCRIPT_SK)
        return strip_keys(item) if item else None

    def get_recording(self, call_id: str) -> dict[str, Any] | None:
        item = self.table.get(_pk(call_id), RECORDING_SK)
        return strip_keys(item) if item else None
