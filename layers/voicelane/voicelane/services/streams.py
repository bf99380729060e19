"""The control plane's checks on a media stream to a bot (call creation, numbers, the
``stream_start`` command): the SSRF guard on its URL, and one owner of the call's audio."""

from __future__ import annotations

from voicelane.domain.errors import ValidationFailed
from voicelane.domain.models import App
from voicelane.domain.stream import StreamSpec
from voicelane.domain.url_guard import Resolver, check_stream_url


def check_stream(app: App, spec: StreamSpec, resolver: Resolver | None, *,
                 has_agent: bool) -> None:
    """422 `stream_url_not_allowed` for a URL the media node must not connect to (private
    addresses unless the app allows them; ``ws://`` only where private URLs are allowed, so a
    production stream is always encrypted), 422 `stream_agent_conflict` when a bidirectional
    stream and an agent would both speak on the call."""
    if spec.bidirectional and has_agent:
        raise ValidationFailed(
            "a bidirectional stream and an agent cannot both own the call's audio; use a "
            "one-way stream (bidirectional false) beside an agent", code="stream_agent_conflict")
    if resolver is not None:
        check_stream_url(spec.url, resolver, allow_private=app.allow_private_webhooks,
                         require_tls=not app.allow_private_webhooks)
