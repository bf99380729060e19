"""node-sweeper: ends the calls of media nodes whose heartbeat stopped (`media_node_lost`),
and the calls of media-stream sessions nobody connected to in time (`session_expired`).

Scheduled every minute; one invocation sweeps `passes` times, `interval_s` apart (default
4 x 15 s), so a lost node's calls end within 60 s although schedules fire once a minute.
Event (optional): ``{"passes": 1, "interval_s": 0}``.
"""

from __future__ import annotations

import time
from typing import Any

from voicelane.lambda_runtime import instrument, observability

obs = observability("node-sweeper")


def _sweep(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    from voicelane.container import get_container

    passes = max(1, min(int(event.get("passes", 4)), 4))
    interval_s = max(0.0, min(float(event.get("interval_s", 15)), 15.0))
    container = get_container()
    ended: list[str] = []
    expired: list[str] = []
    for i in range(passes):
        if i:
            time.sleep(interval_s)  # waiting for the next pass is the function's whole job
        ended += container.nodes.sweep()
        expired += container.sessions.expire_due()
    obs.count("CallsEndedNodeLost", len(ended))
    obs.count("SessionsExpired", len(expired))
    if ended:
        obs.logger.warning("ended calls of lost media nodes", extra={"call_ids": ended})
    return {"ended": ended, "expired": expired}


handler = instrument(obs, _sweep)
