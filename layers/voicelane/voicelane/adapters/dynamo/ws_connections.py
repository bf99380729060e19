"""Live event stream connections (API Gateway WebSocket) on the main table.

APP#{app}/WSCONN#{connection_id} lists an app's connections; WSCONN#{id}/WSCONN finds the app of
a connection on $disconnect and on its messages; both carry the calls it follows (`call_ids`,
unless `follows_all`). Both expire after a day (API Gateway closes connections at 2 h).
"""

from __future__ import annotations

import time
from typing import Any

from voicelane.adapters.dynamo.table import Table

TTL_S = 24 * 3600


class DynamoWsConnections:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, app_id: str, connection_id: str, key_id: str | None = None) -> None:
        expires = int(time.time()) + TTL_S
        base: dict[str, object] = {"entity": "ws_connection", "app_id": app_id,
                                   "connection_id": connection_id, "expires_at": expires}
        if key_id is not None:  # commands count against (and end with) the key that connected
            base["key_id"] = key_id
        self.table.transact([
            self.table.tx_put({**base, "pk": f"APP#{app_id}", "sk": f"WSCONN#{connection_id}"}),
            self.table.tx_put({**base, "pk": f"WSCONN#{connection_id}", "sk": "WSCONN"}),
        ])

    def remove(self, connection_id: str) -> None:
        item = self.table.get(f"WSCONN#{connection_id}", "WSCONN")
        if item is None:
            return
        self.table.transact([
            self.table.tx_delete(f"APP#{item['app_id']}", f"WSCONN#{connection_id}"),
            self.table.tx_delete(f"WSCONN#{connection_id}", "WSCONN"),
        ])

    def for_app(self, app_id: str) -> list[str]:
        return list(self.subscriptions(app_id))

    def subscriptions(self, app_id: str) -> dict[str, set[str] | None]:
        """The app's connections and the calls each follows (None: every call)."""
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :c)", {":pk": f"APP#{app_id}", ":c": "WSCONN#"}
        )
        return {str(i["connection_id"]): _calls(i) for i in items}

    def app_of(self, connection_id: str) -> tuple[str, set[str] | None] | None:
        """The app of a connection and the calls it follows; None for an unknown one."""
        known = self.lookup(connection_id)
        return (known[0], known[1]) if known else None

    def lookup(self, connection_id: str) -> tuple[str, set[str] | None, str | None] | None:
        """The app of a connection, the calls it follows and the key it connected with."""
        item = self.table.get(f"WSCONN#{connection_id}", "WSCONN")
        if item is None:
            return None
        key_id = item.get("key_id")
        return str(item["app_id"]), _calls(item), str(key_id) if key_id else None

    def follow(self, app_id: str, connection_id: str, call_ids: set[str] | None) -> None:
        """Set the calls a connection follows (None: every call of its app)."""
        values: dict[str, Any]
        if call_ids is None:
            update, values = "REMOVE call_ids SET follows_all = :t", {":t": True}
        else:
            update = "SET call_ids = :c, follows_all = :f"
            values = {":c": sorted(call_ids), ":f": False}
        self.table.transact([
            self.table.tx_update(f"APP#{app_id}", f"WSCONN#{connection_id}", update, values,
                                 condition="attribute_exists(pk)"),
            self.table.tx_update(f"WSCONN#{connection_id}", "WSCONN", update, values,
                                 condition="attribute_exists(pk)"),
        ])


def _calls(item: dict[str, object]) -> set[str] | None:
    if item.get("follows_all", True):
        return None
    calls = item.get("call_ids")
    return {str(c) for c in calls} if isinstance(calls, list) else set()
