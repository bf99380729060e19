"""THE acceptance test: call lifecycles on the local stack against a receiver that fails about
30 % of requests (503, answers after the timeout, connection resets). Every event arrives, none
is lost, duplicates carry the same webhook-id, per-call sequences have no gap, every signature
verifies. VOICELANE_TEST_LIFECYCLES changes the count (bench/webhooks.py runs more)."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from voicelane.container import Container
from voicelane.contracts.calls import CreateCallRequest
from voicelane.domain.call import CallStatus

from tests.conftest import Tenant
from tests.webhooks.receiver import Receiver, verify

LIFECYCLES = int(os.environ.get("VOICELANE_TEST_LIFECYCLES", "1000"))
PATH = (CallStatus.INITIATED, CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED)


def run_lifecycle(c: Container, tenant: Tenant, url: str, i: int) -> str:
    req = CreateCallRequest.model_validate({
        "from": f"agent-{i}", "to": f"user-{i}", "from_channel": "webrtc", "to_channel": "webrtc",
        "webhook_url": url, "client_state": f"state-{i}",
    })
    call, _ = c.calls.create(tenant.app, req)
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


def test_every_event_arrives_despite_a_receiver_failing_30_percent(
    container: Container, tenant: Tenant, fast_retries: Callable[..., None]
) -> None:
    # 12 attempts 1 s apart: 0.3^12 ~ 5e-7 chance that one delivery exhausts them.
    fast_retries(schedule=(0,) + (1,) * 11, timeout_s=0.5)
    with Receiver(fail_rate=0.3, slow_s=0.8) as receiver:
        started = time.time()
        with ThreadPoolExecutor(4) as pool:
            call_ids = list(pool.map(lambda i: run_lifecycle(container, tenant, receiver.url, i),
                                     range(LIFECYCLES)))
        created_s = time.time() - started
        expected = {ev.event_id: ev for cid in call_ids for ev in container.call_repo.list_events(cid)}
        assert len(expected) == LIFECYCLES * 5

        def all_arrived() -> bool:
            return {r.payload["id"] for r in receiver.accepted()} >= set(expected)

        assert receiver.wait_for(all_arrived, timeout_s=150), missing_report(
            container, expected, receiver)
        elapsed = time.time() - started

    secret = container.webhooks.call_endpoint(tenant.app).secrets[0].secret
    webhook_ids: dict[str, set[str]] = defaultdict(set)
    sequences: dict[str, set[int]] = defaultdict(set)
    for r in receiver.requests:
        assert verify(secret, r.headers, r.body), r.headers
        payload = r.payload
        webhook_ids[payload["id"]].add(r.headers["webhook-id"])
        sequences[payload["data"]["id"]].add(payload["sequence"])
        assert payload["client_state"] == payload["data"]["client_state"]
        assert payload["type"] == expected[payload["id"]].type
    assert all(len(ids) == 1 for ids in webhook_ids.values()), "a duplicate changed webhook-id"
    for call_id in call_ids:
        assert sorted(sequences[call_id]) == [1, 2, 3, 4, 5], call_id
    failures = [r for r in receiver.requests if r.answered is None or r.answered >= 500]
    duplicates = len(receiver.accepted()) - len(expected)
    assert len(failures) > 0.2 * len(receiver.requests)  # the receiver really misbehaved
    print(f"\n{LIFECYCLES} lifecycles, {len(expected)} events, {len(receiver.requests)} requests, "
          f"{len(failures)} failed, {duplicates} duplicates accepted, {elapsed:.1f} s "
          f"(lifecycles written in {created_s:.1f} s)")
