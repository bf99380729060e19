"""A call's transcript and recording, as the API shows them."""

from __future__ import annotations

from typing import Any

from voicelane.domain.errors import NotFound
from voicelane.domain.models import App
from voicelane.ports import ArtifactStore
from voicelane.services.lifecycle import CallLifecycle

DOWNLOAD_URL_TTL_S = 300


class ArtifactService:
    def __init__(self, lifecycle: CallLifecycle, store: ArtifactStore) -> None:
        self.lifecycle = lifecycle
        self.store = store

    def transcript(self, app: App, call_id: str) -> dict[str, Any]:
        self.lifecycle.load(call_id, app.app_id)
        record = self.store.get_transcript(call_id)
        if record is None:
            raise NotFound("the call has no transcript yet", code="transcript_not_found")
        return {"call_id": call_id, **record}

    def recording(self, app: App, call_id: str) -> dict[str, Any]:
        self.lifecycle.load(call_id, app.app_id)
        record = self.store.get_recording(call_id)
        if record is None:
            raise NotFound("the call has no recording yet", code="recording_not_found")
        view = dict(record)
        view["download_url"] = self.store.download_url(record["s3_key"], DOWNLOAD_URL_TTL_S)
        view["download_url_expires_in_s"] = DOWNLOAD_URL_TTL_S
        return {"call_id": call_id, **view}

    def download_url(self, s3_key: str) -> tuple[str, int]:
        """A short-lived URL of a stored object (a conference's recording) and its TTL."""
        return self.store.download_url(s3_key, DOWNLOAD_URL_TTL_S), DOWNLOAD_URL_TTL_S
