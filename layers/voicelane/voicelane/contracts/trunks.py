"""SIP trunk API contracts: /v1/trunks."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicelane.domain.codecs import CODECS, normalize_codecs
from voicelane.domain.models import Trunk
from voicelane.domain.storable import JsonInt

HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:]+\]$")


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# An IPv4 or IPv6 address, or an IPv4 network; IPv6 networks (2001:db8::/32) are taken too.
ADDRESS_SCHEMA: dict[str, Any] = {"anyOf": [
    {"type": "string", "format": "ipv4"},
    {"type": "string", "format": "ipv6"},
    {"type": "string", "pattern": rf"^({_OCTET}\.){{3}}{_OCTET}/(3[0-2]|[12]?[0-9])$"},
]}


class CreateTrunkRequest(BaseModel):
    """A carrier's SIP trunk: where outbound PSTN calls go and inbound ones come from."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    host: str = Field(pattern=HOST_RE.pattern, description="Host name or IP of the carrier")
    port: JsonInt = Field(default=5060, ge=1, le=65535)
    transport: str = Field(default="udp", pattern=r"^(udp|tcp)$")
    username: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=256)
    priority: JsonInt = Field(default=10, ge=0, le=1000, description="Lower is tried first")
    inbound_addresses: list[str] = Field(
        default_factory=list, max_length=32, json_schema_extra={"items": ADDRESS_SCHEMA},
        description="IP addresses or CIDR networks the carrier sends INVITEs from, besides the "
                    "address of `host`; inbound calls from anywhere else are refused (403)")
    codecs: list[str] | None = Field(
        default=None, min_length=1, max_length=len(CODECS),
        json_schema_extra={"items": {"enum": list(CODECS.values())}},
        description="Audio codecs offered and accepted on this trunk, most preferred first "
                    "(PCMU, PCMA, G722, opus; any case). G722 and opus are wideband: the agent "
                    "then hears and speaks 16 kHz audio. Omitted: the media node's default "
                    "(PCMU, PCMA)")

    @field_validator("codecs")
    @classmethod
    def _codecs(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else normalize_codecs(values)

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


class TrunkView(BaseModel):
    """A trunk as the API shows it: never the password, only whether it has one."""

    id: str
    app_id: str
    name: str
    host: str
    port: int
    transport: str
    username: str | None
    priority: int = Field(description="Lower is tried first")
    inbound_addresses: list[str]
    codecs: list[str] | None = Field(
        description="Codecs of this trunk, most preferred first; null: the node's default")
    created_at: str
    has_password: bool

    @classmethod
    def of(cls, trunk: Trunk) -> TrunkView:
        data = trunk.model_dump(exclude={"password"})
        data["id"] = data.pop("trunk_id")
        data["has_password"] = bool(trunk.password)
        return cls.model_validate(data)


class TrunkList(BaseModel):
    """The app's trunks, in the order outbound calls try them."""

    data: list[TrunkView]
