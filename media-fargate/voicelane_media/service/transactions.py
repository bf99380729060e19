"""RFC 3261 section 17 transactions on asyncio (minimal; the pure core had none yet).

Client transactions retransmit over UDP (Timer A/E doubling to T2), time out with a synthetic
``408`` (Timer B/F), and ACK non-2xx finals to INVITE themselves. Server transactions absorb
request retransmissions by replaying the last response, retransmit non-2xx INVITE finals
until the ACK, and 2xx INVITE finals until the dialog's ACK (the UA core's job in the RFC,
kept here because it is the same timer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from voicelane_media.sip.message import Headers, SipMessage, SipRequest, SipResponse, make_response

from .transport import Peer, SipTransport

log = logging.getLogger(__name__)

T2 = 4.0
ProvisionalHandler = Callable[[SipResponse], None]
RequestHandler = Callable[[SipRequest, Peer, "ServerTransaction"], None]
AckHandler = Callable[[SipRequest, Peer], None]


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def _branch(message: SipMessage) -> str:
    via = message.top_via
    return via.branch or f"rfc2543-{message.call_id}-{message.cseq.seq}"


def ack_for_non_2xx(request: SipRequest, response: SipResponse) -> SipRequest:
    """RFC 3261 17.1.1.3: the ACK of a non-2xx final, in the INVITE's transaction."""
    headers = Headers()
    headers.add("Via", request.headers.lines("Via")[0])
    for route in request.headers.lines("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", request.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", f"{request.cseq.seq} ACK")
    return SipRequest.build("ACK", request.uri, list(headers))


class ClientTransaction:
    """One request sent and its responses."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, peer: Peer,
                 on_provisional: ProvisionalHandler | None) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.on_provisional = on_provisional
        self.final: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self.got_provisional = False
        self.ack: SipRequest | None = None

    async def run(self) -> SipResponse:
        t1 = self.layer.t1
        invite = self.request.method == "INVITE"
        interval, waited = t1, 0.0
        await self.layer.transport.send(self.request, self.peer)
        while not self.final.done():
            step = interval if self.peer.transport == "UDP" else 64 * t1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.final), timeout=step)
            if self.final.done():
                break
            waited += step
            if self.got_provisional and invite:
                await self.final  # Timer B no longer applies; the UA bounds ringing
                break
            if waited >= 64 * t1:
                self.final.set_result(make_response(self.request, 408, "Request Timeout (no response)"))
                break
            await self.layer.transport.send(self.request, self.peer)
            interval = T2 if self.got_provisional else min(interval * 2, T2 if not invite else 64 * t1)
        return self.final.result()

    def receive(self, response: SipResponse) -> None:
        if response.status < 200:
            self.got_provisional = True
            if self.on_provisional is not None and not self.final.done():
                self.on_provisional(response)
            return
        if self.request.method == "INVITE" and response.status >= 300:
            self.ack = ack_for_non_2xx(self.request, response)
            self.layer.spawn(self.layer.transport.send(self.ack, self.peer))
        if not self.final.done():
            self.final.set_result(response)


class ServerTransaction:
    """One received request; ``respond`` sends (and remembers) its responses."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, peer: Peer) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.last_response: SipResponse | None = None
        self.acked = asyncio.Event()
        self._retransmit: asyncio.Task[None] | None = None

    @property
    def is_final(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    async def respond(self, response: SipResponse) -> None:
        if self.is_final:
            return  # a transaction has one final response
        self.last_response = response
        await self.layer.transport.send(response, self.peer)
        if self.request.method == "INVITE" and response.status >= 200:
            key = (_branch(self.request), "INVITE")
            self.layer._forget_later(self.layer.servers, key, 64 * self.layer.t1 + 5)  # type: ignore[arg-type]
            if self.peer.transport == "UDP":
                self._retransmit = self.layer.spawn(self._retransmit_final(response))
            if response.status < 300:
                self.layer.await_2xx_ack(self)

    async def _retransmit_final(self, response: SipResponse) -> None:
        interval, waited = self.layer.t1, 0.0
        while waited < 64 * self.layer.t1:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.acked.wait(), timeout=interval)
            if self.acked.is_set():
                return
            waited += interval
            interval = min(interval * 2, T2)
            await self.layer.transport.send(response, self.peer)

    def retransmitted(self) -> None:
        if self.last_response is not None:
            self.layer.spawn(self.layer.transport.send(self.last_response, self.peer))


class TransactionLayer:
    """Matches messages to transactions (by top Via branch and method) and runs them."""

    def __init__(self, transport: SipTransport, on_request: RequestHandler,
                 on_ack: AckHandler, t1: float = 0.5) -> None:
        self.transport = transport
        self.on_request = on_request
        self.on_ack = on_ack
        self.t1 = t1
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[tuple[str, str], ServerTransaction] = {}
        self._pending_2xx: dict[tuple[str, int], ServerTransaction] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("SIP task failed: %r", task.exception())

    def _forget_later(self, table: dict[tuple[str, str], object], key: tuple[str, str],
                      delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, table.pop, key, None)

    # -- client side --------------------------------------------------------------------

    async def request(self, request: SipRequest, peer: Peer,
                      on_provisional: ProvisionalHandler | None = None) -> SipResponse:
        """Send ``request`` in a new client transaction; returns its final response."""
        key = (_branch(request), request.method)
        tx = ClientTransaction(self, request, peer, on_provisional)
        self.clients[key] = tx
        try:
            return await tx.run()
        finally:
            # Keep absorbing retransmitted finals for a while (Timer D / K).
            self._forget_later(self.clients, key, 64 * self.t1 if peer.transport == "UDP" else 0)  # type: ignore[arg-type]

    async def send_stateless(self, request: SipRequest, peer: Peer) -> None:
        """ACK of a 2xx: outside any transaction."""
        await self.transport.send(request, peer)

    # -- server side ----------------------------------------------------------------------

    def await_2xx_ack(self, tx: ServerTransaction) -> None:
        key = (tx.request.call_id, tx.request.cseq.seq)
        self._pending_2xx[key] = tx
        asyncio.get_running_loop().call_later(64 * self.t1 + 1, self._pending_2xx.pop, key, None)

    def on_message(self, message: SipMessage, peer: Peer) -> None:
        """Transport entry point."""
        if isinstance(message, SipResponse):
            tx = self.clients.get((_branch(message), message.cseq.method))
            if tx is None:
                return  # stray (e.g. a retransmitted 2xx whose ACK already went): ignore
            if tx.final.done() and tx.ack is not None and message.status >= 300:
                self.spawn(self.transport.send(tx.ack, tx.peer))
                return
            tx.receive(message)
            return
        assert isinstance(message, SipRequest)
        if message.method == "ACK":
            server = self.servers.get((_branch(message), "INVITE"))
            if server is not None and server.last_response is not None \
                    and server.last_response.status >= 300:
                server.acked.set()
                return
            pending = self._pending_2xx.pop((message.call_id, message.cseq.seq), None)
            if pending is not None:
                pending.acked.set()
            self.on_ack(message, peer)
            return
        key = (_branch(message), message.method)
        existing = self.servers.get(key)
        if existing is not None:
            existing.retransmitted()
            return
        server_tx = ServerTransaction(self, message, peer)
        self.servers[key] = server_tx
        if message.method != "INVITE":  # INVITEs are forgotten after their final response
            self._forget_later(self.servers, key, 64 * self.t1 + 5)  # type: ignore[arg-type]
        self.on_request(message, peer, server_tx)

    def find_invite(self, cancel: SipRequest) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL refers to (same branch)."""
        return self.servers.get((_branch(cancel), "INVITE"))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
