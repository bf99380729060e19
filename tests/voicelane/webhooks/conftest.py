"""Webhook tests run on the session's local stack (moto server, API, runner jobs)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from voicelane.container import Container
from voicelane.services.webhook_dispatch import DispatchConfig

from tests.conftest import Tenant


@pytest.fixture
def fast_retries(container: Container) -> Iterator[Callable[..., None]]:
    """`fast_retries(schedule=(0, 1, 1), timeout_s=0.5)`: compress the running dispatcher's
    retry schedule and timeout (what VOICELANE_WEBHOOK_RETRY_SCHEDULE and
    VOICELANE_WEBHOOK_TIMEOUT_S do at start-up) for one test."""
    dispatcher = container.webhook_dispatcher
    saved = dispatcher.config

    def apply(schedule: tuple[int, ...] = (0, 1, 1), timeout_s: float = 0.5) -> None:
        dispatcher.config = DispatchConfig(schedule, timeout_s, saved.concurrency)

    yield apply
    dispatcher.config = saved


@pytest.fixture
def tenant(new_tenant: Callable[..., Tenant]) -> Tenant:
    """An app that may send webhooks to loopback (like the local dev app)."""
    return new_tenant("webhooks", allow_private_webhooks=True, max_concurrent_calls=100_000)
