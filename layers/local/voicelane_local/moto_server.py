"""moto's server in-process on loopback: AWS for a machine with no AWS account."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time

from voicelane_local.keepalive_wsgi import KeepAliveWsgiServer, moto_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fake_credentials() -> None:
    """moto accepts any credentials; set some so boto3 never looks for real ones."""
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ[name] = value


class LocalAws:
    """A moto server on 127.0.0.1; `endpoint` is what boto3 clients use."""

    def __init__(self, port: int | None = None, own_process: bool | None = None) -> None:
        self.port = port or free_port()
        # In its own process moto uses the second core instead of competing for our GIL.
        if own_process is None:
            own_process = os.environ.get("VOICELANE_MOTO_PROCESS", "") in ("1", "true")
        self.own_process = own_process
        self.process: subprocess.Popen[bytes] | None = None
        self.server: KeepAliveWsgiServer | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalAws:
        from voicelane_local import moto_patches

        moto_patches.install()  # transactions without whole-table copies (see the module)
        fake_credentials()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        if not self.own_process:
            self.server = KeepAliveWsgiServer(moto_app(), self.port).start()
            return self
        self.process = subprocess.Popen(
            [sys.executable, "-m", "voicelane_local.moto_patches", str(self.port)])
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the moto server process did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        elif self.server is not None:
            self.server.stop()
