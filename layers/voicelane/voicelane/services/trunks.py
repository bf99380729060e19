"""SIP trunks of an app."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicelane.domain.errors import NotFound
from voicelane.domain.ids import new_id
from voicelane.domain.models import App, Trunk
from voicelane.services.clock import now_iso

HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:]+\]$")


class TrunkRepository(Protocol):
    def put(self, trunk: Trunk) -> None: ...
    def get(self, app_id: str, trunk_id: str) -> Trunk | None: ...
    def list(self, app_id: str) -> list[Trunk]: ...
    def delete(self, app_id: str, trunk_id: str) -> None: ...


class CreateTrunkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    host: str = Field(pattern=HOST_RE.pattern, description="Host name or IP of the carrier")
    port: int = Field(default=5060, ge=1, le=65535)
    transport: str = Field(default="udp", pattern=r"^(udp|tcp)$")
    username: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=256)
    priority: int = Field(default=10, ge=0, le=1000, description="Lower is tried first")
    inbound_addresses: list[str] = Field(
        default_factory=list, max_length=32,
        description="IP addresses or CIDR networks the carrier sends INVITEs from, besides the "
                    "address of `host`; inbound calls from anywhere else are refused (403)")

    @field_validator("inbound_addresses")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            try:
                out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"not an IP address or CIDR network: {value!r}") from None
        return out


def trunk_view(trunk: Trunk) -> dict[str, Any]:
    """A trunk as the API shows it: never the password."""
    data = trunk.model_dump(mode="json", exclude={"password"})
    data["id"] = data.pop("trunk_id")
    data["has_password"] = bool(trunk.password)
    return data


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

    def delete(self, app: App, trunk_id: str) -> None:
        self.get(app, trunk_id)
        self.trunks.delete(app.app_id, trunk_id)
