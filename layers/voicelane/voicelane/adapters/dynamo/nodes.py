"""Media node registry and SIP trunks on the main table."""

from __future__ import annotations

from voicelane.adapters.dynamo.calls import call_from_item
from voicelane.adapters.dynamo.codec import strip_keys
from voicelane.adapters.dynamo.table import Table
from voicelane.domain.models import Call, MediaNode, Trunk


class DynamoNodeRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put(self, node: MediaNode) -> None:
        self.table.put(
            {**node.model_dump(mode="json"), "pk": f"NODE#{node.node_id}", "sk": "NODE",
             "entity": "node", "gsi2pk": "NODES", "gsi2sk": node.node_id}
        )

    def get(self, node_id: str) -> MediaNode | None:
        item = self.table.get(f"NODE#{node_id}", "NODE")
        return MediaNode.model_validate(strip_keys(item)) if item else None

    def all_nodes(self) -> list[MediaNode]:
        items = self.table.query("gsi2pk = :pk", {":pk": "NODES"}, index="gsi2")
        return [MediaNode.model_validate(strip_keys(i)) for i in items]

    def delete(self, node_id: str) -> None:
        self.table.delete(f"NODE#{node_id}", "NODE")

    def live_calls(self, node_id: str) -> list[Call]:
        """Calls claimed by the node and not ended (the call's gsi2 while it is live)."""
        items = self.table.query("gsi2pk = :pk", {":pk": f"NODECALLS#{node_id}"}, index="gsi2")
        return [call_from_item(i) for i in items]


class DynamoTrunkRepository:
    def __init__(self, table: Table | None = None) -> None:
        self.table = table or Table()

    def put(self, trunk: Trunk) -> None:
        self.table.put(
            {**trunk.model_dump(mode="json"), "pk": f"APP#{trunk.app_id}",
             "sk": f"TRUNK#{trunk.trunk_id}", "entity": "trunk"}
        )

    def get(self, app_id: str, trunk_id: str) -> Trunk | None:
        item = self.table.get(f"APP#{app_id}", f"TRUNK#{trunk_id}")
        return Trunk.model_validate(strip_keys(item)) if item else None

    def list(self, app_id: str) -> list[Trunk]:
        items = self.table.query(
            "pk = :pk AND begins_with(sk, :p)", {":pk": f"APP#{app_id}", ":p": "TRUNK#"}
        )
        return [Trunk.model_validate(strip_keys(i)) for i in items]

    def delete(self, app_id: str, trunk_id: str) -> None:
        self.table.delete(f"APP#{app_id}", f"TRUNK#{trunk_id}")
