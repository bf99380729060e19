"""SIP trunks of an app."""

from __future__ import annotations

from typing import Protocol

from voicelane.contracts.trunks import CreateTrunkRequest, UpdateTrunkRequest
from voicelane.domain.errors import NotFound
from voicelane.domain.ids import new_id
from voicelane.domain.models import App, Trunk
from voicelane.services.clock import now_iso


class TrunkRepository(Protocol):
    def put(self, trunk: Trunk) -> None: ...
    def get(self, app_id: str, trunk_id: str) -> Trunk | None: ...
    def list(self, app_id: str) -> list[Trunk]: ...
    def delete(self, app_id: str, trunk_id: str) -> None: ...


class TrunkService:
    def __init__(self, trunks: TrunkRepository) -> None:
        self.trunks = trunks

    def create(self, app: App, req: CreateTrunkRequest) -> Trunk:
        trunk = Trunk(trunk_id=new_id("trunk"), app_id=app.app_id, created_at=now_iso(),
                      **req.model_dump())
        self.trunks.put(trunk)
        return trunk

    def get(self, app: App, trunk_id: str) -> Trunk:
        trunk = self.trunks.get(app.app_id, trunk_id)
        if trunk is None:
            raise NotFound("trunk not found", code="trunk_not_found", details={"trunk_id": trunk_id})
        return trunk

    def list_trunks(self, app: App) -> list[Trunk]:
        return self.for_app(app.app_id)

    def for_app(self, app_id: str) -> list[Trunk]:
        """The app's trunks in the order outbound calls try them."""
        return sorted(self.trunks.list(app_id), key=lambda t: (t.priority, t.created_at))

    def update(self, app: App, trunk_id: str, req: UpdateTrunkRequest) -> Trunk:
        """Change the fields sent; calls already up keep what they negotiated."""
        trunk = self.get(app, trunk_id)
        updated = trunk.model_copy(update={**req.changes(), "updated_at": now_iso()})
        self.trunks.put(updated)
        return updated

    def delete(self, app: App, trunk_id: str) -> None:
        self.get(app, trunk_id)
        self.trunks.delete(app.app_id, trunk_id)
