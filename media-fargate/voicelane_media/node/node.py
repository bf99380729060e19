"""One media node process: SIP user agent, media pool, call manager, internal HTTP,
node registry heartbeats and the SIGTERM drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

import uvicorn
from voicelane.media_gateway import MediaGateway

from voicelane_media.calls.manager import CallManager
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.sip.context import SipContext
from voicelane_media.transports.sip.room import SipRoom
from voicelane_media.transports.sip.rtp import RtpPortPool
from voicelane_media.transports.sip.ua import UserAgent

from .control import ControlPlane
from .fleet import FleetSignals
from .http import create_internal_app

log = logging.getLogger(__name__)


class MediaNode:
    """``await start()``, then ``await run_until_stopped()``; ``request_stop()`` drains."""

    def __init__(self, settings: MediaSettings, gateway: MediaGateway) -> None:
        self.settings = settings
        self.gateway = gateway
        self.control = ControlPlane(gateway, settings.node_id)
        self.ua = UserAgent(settings)
        self.pool = RtpPortPool(settings.rtp_host, settings.rtp_port_min, settings.rtp_port_max,
                                objects=self.control)  # play_url of a stored key reads through it
        self.manager = CallManager(  # SIP/RTP is the node's one transport today
            settings, self.control, SipRoom(SipContext(self.ua, self.pool, settings, self.control)))
        self.http_port = settings.internal_http_port
        self._server: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.stopped = asyncio.Event()
        self._drain_task: asyncio.Future[None] | None = None
        self._poller: asyncio.Future[None] | None = None
        self._node: object | None = None
        self._http_socket: socket.socket | None = None
        self._http_task: asyncio.Future[None] | None = None
        # the LiveCalls metric and scale-in protection (never from a local node)
        self.fleet = FleetSignals(service="" if gateway.settings.local else None)

    @property
    def sip_port(self) -> int:
        return self.ua.port

    @property
    def internal_url(self) -> str:
        host = self.settings.advertised_host
        return self.settings.internal_url or f"http://{host}:{self.http_port}"

    async def start(self) -> None:
        await self.ua.start()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.internal_http_host, self.settings.internal_http_port))
        self.http_port = int(sock.getsockname()[1])
        app = create_internal_app(self.manager, self.gateway.settings.internal_token,
                                  self.settings.node_id)
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._http_socket = sock
        self._http_task = asyncio.ensure_future(self._server.serve(sockets=[sock]))
        while not self._server.started:
            await asyncio.sleep(0.02)
        self._node = await self.control.register(
            self.internal_url, self.settings.capacity,
            f"{self.settings.advertised_host}:{self.sip_port}")
        self._tasks.append(asyncio.ensure_future(self._heartbeat()))
        self._poller = asyncio.ensure_future(self.manager.poll_forever())
        self._drain_task = asyncio.ensure_future(self._drain_on_request())
        log.info("media node %s: SIP %s, internal %s", self.settings.node_id, self.sip_port,
                 self.internal_url)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_s)
            try:
                status = "draining" if self.manager.draining else "active"
                self._node = await self.control.heartbeat(
                    self._node, self.manager.live_calls, status)  # type: ignore[arg-type]
            except Exception as exc:  # a missed heartbeat is retried on the next tick
                log.warning("heartbeat failed: %s", exc)
            await self.fleet.update(self.manager.live_calls)

    def request_stop(self) -> None:
        """SIGTERM: start draining (see :meth:`drain_and_stop`)."""
        self._stop.set()

    async def _drain_on_request(self) -> None:
        await self._stop.wait()
        await self.drain_and_stop()

    async def run_until_stopped(self) -> None:
        await self.stopped.wait()

    async def drain_and_stop(self, timeout_s: float | None = None) -> None:
        """SIGTERM: no new calls; live ones run to their end (max duration bounds them)."""
        try:
            await asyncio.wait_for(self.manager.drain(), timeout=timeout_s)
        except TimeoutError:
            log.warning("drain timed out with %d live calls", self.manager.live_calls)
        await self.stop()

    async def stop(self) -> None:
        if self.stopped.is_set():
            return
        if self._drain_task is not None and self._drain_task is not asyncio.current_task():
            self._drain_task.cancel()
        self.manager.draining = True
        if self._poller is not None:  # let an in-flight long poll finish and hand back
            try:
                await asyncio.wait_for(self._poller, timeout=self.settings.poll_wait_s + 5)
            except Exception as exc:  # TimeoutError included
                log.warning("call-requests poller did not stop cleanly: %r", exc)
        await self.manager.shutdown()
        for task in self._tasks:
            task.cancel()
        if self._server is not None:
            self._server.should_exit = True
        if self._http_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._http_task, timeout=5)
        if self._http_socket is not None:
            self._http_socket.close()
        with contextlib.suppress(Exception):
            await self.control.deregister()
        await self.ua.stop()
        await self.pool.close()  # the RTP clock task, and the ports of any leg left behind
        self.stopped.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
