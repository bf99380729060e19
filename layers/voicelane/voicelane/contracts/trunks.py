"""SIP trunk API contracts: /v1/trunks."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicelane.domain.codecs import CODECS, normalize_codecs
from voicelane.domain.models import Trunk
from voicelane.domain.storable import JSON_INTEGER, JsonInt

HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:]+\]$")


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# An IPv4 or IPv6 address, or an IPv4 network; IPv6 networks (2001:db8::/32) are taken too.
ADDRESS_SCHEMA: dict[str, Any] = {"anyOf": [
    {"type": "string", "format": "ipv4"},
    {"type": "string", "format": "ipv6"},
    {"type": "string", "pattern": rf"^({_OCTET}\.){{3}}{_OCTET}/(3[0-2]|[12]?[0-9])$"},
]}


Transport = Literal["udp", "tcp", "tls"]
SrtpPolicy = Literal["off", "optional", "mandatory"]
TRANSPORT_DOC = ("SIP transport toward the trunk. `tls`: SIP over TLS (RFC 3261 26.2; the "
                 "node checks the carrier's certificate unless told not to), port 5061 usually")
SRTP_DOC = ("SDES-SRTP (RFC 4568 `a=crypto`, AES_CM_128_HMAC_SHA1_80) on this trunk's calls: "
            "`off` plain RTP; `optional` SRTP when the peer takes it; `mandatory` never plain "
            "RTP (offers are RTP/SAVP only, a plain inbound offer is refused with SIP 488). "
            "SDES keys travel in the SDP, so pair it with `transport: tls`")


def _networks(values: list[str]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {value!r}") from None
    return out


INBOUND_DOC = ("IP addresses or CIDR networks the carrier sends INVITEs from, besides the "
               "address of `host`; inbound calls from anywhere else are refused (403). An "
               "inbound call takes the `srtp` of the trunks its source belongs to")


class CreateTrunkRequest(BaseModel):
    """A carrier's SIP trunk: where outbound PSTN calls go and inbound ones come from."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    host: str = Field(pattern=HOST_RE.pattern, description="Host name or IP of the carrier")
    port: JsonInt = Field(default=5060, ge=1, le=65535)
    transport: Transport = Field(default="udp", description=TRANSPORT_DOC)
    username: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=256)
    priority: JsonInt = Field(default=10, ge=0, le=1000, description="Lower is tried first")
    inbound_addresses: list[str] = Field(
        default_factory=list, max_length=32, json_schema_extra={"items": ADDRESS_SCHEMA},
        description=INBOUND_DOC)
    srtp: SrtpPolicy = Field(default="off", description=SRTP_DOC)
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
    def _addresses(cls, values: list[str]) -> list[str]:
        return _networks(values)


class UpdateTrunkRequest(BaseModel):
    """Any subset of a trunk's fields (`null` clears the username, password or codecs)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    host: str | None = Field(default=None, pattern=HOST_RE.pattern)
    port: Annotated[int, Field(ge=1, le=65535), JSON_INTEGER] | None = None
    transport: Transport | None = Field(default=None, description=TRANSPORT_DOC)
    username: str | None = Field(default=None, max_length=128)
    password: str | None = Field(default=None, max_length=256)
    priority: Annotated[int, Field(ge=0, le=1000), JSON_INTEGER] | None = Field(
        default=None, description="Lower is tried first")
    inbound_addresses: list[str] | None = Field(
        default=None, max_length=32, json_schema_extra={"items": ADDRESS_SCHEMA},
        description=INBOUND_DOC)
    srtp: SrtpPolicy | None = Field(default=None, description=SRTP_DOC)
    codecs: list[str] | None = Field(
        default=None, min_length=1, max_length=len(CODECS),
        json_schema_extra={"items": {"enum": list(CODECS.values())}},
        description="Audio codecs, most preferred first; null: back to the node's default")

    @field_validator("inbound_addresses")
    @classmethod
    def _addresses(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _networks(values)

    @field_validator("codecs")
    @classmethod
    def _codecs(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else normalize_codecs(values)

    def changes(self) -> dict[str, Any]:
        """The fields sent; only username, password and codecs may be cleared with null."""
        sent = self.model_dump(exclude_unset=True)
        return {k: v for k, v in sent.items()
                if v is not None or k in ("username", "password", "codecs")}


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
    srtp: str = Field(description=SRTP_DOC)
    codecs: list[str] | None = Field(
        description="Codecs of this trunk, most preferred first; null: the node's default")
    created_at: str
    updated_at: str | None = None
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
