"""TLS for SIP (RFC 3261 26.2, RFC 5630): the node's server and client contexts from settings.

The listener presents ``sip_tls_certificate``/``sip_tls_key``; outbound connections to
``transport: tls`` trunks check the carrier's certificate and host name against
``sip_tls_ca_bundle`` (or the system CAs) unless ``sip_tls_verify`` is off, and offer the same
certificate when the carrier asks for one (mutual TLS). TLS 1.2 is the floor.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from voicelane_media.settings import MediaSettings

HANDSHAKE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TlsConfig:
    """The listener's context (None: no TLS listener), the client context and the port."""

    server: ssl.SSLContext | None
    client: ssl.SSLContext
    port: int
    verify: bool


def tls_config(settings: MediaSettings) -> TlsConfig:
    """Build both contexts once at start-up (a bad certificate path fails the node's start)."""
    client = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                        cafile=settings.sip_tls_ca_bundle or None)
    client.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.sip_tls_verify:
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
    server: ssl.SSLContext | None = None
    if settings.sip_tls_certificate:
        server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.minimum_version = ssl.TLSVersion.TLSv1_2
        server.load_cert_chain(settings.sip_tls_certificate, settings.sip_tls_key or None)
        client.load_cert_chain(settings.sip_tls_certificate, settings.sip_tls_key or None)
    return TlsConfig(server, client, settings.sip_tls_port, settings.sip_tls_verify)
