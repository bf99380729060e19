"""Helpers for integration tests: a tenant with a number of its own on the session's moto stack."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from voicelane.container import Container
from voicelane.contracts.calls import CreateCallRequest
from voicelane.domain.models import Call


def fresh_number(country: str = "1415") -> str:
    """A random E.164 number: numbers are global in the table, tests must not collide."""
    return f"+{country}{random.randrange(10**6, 10**7)}"


@dataclass
class Caller:
    tenant: Any  # tests/conftest.py Tenant
    number: str
    container: Container

    def request(self, **fields: Any) -> CreateCallRequest:
        body = {"from": self.number, "to": fresh_number(), **fields}
        return CreateCallRequest.model_validate(body)

    def place(self, idempotency_key: str | None = None, **fields: Any) -> Call:
        app = self.container.apps.get_app(self.tenant.app.app_id)
        call, _ = self.container.calls.create(app, self.request(**fields), idempotency_key)
        return call

    def items(self, call_id: str) -> list[dict[str, Any]]:
        """Every raw item under the call's partition (call, events, artifacts)."""
        return list(self.container.table.query("pk = :pk", {":pk": f"CALL#{call_id}"}))

    def active_calls(self) -> int:
        return self.container.apps.get_app(self.tenant.app.app_id).active_calls
