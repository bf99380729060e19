"""What the ECS service needs from each media task, sent on every heartbeat:

- the ``Voicelane/LiveCalls`` metric (dimension ``service``) that the service's target
  tracking scales on, as an Embedded Metric Format line on stdout (the awslogs driver hands it
  to CloudWatch Logs, which extracts the metric: no PutMetricData call, no extra latency);
- scale-in protection while the task has live calls, through the ECS agent's task-protection
  endpoint (``$ECS_AGENT_URI/task-protection/v1/state``), so scaling in never cuts a call.
  Protection expires on its own (a task that dies keeps nobody waiting); it is renewed while
  calls last and dropped when the last one ends.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)

NAMESPACE = "Voicelane"
LIVE_CALLS = "LiveCalls"
PROTECTION_MINUTES = 60
RENEW_AFTER_S = 20 * 60  # renewed well before the 60 minutes run out


def live_calls_line(service: str, live_calls: int, now_ms: int | None = None) -> str:
    """One EMF record of the LiveCalls metric."""
    return json.dumps({
        "_aws": {
            "Timestamp": now_ms if now_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["service"]],
                                   "Metrics": [{"Name": LIVE_CALLS, "Unit": "Count"}]}],
        },
        "service": service,
        LIVE_CALLS: live_calls,
    }, separators=(",", ":"))


class FleetSignals:
    """``await update(live_calls)`` on every heartbeat. Without a service name no metric is
    written; without an ECS agent (not on ECS) no protection is asked for."""

    def __init__(self, service: str | None = None, agent_uri: str | None = None,
                 emit: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service if service is not None else os.environ.get(
            "POWERTOOLS_SERVICE_NAME", "")
        self.agent_uri = agent_uri if agent_uri is not None else os.environ.get(
            "ECS_AGENT_URI", "")
        self.emit = emit or (lambda line: print(line, flush=True))
        self.clock = clock
        self.protected = False
        self._protected_at = 0.0

    async def update(self, live_calls: int) -> None:
        if self.service:
            self.emit(live_calls_line(self.service, live_calls))
        if not self.agent_uri:
            return
        want = live_calls > 0
        renew = want and self.clock() - self._protected_at >= RENEW_AFTER_S
        if want != self.protected or renew:
            await self._protect(want)

    async def _protect(self, enabled: bool) -> None:
        body: dict[str, object] = {"ProtectionEnabled": enabled}
        if enabled:
            body["ExpiresInMinutes"] = PROTECTION_MINUTES
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                resp = await client.put(f"{self.agent_uri}/task-protection/v1/state", json=body)
            resp.raise_for_status()
        except httpx.HTTPError as exc:  # asked again on the next heartbeat
            log.warning("task protection %s failed: %s", "on" if enabled else "off", exc)
            return
        self.protected = enabled
        self._protected_at = self.clock()
