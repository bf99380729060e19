"""Webhook endpoints, deliveries, fan-out markers and app-level events on the main table.

Keys (docs/webhooks.md): endpoint APP#{app}/WEBHOOK#{id}; delivery DELIVERY#{id}/DELIVERY
(gsi1 APP#{app}#WEBHOOK#{endpoint} by time, gsi2 CALL#{call}#DELIVERY by time); markers
EVENT#{event_id}/ROUTED|EVENTBRIDGE (TTL 7 days); app events APPEVENT#{app}/EVENT#{id}.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import ClientError

from voicelane.adapters.dynamo.codec import deserialize, error_code, serialize, strip_keys
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.webhooks import Delivery, WebhookEndpoint

MARKER_TTL_S = 7 * 24 * 3600


def endpoint_item(ep: WebhookEndpoint) -> dict[str, Any]:
    return {
        **ep.model_dump(mode="json"),
        "pk": f"APP#{ep.app_id}",
        "sk": f"WEBHOOK#{ep.endpoint_id}",
        "entity": "webhook_endpoint",
    }


def delivery_item(d: Delivery) -> dict[str, Any]:
    item = {
        **d.model_dump(mode="json"),
        "pk": f"DELIVERY#{d.delivery_id}",
        "sk": "DELIVERY",
        "entity": "delivery",
        "gsi1pk": f"APP#{d.app_id}#WEBHOOK#{d.endpoint_id}",
        "gsi1sk": f"{d.created_at}#{d.delivery_id}",
    }
    if d.call_id:
        item["gsi2pk"] = f"CALL#{d.call_id}#DELIVERY"
        item["gsi2sk"] = f"{d.created_at}#{d.delivery_id}"
    return item


class DynamoWebhookRepository:
    """WebhookRepository on the main table."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # -- batch helpers ------------------------------------------------------------------

    def _batch_get(self, keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self.table.name: {
                    "Keys": [serialize({"pk": pk, "sk": sk}) for pk, sk in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                resp = self.table.client.batch_get_item(RequestItems=request)
                out.extend(deserialize(i) for i in resp.get("Responses", {}).get(self.table.name, []))
                request = resp.get("UnprocessedKeys") or {}
        return out

    def _batch_put(self, items: list[dict[str, Any]]) -> None:
        for start in range(0, len(items), 25):
            request: dict[str, Any] = {
                self.table.name: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]
            }
            while request:
                resp = self.table.client.batch_write_item(RequestItems=request)
                request = resp.get("UnprocessedItems") or {}

    def _put_if_absent(self, item: dict[str, Any]) -> bool:
        try:
            self.table.put(item, "attribute_not_exists(pk)")
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    # -- endpoints ----------------------------------------------------------------------

    def put_endpoint(self, endpoint: WebhookEndpoint, *, new: bool = False) -> bool:
        item = endpoint_item(endpoint)
        if new:
            return self._put_if_absent(item)
        self.table.put(item)
        return True

    def get_endpoint(self, app_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        item = self.table.get(f"APP#{app_id}", f"WEBHOOK#{endpoint_id}")
        return WebhookEndpoint.model_validate(strip_keys(item)) if item else None

    def get_endpoints(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], WebhookEndpoint]:
        items = self._batch_get([(f"APP#{a}", f"WEBHOOK#{e}") for a, e in keys])
        eps = (WebhookEndpoint.model_validate(strip_keys(i)) for i in items)
        return {(ep.app_id, ep.endpoint_id): ep for ep in eps}

    def list_endpoints(self, app_id: str) -> list[WebhookEndpoint]:
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :w)", {":pk": f"APP#{app_id}", ":w": "WEBHOOK#"}
        )
        return [WebhookEndpoint.model_validate(strip_keys(i)) for i in items]

    def delete_endpoint(self, app_id: str, endpoint_id: str) -> bool:
        try:
            self.table.client.delete_item(
                TableName=self.table.name,
                Key=serialize({"pk": f"APP#{app_id}", "sk": f"WEBHOOK#{endpoint_id}"}),
                ConditionExpression="attribute_exists(pk)",
            )
            return True
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise

    # -- deliveries ---------------------------------------------------------------------

    def create_delivery(self, delivery: Delivery) -> Delivery | None:
        if self._put_if_absent(delivery_item(delivery)):
            return None
        return self.get_delivery(delivery.delivery_id)

    def create_deliveries_and_claim(self, deliveries: list[Delivery], event_ids: list[str],
                                    kind: str) -> bool:
        absent = "attribute_not_exists(pk)"
        items = [self.table.tx_put(delivery_item(d), absent) for d in deliveries]
        items += [self.table.tx_put(self._marker(e, kind), absent) for e in event_ids]
        if not items:
            return True
        try:
            self.table.transact(items)
            return True
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                return False
            raise

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        item = self.table.get(f"DELIVERY#{delivery_id}", "DELIVERY")
        return Delivery.model_validate(strip_keys(item)) if item else None

    def get_deliveries(self, delivery_ids: list[str]) -> dict[str, Delivery]:
        items = self._batch_get([(f"DELIVERY#{d}", "DELIVERY") for d in delivery_ids])
        out = (Delivery.model_validate(strip_keys(i)) for i in items)
        return {d.delivery_id: d for d in out}

    def save_deliveries(self, deliveries: list[Delivery]) -> None:
        self._batch_put([delivery_item(d) for d in deliveries])

    def _list(self, index: str, pk: str, limit: int) -> list[Delivery]:
        items = self.table.query(f"{index}pk = :pk", {":pk": pk}, index=index, forward=False,
                                 page_size=min(limit, 100))
        return [Delivery.model_validate(strip_keys(i)) for _, i in zip(range(limit), items, strict=False)]

    def list_endpoint_deliveries(self, app_id: str, endpoint_id: str, limit: int) -> list[Delivery]:
        return self._list("gsi1", f"APP#{app_id}#WEBHOOK#{endpoint_id}", limit)

    def list_call_deliveries(self, call_id: str, limit: int) -> list[Delivery]:
        return self._list("gsi2", f"CALL#{call_id}#DELIVERY", limit)

    # -- fan-out markers and app events ---------------------------------------------------

    @staticmethod
    def _marker(event_id: str, kind: str) -> dict[str, Any]:
        return {"pk": f"EVENT#{event_id}", "sk": kind, "entity": "marker",
                "expires_at": int(time.time()) + MARKER_TTL_S}

    def markers_present(self, event_ids: list[str], kind: str) -> set[str]:
        items = self._batch_get([(f"EVENT#{e}", kind) for e in event_ids])
        return {str(i["pk"]).removeprefix("EVENT#") for i in items}

    def claim_marker(self, event_id: str, kind: str) -> bool:
        return self._put_if_absent(self._marker(event_id, kind))

    def release_marker(self, event_id: str, kind: str) -> None:
        self.table.delete(f"EVENT#{event_id}", kind)

    def put_markers(self, event_ids: list[str], kind: str) -> None:
        self._batch_put([self._marker(e, kind) for e in event_ids])

    def put_app_event(self, event: dict[str, Any]) -> None:
        """An app-level event (not part of any call's sequence); the stream routes it."""
        self._put_if_absent(
            {**event, "pk": f"APPEVENT#{event['app_id']}", "sk": f"EVENT#{event['event_id']}",
             "entity": "app_event", "expires_at": int(time.time()) + 30 * 24 * 3600}
        )
