"""A media node on loopback for ``voicelane dev`` / ``make demo`` and the interop tests.

The node runs in a background thread with its own event loop against the platform's moto
endpoint. SIP listens on 127.0.0.1:5060 (UDP and TCP) unless ``VOICELANE_MEDIA_SIP_PORT``
says otherwise; the RTP range comes from ``VOICELANE_MEDIA_RTP_PORT_MIN/MAX``; internal HTTP
and the public listener (WebSocket media streams) take free ports, and the local control
plane's ``media_connect_url`` is pointed at the latter, so sessions' connect URLs reach it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from voicelane.media_gateway import MediaGateway
from voicelane_media.node.node import MediaNode
from voicelane_media.settings import MediaSettings


class LocalNode:
    """A started node: ``sip_port``, ``internal_url``, ``node``; ``stop()`` ends it."""

    def __init__(self, settings: MediaSettings, gateway: MediaGateway) -> None:
        # A local node serves the local dev app, which allows loopback (allow_private_webhooks):
        # its agents' HTTP tools listen on 127.0.0.1. Agent sessions not told the app's flag
        # read this (LoopSettings.allow_private_tool_urls).
        os.environ.setdefault("VOICELANE_AGENT_ALLOW_PRIVATE_TOOL_URLS", "true")
        self.settings = settings
        self.gateway = gateway
        self.loop = asyncio.new_event_loop()
        self.node: MediaNode | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="media-node", daemon=True)

    def start(self, timeout_s: float = 15) -> LocalNode:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the media node did not start")
        if self._error is not None:
            raise RuntimeError(f"the media node failed to start: {self._error}") from self._error
        if self.gateway.settings.local:  # sessions created from now on connect here
            self.gateway.settings.media_connect_url = self.public_url
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.node = MediaNode(self.settings, self.gateway)
            self.loop.run_until_complete(self.node.start())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    @property
    def sip_port(self) -> int:
        assert self.node is not None
        return self.node.sip_port

    @property
    def public_url(self) -> str:
        """``ws://127.0.0.1:<port>/v1/media``: where media streams connect."""
        assert self.node is not None
        return self.node.public_url

    @property
    def internal_url(self) -> str:
        assert self.node is not None
        return self.node.internal_url

    def call(self, coro: Any, timeout_s: float = 30) -> Any:
        """Run a coroutine on the node's loop from another thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self) -> None:
        if self.node is not None and self.loop.is_running():
            try:
                self.call(self.node.stop(), timeout_s=15)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive() and not self.loop.is_closed():
            self.loop.close()


def local_settings(**overrides: Any) -> MediaSettings:
    """Loopback defaults; the environment (VOICELANE_MEDIA_*) and ``overrides`` win."""
    values: dict[str, Any] = {"sip_host": "127.0.0.1", "advertised_host": "127.0.0.1",
                              "internal_http_host": "127.0.0.1", "internal_http_port": 0,
                              "public_http_host": "127.0.0.1", "public_http_port": 0,
                              "rtp_host": "127.0.0.1", "node_id": "local-node", "poll_wait_s": 1,
                              "webrtc_host_addresses": "127.0.0.1",
                              "sip_trusted_sources": "127.0.0.0/8,::1/128"}
    env = MediaSettings()
    for name in MediaSettings.model_fields:
        if name in env.model_fields_set:
            values[name] = getattr(env, name)
    values.update(overrides)
    return MediaSettings(**values)


def start_local_node(platform: Any, **overrides: Any) -> LocalNode:
    """Start a loopback media node for a ``voicelane_local.platform.LocalPlatform``."""
    return LocalNode(local_settings(**overrides), platform.container.media_gateway).start()
