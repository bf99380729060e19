"""Integration fixtures: a tenant with a number of its own on the session's moto stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from voicelane.container import Container

from tests.voicelane.adapters.call_helpers import Caller, fresh_number


@pytest.fixture
def new_caller(container: Container, new_tenant: Callable[..., Any]) -> Callable[..., Caller]:
    def make(**app_settings: Any) -> Caller:
        tenant = new_tenant(**app_settings)
        number = fresh_number()
        container.numbers.create(tenant.app, number, None)
        return Caller(tenant, number, container)

    return make


@pytest.fixture
def caller(new_caller: Callable[..., Caller]) -> Caller:
    return new_caller()
