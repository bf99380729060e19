"""THE acceptance test: 1,000 call lifecycles on the local stack against a receiver that fails
about 30 % of requests; the scenario and its checks are in tests/voicelane/webhooks/no_loss.py.
VOICELANE_TEST_LIFECYCLES changes the count; bench/webhooks_no_loss.py runs a longer one."""

from __future__ import annotations

import os

from voicelane.container import Container

from tests.conftest import Tenant
from tests.voicelane.webhooks.no_loss import run_no_loss

LIFECYCLES = int(os.environ.get("VOICELANE_TEST_LIFECYCLES", "1000"))


def test_every_event_arrives_despite_a_receiver_failing_30_percent(
        container: Container, tenant: Tenant) -> None:
    report = run_no_loss(container, tenant.app, LIFECYCLES)
    assert report.events == LIFECYCLES * 5 and report.failed > 0
    print(f"\n{report}")
