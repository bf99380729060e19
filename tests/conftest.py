"""Fixtures shared by every test package.

`local_platform` is THE local stack of a test session: one moto server on loopback with the
stage's resources, the API under uvicorn on a free port and the local runner (no media node).
It sets VOICELANE_* in os.environ, so containers built by tests and handlers talk to it.
Create a fresh app per test (`new_tenant`) instead of sharing state between tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from voicelane.container import Container
from voicelane.domain.models import ApiKey, App
from voicelane_local.moto_server import free_port
from voicelane_local.platform import LocalPlatform


@pytest.fixture(scope="session")
def local_platform() -> Iterator[LocalPlatform]:
    # moto in its own process: it works on the second core instead of competing with the
    # tests, the API and the runner jobs for this process's GIL (halves the webhook no-loss run).
    os.environ.setdefault("VOICELANE_MOTO_PROCESS", "1")
    # Tests create calls in bursts within one app; the CPS cap's tests set their app's own
    # `calls_per_second` (the production default is 1, tests/voicelane/services/test_pacing.py).
    os.environ.setdefault("VOICELANE_CALLS_PER_SECOND", "1000")
    platform = LocalPlatform(api_port=free_port(), env_file=None, with_media=False).start()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def container(local_platform: LocalPlatform) -> Container:
    return local_platform.container


@dataclass
class Tenant:
    """An app of its own with one test key (plaintext in `api_key`)."""

    app: App
    key: ApiKey
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture
def new_tenant(container: Container) -> Callable[..., Tenant]:
    """`new_tenant(**app_settings)`: a new app (e.g. max_concurrent_calls=1) and its key."""

    def make(name: str = "test", **settings: Any) -> Tenant:
        app = container.apps.create_app(name, **settings)
        key, plaintext = container.apps.create_key(app.app_id, "test")
        return Tenant(app=app, key=key, api_key=plaintext)

    return make
