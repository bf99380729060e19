"""A threaded WSGI server with HTTP/1.1 keep-alive, for moto on loopback.

werkzeug's development server (what moto's ThreadedMotoServer uses) answers every request
with `Connection: close`, so each boto3 call paid a new TCP connection and a new server thread
(~4 ms of a ~5 ms moto request). This server keeps the connection open: one thread per
connection serves request after request, and boto3's connection pool reuses them. Responses
are buffered and sent with a Content-Length (moto's answers are small and complete).
"""

from __future__ import annotations

import http.server
import io
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _read_chunked(rfile: Any) -> bytes:
    body = bytearray()
    while True:
        size = int(rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
        if size == 0:
            while rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        body += rfile.read(size)
        rfile.readline()  # the CRLF after the chunk


def make_handler(app: WsgiApp, port: int) -> type[http.server.BaseHTTPRequestHandler]:
    """A request handler that calls `app` for every request of a kept-alive connection."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                body = _read_chunked(self.rfile)
            else:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
            path, _, query = self.path.partition("?")
            environ: dict[str, Any] = {
                "REQUEST_METHOD": self.command, "SCRIPT_NAME": "", "PATH_INFO": path,
                "QUERY_STRING": query, "CONTENT_LENGTH": str(len(body)),
                "CONTENT_TYPE": self.headers.get("content-type", ""),
                "SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port),
                "SERVER_PROTOCOL": self.request_version, "REMOTE_ADDR": self.client_address[0],
                "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                "wsgi.multiprocess": False, "wsgi.run_once": False,
            }
            for name, value in self.headers.items():
                key = "HTTP_" + name.upper().replace("-", "_")
                if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH",
                               "HTTP_TRANSFER_ENCODING"):
                    environ[key] = f"{environ[key]},{value}" if key in environ else value
            status_headers: list[Any] = []

            def start_response(status: str, headers: list[tuple[str, str]],
                               exc_info: Any = None) -> Callable[[bytes], None]:
                status_headers[:] = [status, headers]
                return lambda data: None

            result = app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            status, headers = status_headers
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def moto_app() -> WsgiApp:
    """moto's WSGI application, as its ThreadedMotoServer builds it."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app: WsgiApp = DomainDispatcherApplication(create_backend_app)
    return app


class KeepAliveWsgiServer:
    """Serve `app` on 127.0.0.1:`port` in a background thread until `stop()`."""

    def __init__(self, app: WsgiApp, port: int) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), make_handler(app, port))
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       name="moto-keepalive")

    def start(self) -> KeepAliveWsgiServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
