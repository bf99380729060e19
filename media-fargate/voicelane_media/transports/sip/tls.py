"""TLS for SIP (RFC 3261 26.2, RFC 5630): the node's server and client contexts from settings.

The listener presents ``sip_tls_certificate``/``sip_tls_key``; outbound connections to
``transport: tls`` trunks check the carrier's certificate and host name against
``sip_tls_ca_bundle`` (or the system CAs) unless ``sip_tls_verify`` is off, and offer the same
certificate when the carrier asks for one (mutual TLS). TLS 1.2 is the floor.

The certificate and key settings are file paths, or the PEM text itself (how ECS hands a
Secrets Manager secret to a container): the text is written once to a private file, since
``ssl`` loads certificates from files only.
"""

from __future__ import annotations

import os
import ssl
import tempfile
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


def pem_path(value: str) -> str:
    """``value`` when it is a path; else the PEM text in a new 0600 file, and that path."""
    if not value.lstrip().startswith("-----BEGIN"):
        return value
    fd, path = tempfile.mkstemp(prefix="voicelane-sip-tls-", suffix=".pem")
    with os.fdopen(fd, "w") as f:  # mkstemp creates it 0600
        f.write(value if value.endswith("\n") else value + "\n")
    return path


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
        certificate = pem_path(settings.sip_tls_certificate)
        key = pem_path(settings.sip_tls_key) if settings.sip_tls_key else None
        server.load_cert_chain(certificate, key)
        client.load_cert_chain(certificate, key)
    return TlsConfig(server, client, settings.sip_tls_port, settings.sip_tls_verify)
