"""The no-loss scenario, shared by tests/voicelane/webhooks/test_no_loss.py (1,000 lifecycles in
`make test`) and bench/webhooks_no_loss.py (a longer run): call lifecycles on the local stack
against a receiver that fails about 30 % of requests (503, answers after the timeout,
connection resets). Every event arrives, none is lost, duplicates carry the same webhook-id,
per-call sequences have no gap, every signature verifies."""

from __future__ import annotations

import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from voicelane.container import Container
from voicelane.contracts.calls import CreateCallRequest
from voicelane.domain.call import CallStatus
from voicelane.domain.models import App
from voicelane.services.webhook_dispatch import DispatchConfig

from tests.voicelane.webhooks.receiver import Receiver, verify

PATH = (CallStatus.INITIATED, CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED)
# 12 attempts 1 s apart: 0.3^12 ~ 5e-7 chance that one delivery exhausts them.
SCHEDULE = (0,) + (1,) * 11
TIMEOUT_S = 0.5


@dataclass
class NoLossReport:
    lifecycles: int
    events: int
    requests: int
    failed: int
    duplicates: int
    created_s: float
    elapsed_s: float

    def __str__(self) -> str:
        return (f"{self.lifecycles} lifecycles, {self.events} events, {self.requests} requests, "
                f"{self.failed} failed, {self.duplicates} duplicates accepted, "
                f"{self.elapsed_s:.1f} s (lifecycles written in {self.created_s:.1f} s)")


def run_lifecycle(c: Container, app: App, url: str, i: int) -> str:
    req = CreateCallRequest.model_validate({
        "from": f"agent-{i}", "to": f"user-{i}", "from_channel": "webrtc", "to_channel": "webrtc",
        "webhook_url": url, "client_state": f"state-{i}",
    })
    call, _ = c.calls.create(app, req)
    for status in PATH:
        c.lifecycle.transition(call.call_id, status)
    return call.call_id


def missing_report(c: Container, expected: dict[str, Any], receiver: Receiver) -> str:
    """Which events never got a 2xx, and what their delivery records say."""
    missing = sorted(set(expected) - {r.payload["id"] for r in receiver.accepted()})
    lines = [f"missing {len(missing)} events"]
    for event_id in missing[:10]:
        ev = expected[event_id]
        tried = [r.answered for r in receiver.requests if r.payload["id"] == event_id]
        records = [d for d in c.webhook_repo.list_call_deliveries(ev.call_id, 20)
                   if d.event_id == event_id]
        lines.append(f"{event_id} {ev.type} of {ev.call_id}: receiver answered {tried}; records "
                     + "; ".join(f"{d.delivery_id} {d.status} "
                                 f"{[(a.status_code, a.error) for a in d.attempts]}"
                                 for d in records))
    return "\n".join(lines)


def run_no_loss(c: Container, app: App, lifecycles: int, wait_s: float = 150) -> NoLossReport:
    """Drive `lifecycles` calls of `app` (which must allow loopback webhooks) with the running
    dispatcher's schedule compressed; AssertionError names what was lost or wrong."""
    dispatcher = c.webhook_dispatcher
    saved = dispatcher.config
    dispatcher.config = DispatchConfig(SCHEDULE, TIMEOUT_S, saved.concurrency)
    try:
        with Receiver(fail_rate=0.3, slow_s=0.8) as receiver:
            started = time.time()
            with ThreadPoolExecutor(4) as pool:
                call_ids = list(pool.map(lambda i: run_lifecycle(c, app, receiver.url, i),
                                         range(lifecycles)))
            created_s = time.time() - started
            expected = {ev.event_id: ev for cid in call_ids
                        for ev in c.call_repo.list_events(cid)}
            assert len(expected) == lifecycles * 5

            def all_arrived() -> bool:
                return {r.payload["id"] for r in receiver.accepted()} >= set(expected)

            assert receiver.wait_for(all_arrived, timeout_s=wait_s), missing_report(
                c, expected, receiver)
            elapsed_s = time.time() - started
    finally:
        dispatcher.config = saved

    secret = c.webhooks.call_endpoint(app).secrets[0].secret
    webhook_ids: dict[str, set[str]] = defaultdict(set)
    sequences: dict[str, set[int]] = defaultdict(set)
    for r in receiver.requests:
        assert verify(secret, r.headers, r.body, received_at=r.at), r.headers
        payload = r.payload
        webhook_ids[payload["id"]].add(r.headers["webhook-id"])
        sequences[payload["data"]["id"]].add(payload["sequence"])
        assert payload["client_state"] == payload["data"]["client_state"]
        assert payload["type"] == expected[payload["id"]].type
    assert all(len(ids) == 1 for ids in webhook_ids.values()), "a duplicate changed webhook-id"
    for call_id in call_ids:
        assert sorted(sequences[call_id]) == [1, 2, 3, 4, 5], call_id
    failures = [r for r in receiver.requests
                if r.answered is None or r.answered >= 500 or r.late]
    # the receiver really misbehaved: about 30 % of requests (a 503, a reset or a late answer)
    assert len(failures) > 0.25 * len(receiver.requests), (len(failures), len(receiver.requests))
    return NoLossReport(lifecycles, len(expected), len(receiver.requests), len(failures),
                        len(receiver.accepted()) - len(expected), created_s, elapsed_s)
