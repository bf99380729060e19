"""Thin access to the main table through the low-level client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from voicelane.adapters import aws
from voicelane.adapters.dynamo.codec import deserialize, serialize
from voicelane.settings import Settings, get_settings


class Table:
    """The main table: get/put/query/transact with plain dicts in and out."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.name = self.settings.resolved_table_name()

    @property
    def client(self) -> Any:
        return aws.client("dynamodb", self.settings)

    def get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        resp = self.client.get_item(
            TableName=self.name, Key=serialize({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        item = resp.get("Item")
        return deserialize(item) if item else None

    def put(self, item: dict[str, Any], condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        self.client.put_item(**kwargs)

    def delete(self, pk: str, sk: str) -> None:
        self.client.delete_item(TableName=self.name, Key=serialize({"pk": pk, "sk": sk}))

    def query(
        self,
        key_condition: str,
        values: dict[str, Any],
        *,
        index: str | None = None,
        forward: bool = True,
        filter_expression: str | None = None,
        names: dict[str, str] | None = None,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Every item matching, page by page."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": forward,
            "Limit": page_size,
        }
        if index:
            kwargs["IndexName"] = index
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if names:
            kwargs["ExpressionAttributeNames"] = names
        while True:
            resp = self.client.query(**kwargs)
            for raw in resp.get("Items", []):
                yield deserialize(raw)
            last = resp.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def transact(self, items: list[dict[str, Any]]) -> None:
        self.client.transact_write_items(TransactItems=items)

    # Builders for transaction items -------------------------------------------------------

    def tx_put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.name, "Item": serialize(item)}
        if condition:
            put["ConditionExpression"] = condition
        return {"Put": put}

    def tx_update(
        self,
        pk: str,
        sk: str,
        update: str,
        values: dict[str, Any] | None = None,
        names: dict[str, str] | None = None,
        condition: str | None = None,
    ) -> dict[str, Any]:
        upd: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialize({"pk": pk, "sk": sk}),
            "UpdateExpression": update,
        }
        if values:
            upd["ExpressionAttributeValues"] = serialize(values)
        if names:
            upd["ExpressionAttributeNames"] = names
        if condition:
            upd["ConditionExpression"] = condition
        return {"Update": upd}

    def tx_delete(
        self, pk: str, sk: str, condition: str | None = None, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        d: dict[str, Any] = {"TableName": self.name, "Key": serialize({"pk": pk, "sk": sk})}
        if condition:
            d["ConditionExpression"] = condition
        if values:
            d["ExpressionAttributeValues"] = serialize(values)
        return {"Delete": d}
