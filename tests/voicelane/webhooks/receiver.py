"""A real webhook receiver on loopback that can misbehave, and an independent Standard
Webhooks verifier (written from the spec, not from voicelane's code)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    answered: int | None  # status the receiver answered (None: connection reset)
    at: float = field(default_factory=time.time)
    late: bool = False  # answered after `slow_s`: the sender had given up (a timeout for it)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


class Receiver:
    """`fail_rate` of requests misbehave, split evenly between a 503, an answer after
    `slow_s` (beyond the sender's timeout) and a connection reset. `status` answers the rest."""

    def __init__(self, fail_rate: float = 0.0, slow_s: float = 1.0, seed: int = 7,
                 status: int = 200, headers: dict[str, str] | None = None,
                 script: list[str] | None = None) -> None:
        self.fail_rate = fail_rate
        self.slow_s = slow_s
        self.status = status
        self.extra_headers = headers or {}
        self.rng = random.Random(seed)
        self.script = list(script or [])  # modes of the first requests: error, slow, reset
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                with receiver.lock:
                    roll = receiver.rng.random()
                mode = "ok"
                with receiver.lock:
                    scripted = receiver.script.pop(0) if receiver.script else None
                if scripted:
                    mode = scripted
                elif roll < receiver.fail_rate:
                    mode = ("error", "slow", "reset")[int(roll / receiver.fail_rate * 3) % 3]
                if mode == "reset":
                    receiver._record(self, body, None)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if mode == "slow":
                    time.sleep(receiver.slow_s)
                status = 503 if mode == "error" else receiver.status
                receiver._record(self, body, status, late=mode == "slow")
                self.send_response(status)
                for k, v in receiver.extra_headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(OSError):
                    super().handle()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, handler: http.server.BaseHTTPRequestHandler, body: str,
                status: int | None, late: bool = False) -> None:
        with self.lock:
            self.requests.append(Received({k.lower(): v for k, v in handler.headers.items()},
                                          body, status, late=late))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.answered is not None and 200 <= r.answered < 300]

    def wait_for(self, predicate: Any, timeout_s: float) -> bool:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.1)
        return bool(predicate())


def verify(secret: str, headers: dict[str, str], body: str, tolerance_s: int = 300,
           received_at: float | None = None) -> bool:
    """Standard Webhooks verification, from the specification (the timestamp is checked
    against `received_at`, default now)."""
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    now = time.time() if received_at is None else received_at
    if abs(now - int(ts)) > tolerance_s:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{ts}.{body}".encode(), hashlib.sha256).digest()).decode()
    for sig in headers["webhook-signature"].split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False
