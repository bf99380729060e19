"""The SSRF guard; it lives in :mod:`voicelane.domain.url_guard` (the media plane's agent
tools use it too). This path stays for the control plane's existing imports."""

from voicelane.domain.url_guard import (
    TOOL_CODE,
    WEBHOOK_CODE,
    check_stream_url,
    check_tool_urls,
    check_url,
    refuse,
)

__all__ = ["TOOL_CODE", "WEBHOOK_CODE", "check_stream_url", "check_tool_urls", "check_url", "refuse"]
