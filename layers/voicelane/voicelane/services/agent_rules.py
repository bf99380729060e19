"""The rules of an agent's configuration, in one place for every route that accepts one: an
agent created or updated through /v1/agents, and an inline agent on a call or a session.

Each rule's 422 code is listed once for the OpenAPI document (`api.responses.AGENT_RULES`); a
route that skipped one (inline agents on sessions skipped the tool-URL SSRF guard) accepted
what /v1/agents refused.
"""

from __future__ import annotations

from voicelane.domain.agent import AgentSpec
from voicelane.domain.machine_detection import check_machine_detection
from voicelane.domain.models import App
from voicelane.domain.script import check_script
from voicelane.services.url_guard import check_tool_urls
from voicelane.webhook_ports import Resolver


def check_agent(app: App, spec: AgentSpec, resolver: Resolver | None) -> None:
    """422 unless ``spec`` passes every agent rule: its script against its tools
    (`script_invalid`, `script_unknown_tool`), its HTTP tools' URLs against the SSRF guard
    (`tool_url_not_allowed`, unless the app allows private addresses; skipped only when no
    resolver is wired, in unit tests), its machine detection (`machine_detection_*`)."""
    check_script(spec)
    if resolver is not None:
        check_tool_urls(spec, resolver, allow_private=app.allow_private_webhooks)
    check_machine_detection(spec.machine_detection)
