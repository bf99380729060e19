"""Fixtures for invoking functions/ handlers with the samples in events/ on the local stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from voicelane.container import Container

from tests.fresh_numbers import e164
from tests.functions.function_helpers import Deployment, LambdaContext


@pytest.fixture
def deployment(container: Container, new_tenant: Callable[..., Any]) -> Deployment:
    tenant = new_tenant()
    number = e164()
    container.numbers.create(tenant.app, number, None)
    return Deployment(container, tenant.app.app_id, tenant.api_key, number)


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()
