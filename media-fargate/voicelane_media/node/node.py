"""One media node process: SIP user agent, media pool, call manager, internal HTTP, the public
listener (WebSocket media streams and WebRTC signalling), node registry heartbeats and the SIGTERM drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import Any

import uvicorn
from voicelane.domain.webrtc import client_answer_base
from voicelane.media_gateway import MediaGateway

from voicelane_media.calls.app_answers import AppCommands
from voicelane_media.calls.manager import CallManager
from voicelane_media.settings import MediaSettings
from voicelane_media.transports.seat import RoomSeat
from voicelane_media.transports.sip.context import SipContext
from voicelane_media.transports.sip.room import SipRoom
from voicelane_media.transports.sip.rtp import RtpPortPool
from voicelane_media.transports.sip.ua import UserAgent
from voicelane_media.transports.webrtc.clients import ClientRegistry
from voicelane_media.transports.webrtc.endpoint import WhipEndpoint
from voicelane_media.transports.webrtc.ice import restrict_host_addresses
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.bot_stream import BotStream
from voicelane_media.transports.ws.endpoint import WsEndpoint

from .control import ControlPlane
from .fleet import FleetSignals
from .http import create_internal_app, create_public_app

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
        self.manager = CallManager(  # calls are placed and received over SIP/RTP; streams to
            settings, self.control,  # bots (stream_start) are WebSocket clients
            SipRoom(SipContext(self.ua, self.pool, settings, self.control)), bot_streams=BotStream)
        self.manager.app_commands = AppCommands(self.manager, self.control)
        self.manager.seating.open_seat = RoomSeat  # an agent's seat in a conference room
        self.http_port = settings.internal_http_port
        self.public_port = settings.public_http_port
        self.ws = WsEndpoint(self.manager, self.control, gateway.settings.session_token_secret,
                             dialect_for)
        restrict_host_addresses(settings.webrtc_host_list)
        platform = gateway.settings
        self.whip = WhipEndpoint(self.manager, self.control, platform.session_token_secret,
                                 platform.webrtc_ice_servers, settings.webrtc_connect_timeout_s,
                                 platform.turn_secret, platform.turn_ttl_s, settings.node_id)
        self.clients = ClientRegistry(platform.session_token_secret, platform.webrtc_ice_servers,
                                      # a ringing browser answers where it registered
                                      lambda: client_answer_base(platform.media_connect_url),
                                      settings.webrtc_connect_timeout_s,
                                      platform.turn_secret, platform.turn_ttl_s)
        self.manager.clients = self.clients  # numbers routed to a browser identity ring here
        self._servers: list[tuple[uvicorn.Server, socket.socket, asyncio.Future[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self.stopped = asyncio.Event()
        self._drain_task: asyncio.Future[None] | None = None
        self._poller: asyncio.Future[None] | None = None
        self._node: object | None = None
        # the LiveCalls metric and scale-in protection (never from a local node)
        self.fleet = FleetSignals(service="" if gateway.settings.local else None)

    @property
    def sip_port(self) -> int:
        return self.ua.port

    @property
    def internal_url(self) -> str:
        host = self.settings.advertised_host
        return self.settings.internal_url or f"http://{host}:{self.http_port}"

    @property
    def public_url(self) -> str:
        """Where this node's media streams connect (``ws://host:port/v1/media``)."""
        return f"ws://{self.settings.advertised_host}:{self.public_port}/v1/media"

    async def _serve(self, app: Any, host: str, port: int, **config: Any) -> int:
        """Start one uvicorn server on its own socket; the port it bound."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                               **config))
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        self._servers.append((server, sock, task))
        while not server.started:
            if task.done():
                task.result()  # raises why it stopped
            await asyncio.sleep(0.02)
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        await self.ua.start()
        self.http_port = await self._serve(
            create_internal_app(self.manager, self.gateway.settings.internal_token,
                                self.settings.node_id),
            self.settings.internal_http_host, self.settings.internal_http_port)
        self.public_port = await self._serve(
            create_public_app(self.ws, self.whip, self.clients), self.settings.public_http_host,
            self.settings.public_http_port, ws_max_size=self.settings.ws_max_message_bytes,
            ws_ping_interval=20.0, ws_ping_timeout=20.0)
        self._node = await self.control.register(
            self.internal_url, self.settings.capacity,
            f"{self.settings.advertised_host}:{self.sip_port}")
        self._tasks.append(asyncio.ensure_future(self._heartbeat()))
        self._poller = asyncio.ensure_future(self.manager.poll_forever())
        self._drain_task = asyncio.ensure_future(self._drain_on_request())
        log.info("media node %s: SIP %s, internal %s, media streams %s", self.settings.node_id,
                 self.sip_port, self.internal_url, self.public_url)

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
        await self.whip.close()
        for task in self._tasks:
            task.cancel()
        for server, _, _ in self._servers:
            server.should_exit = True
        for _, sock, serving in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serving, timeout=5)
            sock.close()
        with contextlib.suppress(Exception):
            await self.control.deregister()
        await self.ua.stop()
        await self.pool.close()  # the RTP clock task, and the ports of any leg left behind
        self.stopped.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

