"""Fixtures for invoking functions/ handlers with the samples in events/ on the local stack."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
from voicelane.container import Container

from tests.functions.function_helpers import Deployment, LambdaContext


@pytest.fixture
def deployment(container: Container, new_tenant: Callable[..., Any]) -> Deployment:
    tenant = new_tenant()
    number = f"+1415{random.randrange(10**6, 10**7)}"
    container.numbers.create(tenant.app, number, None)
    return Deployment(container, tenant.app.app_id, tenant.api_key, number)


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()
