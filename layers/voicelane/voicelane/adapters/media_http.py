"""Live commands to the owning media node over its authenticated internal HTTP endpoint."""

from __future__ import annotations

from typing import Any

from voicelane.adapters.dynamo.nodes import DynamoNodeRepository
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.conference import Conference
from voicelane.domain.errors import Conflict, Forbidden, Unavailable, ValidationFailed
from voicelane.domain.models import Call
from voicelane.settings import Settings, get_settings


class HttpMediaControl:
    def __init__(self, table: Table | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.nodes = DynamoNodeRepository(table or Table(self.settings))

    def command(self, call: Call, action: str, body: dict[str, Any]) -> dict[str, Any]:
        if not call.media_node:
            raise Conflict(
                "the call has no media node yet; retry shortly", code="call_not_controllable"
            )
        node = self.nodes.get(call.media_node)
        if node is None or not node.internal_url:
            raise Unavailable("the call's media node is not reachable", code="media_node_unavailable")
        url = f"{node.internal_url.rstrip('/')}/internal/calls/{call.call_id}/actions/{action}"
        return self._post(url, action, body, not_here="call_not_controllable",
                          not_here_text="the media node no longer holds the call")

    def conference_command(self, conference: Conference, action: str,
                           body: dict[str, Any]) -> dict[str, Any]:
        """A conference action (dial, mute, unmute, hold, unhold, kick, end) on its node."""
        node = self.nodes.get(conference.media_node or "")
        if node is None or not node.internal_url:
            raise Unavailable("the conference's media node is not reachable",
                              code="media_node_unavailable")
        base = node.internal_url.rstrip("/")
        url = f"{base}/internal/conferences/{conference.conference_id}/actions/{action}"
        return self._post(url, action, body, not_here="conference_not_here",
                          not_here_text="the media node no longer holds the conference")

    def _post(self, url: str, action: str, body: dict[str, Any], *, not_here: str,
              not_here_text: str) -> dict[str, Any]:
        import httpx  # here, not at import: ~60 ms of cold start for a call-control-only path

        try:
            resp = httpx.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {self.settings.internal_token}"},
                timeout=5.0,
            )
        except httpx.HTTPError as exc:
            raise Unavailable("the call's media node did not answer", code="media_node_unavailable") from exc
        if resp.status_code == 409:
            detail = resp.json().get("error", {}) if resp.headers.get("content-type", "").startswith("application/json") else {}
            raise Conflict(
                detail.get("message", f"{action} is not allowed in the call's state"),
                code=detail.get("code", "action_not_allowed"),
            )
        if resp.status_code == 404:
            raise Conflict(not_here_text, code=not_here)
        if resp.status_code == 422:
            detail = resp.json().get("error", {})
            raise ValidationFailed(detail.get("message", "invalid"),
                                   code=detail.get("code", "validation_error"))
        if resp.status_code == 403:  # the node's own destination check (an allow-list narrowed)
            raise Forbidden("the destination is not in the app's allow-list",
                            code="destination_not_allowed")
        if resp.status_code >= 400:
            raise Unavailable(f"the media node answered {resp.status_code}", code="media_node_error")
        result: dict[str, Any] = resp.json() if resp.content else {}
        return result
