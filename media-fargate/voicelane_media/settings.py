"""Media node settings (environment prefix ``VOICELANE_MEDIA_``)."""

from __future__ import annotations

import ipaddress
import socket
from functools import cached_property

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from voicelane.domain.codecs import normalize_codecs

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IpNetwork, ...]:
    """Comma-separated addresses or CIDR networks; ValueError names a bad one."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {part!r}") from None
    return tuple(out)


def _default_node_id() -> str:
    return f"node-{socket.gethostname()[:40]}"


class MediaSettings(BaseSettings):
    """What one media node listens on, advertises and accepts."""

    model_config = SettingsConfigDict(env_prefix="VOICELANE_MEDIA_", extra="ignore")

    node_id: str = Field(default_factory=_default_node_id, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    sip_host: str = "0.0.0.0"
    sip_port: int = Field(default=5060, ge=0, le=65535)
    advertised_host: str = Field(
        default="127.0.0.1", description="Address put in Via, Contact and SDP (the task's own IP)."
    )
    rtp_host: str = "0.0.0.0"
    rtp_port_min: int = Field(default=20000, ge=1024, le=65535)
    rtp_port_max: int = Field(default=20999, ge=1024, le=65535)
    internal_http_host: str = "0.0.0.0"
    internal_http_port: int = Field(default=8080, ge=0, le=65535)
    public_http_host: str = Field(
        default="0.0.0.0", description="The public listener: WebSocket media (behind the ALB)."
    )
    public_http_port: int = Field(default=8081, ge=0, le=65535)
    ws_max_message_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    webrtc_host_addresses: str = Field(
        default="", description="Comma-separated addresses for WebRTC host candidates (empty: "
                                "every interface; a local node: 127.0.0.1).")
    webrtc_connect_timeout_s: float = Field(
        default=15.0, gt=0, le=120, description="From the SDP answer to ICE+DTLS connected.")
    internal_url: str = Field(
        default="", description="URL the control plane uses to reach this node; derived if empty."
    )
    capacity: int = Field(default=200, ge=1, le=10_000)
    max_concurrent: int = Field(default=200, ge=1, le=10_000)
    heartbeat_s: float = Field(default=10.0, gt=0)
    poll_wait_s: int = Field(default=20, ge=0, le=20)
    invite_timeout_s: float = Field(default=32.0, gt=0, description="Timer B per trunk attempt.")
    ring_timeout_s: float = Field(default=60.0, gt=0, description="No answer after ringing.")
    inbound_answer_timeout_s: float = Field(default=30.0, gt=0)
    fallback_trunk: str = Field(
        default="", description="host:port[;transport=tcp] used when an app has no trunk (dev)."
    )
    sip_trusted_sources: str = Field(
        default="",
        description="Comma-separated IP networks whose INVITEs may reach any app's numbers, "
                    "besides each app's trunks (a local node trusts loopback).",
    )
    sip_tls_port: int = Field(
        default=5061, ge=0, le=65535,
        description="SIP over TLS listener (0: an ephemeral port); on when a certificate is set.")
    sip_tls_certificate: str = Field(
        default="", description="PEM certificate chain of the TLS listener (also offered to "
                                "trunks that ask for a client certificate); empty: no TLS listener.")
    sip_tls_key: str = Field(default="", description="PEM private key of the certificate.")
    sip_tls_ca_bundle: str = Field(
        default="", description="PEM CA bundle that trunk certificates are checked against "
                                "(empty: the system's trusted CAs).")
    sip_tls_verify: bool = Field(
        default=True, description="Check trunk certificates and host names (off only for tests "
                                  "or a carrier on a private CA you cannot install).")
    srtp_max_auth_failures: int = Field(
        default=50, ge=0, le=100_000,
        description="SRTP packets in a row failing authentication before the call ends with "
                    "srtp_auth_failed (0: never; each one is dropped and counted anyway).")
    sip_codecs: str = Field(
        default="PCMU,PCMA",
        description="Comma-separated audio codecs for SIP legs whose trunk lists none, most "
                    "preferred first: PCMU, PCMA, G722, opus (wideband: the agent runs at "
                    "16 kHz).",
    )
    user_agent: str = "Voicelane/0.1"
    t1_s: float = Field(default=0.5, gt=0, description="RFC 3261 T1.")

    @field_validator("sip_trusted_sources")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # refuse a bad network at start-up, not on the first INVITE
        return value

    @field_validator("sip_codecs")
    @classmethod
    def _codecs(cls, value: str) -> str:
        return ",".join(normalize_codecs(value.split(",")))  # ValueError names a bad codec

    @field_validator("webrtc_host_addresses")
    @classmethod
    def _host_addresses(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_address(part.strip())  # ValueError names a bad one
        return value

    @property
    def webrtc_host_list(self) -> tuple[str, ...]:
        """`webrtc_host_addresses`, split."""
        return tuple(p.strip() for p in self.webrtc_host_addresses.split(",") if p.strip())

    @property
    def codec_preference(self) -> tuple[str, ...]:
        """`sip_codecs` as canonical names, most preferred first."""
        return tuple(self.sip_codecs.split(","))

    @cached_property
    def trusted_networks(self) -> tuple[IpNetwork, ...]:
        """`sip_trusted_sources`, parsed once."""
        return parse_networks(self.sip_trusted_sources)
