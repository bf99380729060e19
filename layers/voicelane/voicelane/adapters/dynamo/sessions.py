"""Session records (written with their call in one transaction by CallRepository.create).

A pending session is also in gsi2 under ``SESSIONS#PENDING`` by expiry time (what the expiry
sweep reads); connecting or expiring it is one conditional update that also leaves the index,
so a token connects once and a session expires at most once, never both.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from botocore.exceptions import ClientError

from voicelane.adapters.dynamo.codec import error_code, serialize
from voicelane.adapters.dynamo.table import Table
from voicelane.ports import SessionRecord

PENDING_PK = "SESSIONS#PENDING"


def session_key(session_id: str) -> tuple[str, str]:
    return f"SESSION#{session_id}", "SESSION"


def session_item(record: SessionRecord) -> dict[str, Any]:
    pk, sk = session_key(record.session_id)
    item = {"pk": pk, "sk": sk, "entity": "session", **asdict(record)}
    if record.state == "pending":
        item |= {"gsi2pk": PENDING_PK, "gsi2sk": f"{record.expires_at_iso}#{record.session_id}"}
    return item


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

    def _leave_pending(self, session_id: str, state: str, node_id: str | None) -> bool:
        pk, sk = session_key(session_id)
        update = "SET #state = :state REMOVE gsi2pk, gsi2sk"
        values: dict[str, Any] = {":state": state, ":pending": "pending"}
        if node_id is not None:
            update = "SET #state = :state, node_id = :node REMOVE gsi2pk, gsi2sk"
            values[":node"] = node_id
        try:
            self.table.client.update_item(
                TableName=self.table.name, Key=serialize({"pk": pk, "sk": sk}),
                UpdateExpression=update, ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=serialize(values),
                # records written before sessions had a state are pending too
                ConditionExpression="attribute_exists(pk) AND "
                                    "(attribute_not_exists(#state) OR #state = :pending)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_connected(self, session_id: str, node_id: str) -> bool:
        return self._leave_pending(session_id, "connected", node_id)

    def mark_expired(self, session_id: str) -> bool:
        return self._leave_pending(session_id, "expired", None)

    def pending_expired(self, now_iso: str) -> list[SessionRecord]:
        items = self.table.query("gsi2pk = :pk AND gsi2sk < :now",
                                 {":pk": PENDING_PK, ":now": now_iso}, index="gsi2")
        return [session_from_item(item) for _, item in zip(range(100), items, strict=False)]
