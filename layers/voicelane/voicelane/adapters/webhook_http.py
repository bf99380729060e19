"""HTTP to webhook receivers: a POST to the address the SSRF check approved.

Built on http.client with one keep-alive connection per (POSTing thread, address): a
dispatcher POSTs a whole batch at once from its thread pool, and a shared client's pool lock
plus httpx's per-request overhead capped one instance at ~200 deliveries/s (http.client:
~3,000/s on loopback, see bench/webhooks.py).
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import time
from urllib.parse import urlsplit

from voicelane.adapters.webhook_io import retry_after_seconds
from voicelane.webhook_ports import HttpResult, IpAddress

MAX_RESPONSE_BYTES = 64 * 1024  # a receiver's answer (commands); more closes the connection
Key = tuple[str, str, int, str]  # scheme, address, port, host


class _PinnedHttps(http.client.HTTPSConnection):
    """TLS to a fixed address with the URL's host for SNI and the certificate check."""

    def __init__(self, ip: str, port: int, host: str, timeout: float) -> None:
        super().__init__(ip, port, timeout=timeout, context=ssl.create_default_context())
        self.sni_host = host

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self.sni_host)


def _peer_closed(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection the receiver closed (readable = EOF or garbage)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class HttpWebhookSender:
    """POSTs to the address the SSRF check approved (no re-resolution, so no DNS rebinding),
    with the URL's host in `Host` and TLS SNI/certificate checks; never follows redirects."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _connection(self, key: Key, timeout_s: float) -> tuple[http.client.HTTPConnection, bool]:
        conns: dict[Key, http.client.HTTPConnection] = self._local.__dict__.setdefault("conns", {})
        conn = conns.get(key)
        if conn is not None and not _peer_closed(conn):
            conn.timeout = timeout_s
            if conn.sock is not None:
                conn.sock.settimeout(timeout_s)
            return conn, True
        if conn is not None:
            conn.close()
        scheme, ip, port, host = key
        conn = (_PinnedHttps(ip, port, host, timeout_s) if scheme == "https"
                else http.client.HTTPConnection(ip, port, timeout=timeout_s))
        conns[key] = conn
        return conn, False

    def _drop(self, key: Key) -> None:
        conn = self._local.__dict__.get("conns", {}).pop(key, None)
        if conn is not None:
            conn.close()

    def post(
        self, url: str, ip: IpAddress, body: str, headers: dict[str, str], timeout_s: float
    ) -> HttpResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key: Key = (parts.scheme, str(ip), port, host)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = (f"[{host}]" if ":" in host else host) + (
            f":{parts.port}" if parts.port else "")
        started = time.monotonic()
        try:
            conn, _ = self._connection(key, timeout_s)
            conn.request("POST", path, body=body.encode(), headers={
                **headers, "Host": host_header, "Content-Type": "application/json",
                "User-Agent": "Voicelane-Webhooks/1"})
            resp = conn.getresponse()
            answer = resp.read(MAX_RESPONSE_BYTES)
            if not resp.isclosed() or resp.will_close:
                self._drop(key)
        except TimeoutError as exc:
            self._drop(key)
            return HttpResult(None, _ms(started), f"timeout: {type(exc).__name__}")
        except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
            self._drop(key)
            return HttpResult(None, _ms(started),
                              f"connection error: {type(exc).__name__}: {exc}"[:300])
        return HttpResult(resp.status, _ms(started), None,
                          retry_after_seconds(resp.getheader("retry-after")), answer)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
