"""Session records (written with their call in one transaction by CallRepository.create)."""

from __future__ import annotations

from typing import Any

from voicelane.adapters.dynamo.table import Table


class DynamoSessionStore:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def get(self, session_id: str) -> dict[str, Any] | None:
        return self.table.get(f"SESSION#{session_id}", "SESSION")
