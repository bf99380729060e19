"""The whole platform on one machine: moto, the resources, the API (uvicorn), the runner."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from voicelane.adapters import aws
from voicelane.container import Container, get_container, reset_container
from voicelane.settings import get_settings

from voicelane_local import webhook_jobs  # noqa: F401  (registers the event fan-out jobs)
from voicelane_local.bootstrap import create_resources
from voicelane_local.moto_server import LocalAws
from voicelane_local.runner import LocalRunner

DEV_ENV = Path(".voicelane/dev.env")


class LocalPlatform:
    """Start with `start()`, stop with `stop()`; `api_url`, `api_key`, `app_id` once started."""

    def __init__(self, api_port: int = 8000, aws_port: int | None = None,
                 env_file: Path | None = DEV_ENV, with_media: bool = True) -> None:
        self.api_port = api_port
        self.aws = LocalAws(aws_port)
        self.env_file = env_file
        self.with_media = with_media
        self.server: uvicorn.Server | None = None
        self.runner: LocalRunner | None = None
        self.extras: list[Any] = []  # other started parts with a stop() (e.g. the media node)
        self.api_key = ""
        self.app_id = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def container(self) -> Container:
        return get_container()

    def start(self) -> LocalPlatform:
        self.aws.start()
        os.environ["VOICELANE_AWS_ENDPOINT_URL"] = self.aws.endpoint
        os.environ["VOICELANE_LOCAL"] = "true"
        # EMF lines are for CloudWatch; on a console every handler run would print one
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        get_settings.cache_clear()
        aws.reset_clients()
        reset_container()
        create_resources(get_settings())
        # No destination allow-list: the dev app dials only its from-number's country, like
        # every app; a wider list is an explicit choice (PATCH the app or set it here).
        app = self.container.apps.create_app("dev", allow_private_webhooks=True)
        _, self.api_key = self.container.apps.create_key(app.app_id, "test")
        self.app_id = app.app_id
        self._start_api()
        self.runner = LocalRunner(self.container).start()
        if self.with_media:
            self._start_media()
        if self.env_file is not None:
            self.write_env(self.env_file)
        return self

    def _start_api(self) -> None:
        from voicelane.api.app import create_app

        from voicelane_local.dev_softphone import dev_softphone_router

        api = create_app()
        api.include_router(dev_softphone_router(self.app_id))  # local dev only: never on Lambda
        # Idle keep-alive as API Gateway/ALB keep it (uvicorn's 5 s default closes a pooled
        # connection just as a client reuses it: "Server disconnected without a response").
        config = uvicorn.Config(api, host="127.0.0.1", port=self.api_port,
                                log_level="warning", lifespan="off", timeout_keep_alive=65)
        self.server = uvicorn.Server(config)
        threading.Thread(target=self.server.run, name="uvicorn", daemon=True).start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.05)
        if self.api_port == 0:  # asked for any free port: report the one the OS gave
            self.api_port = int(self.server.servers[0].sockets[0].getsockname()[1])

    def _start_media(self) -> None:
        """Start a media node on loopback when the media package is installed."""
        try:
            from voicelane_local.media_node import start_local_node
        except ImportError:
            return
        self.extras.append(start_local_node(self))

    def write_env(self, path: Path) -> None:
        """`export` lines: sourced in a shell, the CLI run from there (anywhere) sees them."""
        path.parent.mkdir(parents=True, exist_ok=True)
        values = {"VOICELANE_API_URL": self.api_url, "VOICELANE_API_KEY": self.api_key,
                  "VOICELANE_APP_ID": self.app_id,
                  "VOICELANE_AWS_ENDPOINT_URL": self.aws.endpoint, "VOICELANE_LOCAL": "true"}
        # Written whole under a temporary name, then renamed: whoever sees the file sees all
        # of it (a second shell, or a test, waits for it to appear).
        tmp = path.with_name(path.name + ".tmp")
        # (created 0600: the file holds an API key)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(f"export {k}={v}\n" for k, v in values.items()))
        tmp.replace(path)

    def stop(self) -> None:
        for extra in reversed(self.extras):
            extra.stop()
        if self.runner:
            self.runner.stop()
        if self.server:
            self.server.should_exit = True
        self.aws.stop()
        if self.env_file is not None and self.env_file.exists():
            self.env_file.unlink()
