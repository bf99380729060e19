"""The SSRF guard for webhook URLs: checked at registration and again before every attempt."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from voicelane.domain.errors import ValidationFailed
from voicelane.domain.webhooks import forbidden_reason
from voicelane.webhook_ports import IpAddress, Resolver


def refuse(url: str, reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"webhook URL not allowed: {reason}",
        code="webhook_url_not_allowed",
        details={"url": url, "reason": reason},
    )


def check_url(
    url: str, resolver: Resolver, *, allow_private: bool, require_https: bool
) -> IpAddress:
    """The address to connect to, or ValidationFailed(`webhook_url_not_allowed`).

    Every address the host resolves to must be public (a name with one private address could
    be steered to it), unless the app allows private webhooks (the local dev app does).
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise refuse(url, "not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise refuse(url, "the scheme must be https (or http for test keys)")
    if require_https and parts.scheme != "https":
        raise refuse(url, "live-mode webhooks must use https")
    if not parts.hostname or parts.username or parts.password:
        raise refuse(url, "the URL needs a host and no credentials")
    try:
        addresses = [ipaddress.ip_address(parts.hostname)]
    except ValueError:
        try:
            addresses = resolver.resolve(parts.hostname, port)
        except OSError as exc:
            raise refuse(url, f"the host does not resolve ({exc})") from exc
    if not addresses:
        raise refuse(url, "the host does not resolve")
    if not allow_private:
        for addr in addresses:
            reason = forbidden_reason(addr)
            if reason:
                raise refuse(url, f"{parts.hostname} resolves to {addr} ({reason})")
    return addresses[0]
