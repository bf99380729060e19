"""Live event stream connections (API Gateway WebSocket) on the main table.

APP#{app}/WSCONN#{connection_id} lists an app's connections; WSCONN#{id}/WSCONN finds the app of
a connection on $disconnect. Both expire after a day (API Gateway closes connections at 2 h).
"""

from __future__ import annotations

import time

from voicelane.adapters.dynamo.table import Table

TTL_S = 24 * 3600


class DynamoWsConnections:
    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, app_id: str, connection_id: str) -> None:
        expires = int(time.time()) + TTL_S
        base = {"entity": "ws_connection", "app_id": app_id, "connection_id": connection_id,
                "expires_at": expires}
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
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :c)", {":pk": f"APP#{app_id}", ":c": "WSCONN#"}
        )
        return [str(i["connection_id"]) for i in items]
