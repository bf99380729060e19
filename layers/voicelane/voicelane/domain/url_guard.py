"""The SSRF guard for app URLs the platform calls: webhooks (checked at registration and again
before every attempt) and agent HTTP tools (checked when the agent is created or updated, when
a call brings an inline agent, and again by the media node before every tool call).

Pure but for :class:`SystemResolver` (stdlib DNS), so both planes can import it."""

from __future__ import annotations

import ipaddress
import socket
from typing import Protocol
from urllib.parse import urlsplit

from voicelane.domain.agent import AgentSpec
from voicelane.domain.errors import ValidationFailed
from voicelane.domain.stream import STREAM_URL_CODE
from voicelane.domain.webhooks import forbidden_reason

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

WEBHOOK_CODE = "webhook_url_not_allowed"
TOOL_CODE = "tool_url_not_allowed"


class Resolver(Protocol):
    """Host name -> addresses (tests pass a fake; production uses :class:`SystemResolver`)."""

    def resolve(self, host: str, port: int) -> list[IpAddress]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), each address once, in its order."""

    def resolve(self, host: str, port: int) -> list[IpAddress]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        out: list[IpAddress] = []
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if addr not in out:
                out.append(addr)
        return out


def refuse(
    url: str, reason: str, code: str = WEBHOOK_CODE, what: str = "webhook URL"
) -> ValidationFailed:
    return ValidationFailed(
        f"{what} not allowed: {reason}", code=code, details={"url": url, "reason": reason}
    )


def check_url(
    url: str,
    resolver: Resolver,
    *,
    allow_private: bool,
    require_https: bool,
    code: str = WEBHOOK_CODE,
    what: str = "webhook URL",
    schemes: tuple[str, str] = ("https", "http"),
) -> IpAddress:
    """The address to connect to, or ValidationFailed(`code`, default `webhook_url_not_allowed`).

    Every address the host resolves to must be public (a name with one private address could
    be steered to it), unless the app allows private webhooks (the local dev app does).
    """
    secure, plain = schemes
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == secure else 80)
    except ValueError as exc:
        raise refuse(url, "not a valid URL", code, what) from exc
    if parts.scheme not in schemes:
        raise refuse(url, f"the scheme must be {secure} (or {plain} for test keys)", code, what)
    if require_https and parts.scheme != secure:
        raise refuse(url, f"live mode needs {secure}", code, what)
    if not parts.hostname or parts.username or parts.password:
        raise refuse(url, "the URL needs a host and no credentials", code, what)
    try:
        addresses = [ipaddress.ip_address(parts.hostname)]
    except ValueError:
        try:
            addresses = resolver.resolve(parts.hostname, port)
        except (OSError, UnicodeError) as exc:
            # UnicodeError: getaddrinfo's IDNA encoding of a name that is not a host name.
            raise refuse(url, f"the host does not resolve ({exc})", code, what) from exc
    if not addresses:
        raise refuse(url, "the host does not resolve", code, what)
    if not allow_private:
        for addr in addresses:
            reason = forbidden_reason(addr)
            if reason:
                raise refuse(url, f"{parts.hostname} resolves to {addr} ({reason})", code, what)
    return addresses[0]


def check_stream_url(url: str, resolver: Resolver, *, allow_private: bool,
                     require_tls: bool) -> IpAddress:
    """The SSRF guard for a bot's media-stream URL (``wss://``; ``ws://`` outside live mode):
    `stream_url_not_allowed` (422) for private addresses unless the app allows them. Checked
    when the stream is asked for and again by the media node before every connection."""
    return check_url(url, resolver, allow_private=allow_private, require_https=require_tls,
                     code=STREAM_URL_CODE, what="stream URL", schemes=("wss", "ws"))


def check_tool_urls(spec: AgentSpec, resolver: Resolver, *, allow_private: bool) -> None:
    """Refuse (`tool_url_not_allowed`, 422) an agent whose HTTP tools would call a private,
    loopback, link-local or metadata address, unless the app allows private addresses (its
    `allow_private_webhooks` flag; the local dev app has it)."""
    for tool in spec.tools:
        if tool.type != "http" or not tool.url:
            continue
        try:
            check_url(tool.url, resolver, allow_private=allow_private, require_https=False,
                      code=TOOL_CODE, what=f"tool {tool.name} URL")
        except ValidationFailed as exc:
            exc.details = {**dict(exc.details or {}), "tool": tool.name}
            raise
