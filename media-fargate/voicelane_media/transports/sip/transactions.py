"""The asyncio driver of the RFC 3261 section 17 transactions in ``voicelane_media.sip.transaction``.

The pure state machines decide everything about a transaction (retransmission with Timers A/E/G,
time-outs B/F/H, the ACK of a non-2xx final, absorbing retransmitted requests and responses, how
long to linger); this module only does their I/O: ``Send`` goes to the transport, ``Schedule``
becomes a ``loop.call_at`` that polls the machine, ``Deliver`` goes to the UA (the provisional
callback and final-response future of a request, ``on_request`` for a new one, ``on_ack`` for
the ACK of a 2xx), ``TimedOut`` of a client transaction becomes a synthetic ``408`` and
``Terminated`` forgets the transaction.

One UA-core duty lives here too because it is a timer on the same messages: retransmitting a
2xx to INVITE until its ACK arrives (RFC 3261 13.3.1.4; the pure server transaction hands the
2xx to the TU and stays out of it, per RFC 6026).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from voicelane_media.sip import transaction as pure
from voicelane_media.sip.message import SipMessage, SipRequest, SipResponse, make_response

from .sockets import Peer, SipTransport

log = logging.getLogger(__name__)

ProvisionalHandler = Callable[[SipResponse], None]
ResponseHandler = Callable[[SipResponse], None]
RequestHandler = Callable[[SipRequest, Peer, "ServerTransaction"], None]
AckHandler = Callable[[SipRequest, Peer], None]
UNANSWERED_LINGER = 64  # x T1: a non-INVITE request the UA never answered is forgotten after this


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


class _Driven:
    """Runs the actions of one pure transaction."""

    machine: pure.Transaction

    def __init__(self, layer: TransactionLayer, peer: Peer) -> None:
        self.layer = layer
        self.peer = peer
        self._timers: list[asyncio.TimerHandle] = []

    def _apply(self, actions: list[pure.Action]) -> list[bytes]:
        """Act on everything but the sends, at once; returns the data to send, in order."""
        out: list[bytes] = []
        for action in actions:
            if isinstance(action, pure.Send):
                out.append(action.data)
            elif isinstance(action, pure.Schedule):
                loop = asyncio.get_running_loop()
                now = loop.time()
                self._timers = [t for t in self._timers if not t.cancelled() and t.when() > now]
                self._timers.append(loop.call_at(action.at, self._poll, action.at))
            elif isinstance(action, pure.Deliver):
                self._deliver(action.message)
            elif isinstance(action, pure.TimedOut):
                self._timed_out(action.timer)
            elif isinstance(action, pure.Terminated):
                self._stop_timers()
                self.layer._forget(self)
        return out

    async def _send(self, data: list[bytes]) -> None:
        for datagram in data:
            await self.layer.transport.send_data(datagram, self.peer)

    async def _execute(self, actions: list[pure.Action]) -> None:
        """Act and send (the caller awaits the sends: a TCP connect error reaches it)."""
        await self._send(self._apply(actions))

    def _run(self, actions: list[pure.Action]) -> None:
        """Act now; the sends run in a task (called from the transport or a timer)."""
        data = self._apply(actions)
        if data:
            self.layer.spawn(self._send(data))

    def _poll(self, at: float) -> None:
        # the loop may run a timer a clock tick early: poll at least at its deadline
        self._run(self.machine.poll(max(self.layer.now(), at)))

    def _stop_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _deliver(self, message: SipRequest | SipResponse) -> None:
        raise NotImplementedError

    def _timed_out(self, timer: str) -> None:
        log.info("SIP transaction %s timed out (Timer %s)", self.machine.request.method, timer)


class ClientTransaction(_Driven):
    """One request sent; ``final`` resolves with its final response (or a synthetic 408)."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, peer: Peer,
                 on_provisional: ProvisionalHandler | None,
                 on_retransmitted_2xx: ResponseHandler | None = None) -> None:
        super().__init__(layer, peer)
        kind = pure.InviteClientTransaction if request.method == "INVITE" else pure.NonInviteClientTransaction
        self.machine: pure.ClientTransaction = kind(request, reliable=peer.transport != "UDP",
                                                    config=layer.config)
        self.key = pure.client_key(request)
        self.request = request
        self.on_provisional = on_provisional
        self.on_retransmitted_2xx = on_retransmitted_2xx
        self.final: asyncio.Future[SipResponse] = asyncio.get_running_loop().create_future()
        self.got_provisional = False

    async def run(self) -> SipResponse:
        await self._execute(self.machine.start(self.layer.now()))
        return await asyncio.shield(self.final)

    def receive(self, response: SipResponse) -> None:
        self._run(self.machine.receive(response, self.layer.now()))

    def _deliver(self, message: SipRequest | SipResponse) -> None:
        assert isinstance(message, SipResponse)
        if message.status < 200:
            self.got_provisional = True
            if self.on_provisional is not None and not self.final.done():
                self.on_provisional(message)
        elif not self.final.done():
            self.final.set_result(message)
        elif message.status < 300 and self.on_retransmitted_2xx is not None:
            # a 2xx again (Accepted state, RFC 6026): its sender did not get our ACK, and the
            # UA core ACKs every 2xx (RFC 3261 13.2.2.4)
            self.on_retransmitted_2xx(message)

    def _timed_out(self, timer: str) -> None:
        if not self.final.done():
            self.final.set_result(make_response(self.request, 408, "Request Timeout (no response)"))


