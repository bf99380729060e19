"""API tests: real HTTP (httpx) against the session's local platform (uvicorn + moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from voicelane_local.platform import LocalPlatform

from tests.voicelane.api.api_helpers import ApiUser


@pytest.fixture(scope="session")
def http(local_platform: LocalPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_platform.api_url, timeout=15) as client:
        yield client


@pytest.fixture
def new_user(http: httpx.Client, new_tenant: Callable[..., Any]) -> Callable[..., ApiUser]:
    def make(**app_settings: Any) -> ApiUser:
        return ApiUser(http, new_tenant(**app_settings))

    return make


@pytest.fixture
def user(new_user: Callable[..., ApiUser]) -> ApiUser:
    return new_user()
