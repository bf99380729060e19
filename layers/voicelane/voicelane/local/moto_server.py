"""moto's server in-process on loopback: AWS for a machine with no AWS account."""

from __future__ import annotations

import logging
import os
import socket

from moto.server import ThreadedMotoServer


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

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalAws:
        fake_credentials()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
