"""A tiny IVR application: a real HTTP server on loopback that verifies each webhook's Standard
Webhooks signature and answers call events with commands (docs/webhooks.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, bytes]  # status, body
Script = Callable[[dict[str, Any]], Answer]


def commands(*items: dict[str, Any]) -> Answer:
    return 200, json.dumps({"commands": list(items)}).encode()


NO_COMMANDS: Answer = (204, b"")


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver side of docs/webhooks.md's signature check."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    return any(sig.partition(",")[2] == expected for sig in headers["webhook-signature"].split())


@dataclass
class Received:
    event: dict[str, Any]
    webhook_id: str
    signed: bool
    at: float


@dataclass
class IvrApp:
    """``IvrApp(script).start()``; ``url``; ``received``; ``stop()``. `script` maps an event
    to the answer; `secret` (set once known) checks signatures."""

    script: Script
    secret: str = ""
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/voice"

    def start(self) -> IvrApp:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                event = json.loads(body)
                app.received.append(Received(event, headers["webhook-id"],
                                             bool(app.secret) and verify(app.secret, headers, body),
                                             time.monotonic()))
                status, answer = app.script(event)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:  # the platform gave up waiting (a late answer)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def of_type(self, event_type: str, call_id: str | None = None) -> list[Received]:
        return [r for r in self.received if r.event["type"] == event_type
                and (call_id is None or r.event["data"]["id"] == call_id)]