class ServerTransaction(_Driven):
    """One received request; ``respond`` sends its responses (one final)."""

    def __init__(self, layer: TransactionLayer, request: SipRequest, peer: Peer) -> None:
        super().__init__(layer, peer)
        reliable = peer.transport != "UDP"
        self.machine: pure.ServerTransaction = (
            pure.InviteServerTransaction(request, reliable=reliable, config=layer.config,
                                         send_trying=False)  # the UA sends its own 100
            if request.method == "INVITE"
            else pure.NonInviteServerTransaction(request, reliable=reliable, config=layer.config))
        self.key = pure.server_key(request)
        self.request = request
        self.acked = asyncio.Event()  # the ACK of our 2xx arrived (INVITE)
        self._retransmit: asyncio.Task[None] | None = None

    @property
    def last_response(self) -> SipResponse | None:
        return self.machine.last_response

    @property
    def is_final(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    def start(self) -> None:
        self._run(self.machine.start(self.layer.now()))

    async def respond(self, response: SipResponse) -> None:
        if self.is_final:
            return  # a transaction has one final response
        await self._execute(self.machine.respond(response, self.layer.now()))
        if self.request.method == "INVITE" and 200 <= response.status < 300:
            self.layer.await_2xx_ack(self)
            if self.peer.transport == "UDP":
                self._retransmit = self.layer.spawn(self._retransmit_2xx(response))

    async def _retransmit_2xx(self, response: SipResponse) -> None:
        """UA core (RFC 3261 13.3.1.4): T1 doubling to T2 until the ACK, for 64 x T1."""
        config = self.layer.config
        interval, waited = config.t1, 0.0
        while waited < 64 * config.t1:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.acked.wait(), timeout=interval)
            if self.acked.is_set():
                return
            waited += interval
            interval = min(interval * 2, config.t2)
            await self.layer.transport.send(response, self.peer)

    def receive(self, request: SipRequest) -> None:
        """A retransmission of the request, or the ACK of a non-2xx final."""
        self._run(self.machine.receive(request, self.layer.now()))

    def _deliver(self, message: SipRequest | SipResponse) -> None:
        assert isinstance(message, SipRequest)
        if message.method == "ACK":  # the ACK of our 2xx, on the INVITE's branch
            self.layer.ack_2xx(message, self.peer)
        else:
            self.layer.on_request(message, self.peer, self)

    def abandon_unanswered(self) -> None:
        """Forget a request the UA never answered (a failed handler must not leak it)."""
        if self.last_response is None or self.last_response.status < 200:
            self._stop_timers()
            self.layer._forget(self)


class TransactionLayer:
    """Matches messages to transactions (RFC 3261 17.1.3 / 17.2.3) and drives them."""

    def __init__(self, transport: SipTransport, on_request: RequestHandler,
                 on_ack: AckHandler, t1: float = 0.5) -> None:
        self.transport = transport
        self.on_request = on_request
        self.on_ack = on_ack
        self.config = pure.TimerConfig(t1=t1)
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[tuple[str, str, str], ServerTransaction] = {}
        self._pending_2xx: dict[tuple[str, int], ServerTransaction] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("SIP task failed: %r", task.exception())

    def _forget(self, tx: _Driven) -> None:
        if isinstance(tx, ClientTransaction):
            if self.clients.get(tx.key) is tx:
                del self.clients[tx.key]
        elif isinstance(tx, ServerTransaction) and self.servers.get(tx.key) is tx:
            del self.servers[tx.key]

    # -- client side --------------------------------------------------------------------

    async def request(self, request: SipRequest, peer: Peer,
                      on_provisional: ProvisionalHandler | None = None,
                      on_retransmitted_2xx: ResponseHandler | None = None) -> SipResponse:
        """Send ``request`` in a new client transaction; returns its final response."""
        tx = ClientTransaction(self, request, peer, on_provisional, on_retransmitted_2xx)
        self.clients[tx.key] = tx
        return await tx.run()

    async def send_stateless(self, request: SipRequest, peer: Peer) -> None:
        """ACK of a 2xx: outside any transaction."""
        await self.transport.send(request, peer)

    # -- server side ----------------------------------------------------------------------

    def await_2xx_ack(self, tx: ServerTransaction) -> None:
        key = (tx.request.call_id, tx.request.cseq.seq)
        self._pending_2xx[key] = tx
        asyncio.get_running_loop().call_later(64 * self.config.t1 + 1, self._pending_2xx.pop, key, None)

    def ack_2xx(self, ack: SipRequest, peer: Peer) -> None:
        """The ACK of a 2xx (its own transaction): stops our 2xx retransmission, then the UA."""
        pending = self._pending_2xx.pop((ack.call_id, ack.cseq.seq), None)
        if pending is not None:
            pending.acked.set()
        self.on_ack(ack, peer)

    def on_message(self, message: SipMessage, peer: Peer) -> None:
        """Transport entry point."""
        if isinstance(message, SipResponse):
            client = self.clients.get(pure.client_key(message))
            if client is not None:
                client.receive(message)
            return  # else stray (e.g. a retransmitted final after the transaction ended)
        assert isinstance(message, SipRequest)
        key = pure.server_key(message)
        existing = self.servers.get(key)
        if existing is not None:
            existing.receive(message)
        elif message.method == "ACK":
            self.ack_2xx(message, peer)
        else:
            server = ServerTransaction(self, message, peer)
            self.servers[key] = server
            if message.method != "INVITE":  # an INVITE is answered 480 by the UA at the latest
                asyncio.get_running_loop().call_later(
                    UNANSWERED_LINGER * self.config.t1, server.abandon_unanswered)
            server.start()

    def find_invite(self, cancel: SipRequest) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL refers to (same branch and sent-by)."""
        branch, sent_by, _ = pure.server_key(cancel)
        return self.servers.get((branch, sent_by, "INVITE"))

    async def close(self) -> None:
        for tx in [*self.clients.values(), *self.servers.values()]:
            tx._stop_timers()
        for task in list(self._tasks):
            task.cancel()
