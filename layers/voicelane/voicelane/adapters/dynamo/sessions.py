"""Session records (written with their call in one transaction by CallRepository.create)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from voicelane.adapters.dynamo.table import Table
from voicelane.ports import SessionRecord


def session_key(session_id: str) -> tuple[str, str]:
    return f"SESSION#{session_id}", "SESSION"


def session_item(record: SessionRecord) -> dict[str, Any]:
    pk, sk = session_key(record.session_id)
    return {"pk": pk, "sk": sk, "entity": "session", **asdict(record)}


def session_from_item(item: dict[str, Any]) -> SessionRecord:
    names = {f.name for f in fields(SessionRecord)}
    values = {k: v for k, v in item.items() if k in names}
    values.setdefault("sample_rate", None)  # stored without it when the request had none
    if values["sample_rate"] is not None:
        values["sample_rate"] = int(values["sample_rate"])  # DynamoDB numbers come back Decimal
    return SessionRecord(**values)


class DynamoSessionStore:
    """SessionStore on the main table."""

    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def get(self, session_id: str) -> SessionRecord | None:
        item = self.table.get(*session_key(session_id))
        return session_from_item(item) if item else None
