"""A loopback ECS agent: the task-protection endpoint media tasks call (real HTTP)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import Any


class EcsAgent:
    """PUT /task-protection/v1/state as the ECS agent takes it; `fail` answers 500."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.fail = False
        agent = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                ok = self.path == "/task-protection/v1/state" and not agent.fail
                if ok:
                    agent.bodies.append(body)
                answer = json.dumps({"protection": body} if ok else {"error": "x"}).encode()
                self.send_response(200 if ok else 500)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"

    def states(self) -> list[bool]:
        return [bool(b["ProtectionEnabled"]) for b in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
